"""Promotion and rollback: atomic swap, conflict detection, history, stepping back."""

import numpy as np
import pytest

from indexgate.errors import AliasConflict, StoreError
from indexgate.lifecycle.promotion import live_version, previous_version, promote, rollback
from indexgate.lifecycle.registry import Manifest, Registry
from indexgate.store import connect


@pytest.fixture
def env(tmp_path):
    store, registry = connect(path=tmp_path / "q"), Registry(tmp_path / "state")
    for v in ("v1", "v2", "v3", "bad"):
        store.create(f"docs__{v}", 2)
        store.upsert(f"docs__{v}", ["00000000-0000-0000-0000-000000000001"], np.ones((1, 2)),
                     [{"doc_id": "d", "chunk_id": "c", "start": 0, "end": 1, "text": "t", "version": v}])
        registry.save(Manifest(alias="docs", version=v, collection=f"docs__{v}", source="s", snapshot_hash="h",
                               chunker={}, embedder={}, state="rejected" if v == "bad" else "built"))
    return store, registry


def test_promote_moves_alias_and_records_history(env):
    store, registry = env
    promote(store, registry, "docs", "v1", None, by="t")
    event = promote(store, registry, "docs", "v2", "v1", by="t", reason="gates passed")
    assert live_version(store, "docs") == "v2"
    assert (event.from_version, event.to_version) == ("v1", "v2")
    assert registry.load("docs", "v2").state == "live" and registry.load("docs", "v2").promoted_at
    assert registry.load("docs", "v1").state == "retired"
    assert [e.to_version for e in registry.history("docs")] == ["v1", "v2"]


def test_promote_refuses_when_alias_moved_meanwhile(env):
    store, registry = env
    promote(store, registry, "docs", "v1", None, by="t")
    promote(store, registry, "docs", "v2", "v1", by="other run")
    with pytest.raises(AliasConflict, match="now points at v2, not v1"):
        promote(store, registry, "docs", "v3", "v1", by="t")
    assert live_version(store, "docs") == "v2"


def test_promote_retry_after_success_is_idempotent(env):
    store, registry = env
    first = promote(store, registry, "docs", "v1", None, by="t")
    assert promote(store, registry, "docs", "v1", None, by="t") == first
    assert len(registry.history("docs")) == 1


def test_rollback_steps_back_through_promotions(env):
    store, registry = env
    promote(store, registry, "docs", "v1", None, by="t")
    promote(store, registry, "docs", "v2", "v1", by="t")
    promote(store, registry, "docs", "v3", "v2", by="t")
    assert rollback(store, registry, "docs").to_version == "v2"
    assert rollback(store, registry, "docs").to_version == "v1"  # two rollbacks: two releases back
    assert live_version(store, "docs") == "v1"
    with pytest.raises(StoreError, match="no earlier retained version"):
        rollback(store, registry, "docs")
    assert rollback(store, registry, "docs", to="v3").to_version == "v3"


def test_rollback_skips_versions_that_are_gone_and_refuses_rejected(env):
    store, registry = env
    promote(store, registry, "docs", "v1", None, by="t")
    promote(store, registry, "docs", "v2", "v1", by="t")
    promote(store, registry, "docs", "v3", "v2", by="t")
    store.drop("docs__v2")
    assert previous_version(store, registry, "docs", "v3") == "v1"
    with pytest.raises(StoreError, match="rejected; refusing"):
        rollback(store, registry, "docs", to="bad")
    with pytest.raises(StoreError, match="not retained"):
        rollback(store, registry, "docs", to="v2")
    with pytest.raises(StoreError, match="already serves"):
        rollback(store, registry, "docs", to="v3")
    assert live_version(store, "docs") == "v3"
