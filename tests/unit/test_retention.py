"""Retention and gc: the live version, the rollback target and the last N promoted stay; the
rest goes with its manifest and work files; rejected shadows go unless keep_rejected."""

import numpy as np

from indexgate.lifecycle import retention
from indexgate.lifecycle.promotion import live_version, rollback
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import build_shadow, run_sync


def _settings(tmp_path, **lifecycle):
    return load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                         lifecycle=lifecycle or None)


def _versions(res, alias):
    return {m.version: m.state for m in res.registry.versions(alias)}


def _collections(res, alias):
    return {c.split("__", 1)[1] for c in res.store.collections() if c.startswith(alias + "__")}


def test_gc_keeps_live_rollback_target_and_last_n_promoted(tmp_path, write_corpus):
    res = resources(_settings(tmp_path, keep_promoted=1))
    root = write_corpus({"a.md": "Alpha version one of the handbook.\n"})
    promoted = []
    for i in range(4):
        (root / "a.md").write_text(f"Alpha version {i} of the handbook, edition {i}.\n")
        outcome = run_sync(res, "docs", root).outcome
        assert outcome.action == "promoted"
        promoted.append(outcome.version)
    v0, v1, v2, v3 = promoted
    # after each sync's gc: live v3, rollback target v2 (also the last promoted besides live)
    assert set(_versions(res, "docs")) == _collections(res, "docs") == {v2, v3}
    assert not res.registry.version_dir("docs", v0).exists()  # manifest and work files gone too
    assert [e.to_version for e in res.registry.history("docs")] == promoted  # history is kept whole

    # roll back to v2: now v3 is "last promoted" and v2's rollback target is gone (v1 collected)
    rollback(res.store, res.registry, "docs")
    collected = retention.gc(res, "docs")
    assert (collected.live, collected.rollback_target, collected.removed) == (v2, None, ())
    assert collected.kept == {v2: "live", v3: "one of the last 1 promoted"}


def test_gc_never_removes_live_or_rollback_target_even_with_zero_retention(tmp_path, write_corpus):
    res = resources(_settings(tmp_path, keep_promoted=0))
    root = write_corpus({"a.md": "First text about ships.\n"})
    first = run_sync(res, "docs", root).outcome.version
    (root / "a.md").write_text("Second text about trains.\n")
    second = run_sync(res, "docs", root).outcome.version
    (root / "a.md").write_text("Third text about planes.\n")
    third = run_sync(res, "docs", root).outcome.version
    assert _collections(res, "docs") == {second, third}  # live + rollback target
    assert first not in _versions(res, "docs")
    rollback(res.store, res.registry, "docs")  # live second; target: first is gone -> none
    collected = retention.gc(res, "docs")
    assert collected.live == second and collected.rollback_target is None
    assert collected.removed == (third,) and _collections(res, "docs") == {second}
    assert live_version(res.store, "docs") == second
    assert retention.gc(res, "docs").removed == ()  # idempotent


def test_rejected_shadow_dropped_unless_keep_rejected(tmp_path, write_corpus):
    golden = tmp_path / "golden.jsonl"
    golden.write_text('{"query_id": "q", "query": "ships", "relevant": [{"doc_id": "a.md", "start": 0, "end": 5}]}\n')
    for keep in (False, True):
        settings = load_settings(home=str(tmp_path / f"state-{keep}"), embedder={"kind": "fake", "model": "fake"},
                                 lifecycle={"keep_rejected": keep}, gates={"min_span_precision": 1.0})
        res = resources(settings)
        root = write_corpus({"a.md": "First text about ships.\n", "b.md": "Unrelated words.\n"},
                            root=tmp_path / f"corpus-{keep}")
        outcome = run_sync(res, "docs", root, golden=str(golden)).outcome
        assert outcome.action == "rejected"
        assert res.registry.load("docs", outcome.version).state == "rejected"  # the report stays
        assert res.store.exists(f"docs__{outcome.version}") is keep
        assert res.store.alias_target("docs") is None


def test_gc_removes_dead_builds_and_orphans_but_not_a_kept_version(tmp_path, write_corpus):
    res = resources(_settings(tmp_path))
    root = write_corpus({"a.md": "Live text.\n"})
    live = run_sync(res, "docs", root).outcome.version
    (root / "a.md").write_text("Abandoned text.\n")
    plan = build_shadow(res, "docs", root)  # a build that dies after loading, before its gates
    # An orphan this installation created goes; one another installation created (a shared
    # server: its manifest is in another state folder) stays.
    for name, owner in (("docs__orphan0000", res.registry.installation_id), ("docs__theirs0000", "another-install")):
        res.store.create(name, 64, owner=owner)
        res.store.upsert(name, ["00000000-0000-0000-0000-000000000001"], np.ones((1, 64)), [{"version": name[6:]}])
    assert retention.gc(res, "docs", keep=(plan.version,)).removed == ("orphan0000",)
    assert _collections(res, "docs") == {live, plan.version, "theirs0000"}
    collected = retention.gc(res, "docs")
    assert collected.removed == (plan.version,) and _collections(res, "docs") == {live, "theirs0000"}
    assert not res.registry.version_dir("docs", plan.version).exists()


def test_each_sync_keeps_the_embedding_cache_to_a_few_parts(tmp_path, write_corpus):
    # Every sync that embeds writes a cache part; its gc merges the small ones, so the number of
    # files a read opens stays bounded however many syncs ran, and no vector is lost.
    res = resources(_settings(tmp_path))
    root = write_corpus({"a.md": "Alpha text.\n", "b.md": "Beta text.\n"})
    for i in range(12):  # 12 parts written in all: the first sync embeds both documents in one
        (root / "a.md").write_text(f"Alpha text, revision {i}.\n")
        assert run_sync(res, "docs", root).outcome.action == "promoted"
        assert 1 <= len(list(res.cache.dir.glob("part-*"))) <= 8
    assert len(res.cache) == 13  # b.md's text and a.md's 12 revisions, all still cached
    fresh = type(res.cache)(res.cache.dir.parent, res.cache.dir.name, res.cache.dimension)
    assert len(fresh.get_many(res.cache._index)) == len(res.cache)
