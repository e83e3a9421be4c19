"""The lifecycle wired into the flows: the transaction's rollback hook, the smoke check's
automatic rollback, and concurrent syncs (threads of one process, and real processes)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from prefect import flow
from prefect.transactions import transaction
from indexgate_test_doubles import PAUSE_AT, PAUSE_DIR
from processes import Run

from indexgate_flows.sync import sync
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import build_shadow
from indexgate_tasks import load_shadow

FAKE = "embedder: {kind: fake, model: fake}\n"


def _wait_for(path: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.fixture
def pause(monkeypatch, tmp_path):
    def at(point):
        monkeypatch.setenv(PAUSE_AT, point)
        monkeypatch.setenv(PAUSE_DIR, str(tmp_path))
        return tmp_path / f"{point}.reached", lambda: (tmp_path / f"{point}.resume").touch()
    return at


@pytest.mark.parametrize("keep_rejected", [False, True])
def test_transaction_rollback_drops_a_rejected_shadow_unless_kept(corpus, tmp_path, keep_rejected):
    settings = load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                             lifecycle={"keep_rejected": keep_rejected})
    res = resources(settings)
    plan = build_shadow(res, "docs", corpus, load=False)  # the flow below loads it

    @flow
    def gated(rejected: bool):
        with transaction() as txn:
            load_shadow(settings, plan)
            if rejected:
                manifest = res.registry.load("docs", plan.version)
                manifest.state = "rejected"
                res.registry.save(manifest)
            txn.rollback()

    gated(rejected=False)  # rolled back by an error, not a gate: the shadow stays for a rerun
    assert res.store.exists(plan.collection)
    gated(rejected=True)
    assert res.store.exists(plan.collection) is keep_rejected


def test_failed_smoke_check_in_the_flow_rolls_back(corpus, state, pause):
    first = sync(source=str(corpus), alias="smoky", state_dir=state)
    assert first["action"] == "promoted"
    (corpus / "ops/backups.md").write_text("# Backup runbook\n\nBackups now run every hour and are kept a year.\n")
    reached, resume = pause("swap")
    result = {}
    runner = threading.Thread(target=lambda: result.update(sync(source=str(corpus), alias="smoky", state_dir=state)))
    runner.start()
    _wait_for(reached)
    # While the new version has just been swapped in, its vectors go bad (as if written by another model).
    res = resources(load_settings(home=state))
    collection = res.store.alias_target("smoky")
    points = res.store.scroll(collection, limit=1000)
    res.store.upsert(collection, [str(p.id) for p in points],
                     np.random.default_rng(3).standard_normal((len(points), res.embedder.dimension)),
                     [p.payload for p in points])
    resume()
    runner.join(300)
    assert result["action"] == "rolled_back" and result["live"] == first["version"]
    assert "smoke check failed after promotion" in result["reason"]
    assert res.store.alias_target("smoky") == f"smoky__{first['version']}"
    assert not res.store.exists(collection)  # the transaction's hook dropped the rejected version
    assert res.registry.load("smoky", result["version"]).state == "rejected"


def test_flows_of_different_aliases_run_side_by_side_in_one_process(corpus, state, pause):
    reached, resume = pause("plan")
    held = {}
    runner = threading.Thread(target=lambda: held.update(sync(source=str(corpus), alias="left", state_dir=state)))
    runner.start()
    _wait_for(reached)
    right = sync(source=str(corpus), alias="right", state_dir=state)  # while "left" is held mid-sync
    assert right["action"] == "promoted"
    resume()
    runner.join(300)
    assert held["action"] == "promoted" and held["version"] == right["version"]


def _start(corpus, state, workdir, alias, config, pause=None, env=None):
    return Run(["sync", "--source", str(corpus), "--alias", alias, "--state-dir", str(state), "--config", str(config),
                "--json"], workdir, pause=pause, env=env)


def test_second_process_on_the_same_alias_is_refused_or_waits(corpus, tmp_path):
    config = tmp_path / "fake.yaml"
    config.write_text(FAKE)
    state = tmp_path / "state"
    first = _start(corpus, state, tmp_path / "first", "busy", config, pause="load")
    first.wait_paused()
    refused = _start(corpus, state, tmp_path / "refused", "busy", config)
    assert refused.finish() == 1
    assert f"alias 'busy' is busy: sync by pid {first.proc.pid}" in refused.stderr()
    # Another alias syncs meanwhile in the same embedded store: one writer per version, not per folder.
    other = _start(corpus, state, tmp_path / "other", "other", config)
    assert other.finish() == 0, other.stderr()[-3000:]
    assert json.loads(other.stdout())["action"] == "promoted"
    waiting = _start(corpus, state, tmp_path / "waiting", "busy", config, env={"INDEXGATE_LIFECYCLE__WAIT_S": "300"})
    time.sleep(1)
    assert waiting.proc.poll() is None  # waiting, not refused
    first.resume()
    assert first.finish() == 0 and waiting.finish() == 0, waiting.stderr()[-3000:]
    promoted, after = json.loads(first.stdout()), json.loads(waiting.stdout())
    assert promoted["action"] == "promoted"
    assert (after["action"], after["version"]) == ("unchanged", promoted["version"])


@pytest.mark.server
def test_processes_of_different_aliases_run_side_by_side_on_a_server(corpus, tmp_path, qdrant_url):
    import uuid

    config = tmp_path / "fake.yaml"
    config.write_text(FAKE)
    state, env = tmp_path / "state", {"QDRANT_URL": qdrant_url}
    one, two = f"one{uuid.uuid4().hex[:8]}", f"two{uuid.uuid4().hex[:8]}"
    held = _start(corpus, state, tmp_path / "held", one, config, pause="load", env=env)
    held.wait_paused()
    other = _start(corpus, state, tmp_path / "other", two, config, env=env)
    assert other.finish() == 0, other.stderr()[-3000:]  # while the first is held mid-upsert
    held.resume()
    assert held.finish() == 0, held.stderr()[-3000:]
    from indexgate.store import connect

    assert json.loads(held.stdout())["action"] == json.loads(other.stdout())["action"] == "promoted"
    store = connect(url=qdrant_url)
    for alias in (one, two):
        target = store.alias_target(alias)
        assert target is not None
        store.delete_alias(alias)
        store.drop(target)
