"""Issue 19, item 2: a first sync whose source holds no document is an error unless an empty
index is explicitly allowed (``--allow-empty`` or ``lifecycle.allow_empty``)."""

import pytest

from indexgate import sync
from indexgate.errors import EmptySource
from indexgate.lifecycle.promotion import live_version
from indexgate.resources import resources
from indexgate.settings import load_settings


def test_an_empty_first_sync_is_refused_with_the_flag_to_allow_it(fake_settings, tmp_path):
    res = resources(fake_settings)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmptySource) as refused:
        sync.plan(res, "docs", sync.snapshot(str(empty)))
    assert "holds no documents" in str(refused.value)
    assert f"indexgate sync --source {empty} --alias docs --allow-empty" in str(refused.value)
    assert res.registry.versions("docs") == [] and live_version(res.store, "docs") is None


def test_an_empty_first_sync_builds_when_allowed(tmp_path):
    for allowed, settings in (
        ({"allow_empty": True}, load_settings(home=str(tmp_path / "a"), embedder={"kind": "fake", "model": "fake"})),
        ({}, load_settings(home=str(tmp_path / "b"), embedder={"kind": "fake", "model": "fake"},
                           lifecycle={"allow_empty": True})),
    ):
        empty = tmp_path / "empty"
        empty.mkdir(exist_ok=True)
        plan = sync.plan(resources(settings), "docs", sync.snapshot(str(empty)), **allowed)
        assert plan.action == "build"
