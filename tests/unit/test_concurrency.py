"""Concurrent runs: one sync per alias (the other waits or is refused), promotions never
interleave, different aliases run side by side, and processes reading the embedded store never
block each other (one writer per version)."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from indexgate_test_doubles import PAUSE_AT, PAUSE_DIR

from indexgate.errors import AliasBusy, AliasConflict, StoreError
from indexgate.lifecycle.locking import sync_lock
from indexgate.lifecycle.promotion import live_version, promote, rollback
from indexgate.lifecycle.registry import Manifest, Registry
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.store import connect
from indexgate.sync import run_sync

DOCS = {f"d{i}.md": f"Document {i} is about topic{i}.\n" for i in range(4)}


def _wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.fixture
def pause(monkeypatch, tmp_path):
    """Make the first run reaching `point` wait there; returns (reached file, resume function)."""
    def at(point):
        folder = tmp_path / "pause"
        folder.mkdir(exist_ok=True)
        monkeypatch.setenv(PAUSE_AT, point)
        monkeypatch.setenv(PAUSE_DIR, str(folder))
        return folder / f"{point}.reached", lambda: (folder / f"{point}.resume").touch()
    return at


class _Run(threading.Thread):
    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self.fn, self.args, self.result, self.error = fn, args, None, None
        self.start()

    def run(self):
        try:
            self.result = self.fn(*self.args)
        except Exception as exc:  # reported to the test
            self.error = exc


def test_second_sync_of_an_alias_is_refused_or_waits(tmp_path, write_corpus, pause):
    refuse = load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"})
    wait = refuse.model_copy(update={"lifecycle": refuse.lifecycle.model_copy(update={"wait_s": 120})})
    root = write_corpus(DOCS)
    reached, resume = pause("plan")
    first = _Run(run_sync, resources(refuse), "docs", root)
    _wait_for(reached)
    with pytest.raises(AliasBusy, match=r"alias 'docs' is busy: sync by pid \d+ since .*not waiting"):
        run_sync(resources(refuse), "docs", root)
    second = _Run(run_sync, resources(wait), "docs", root)
    time.sleep(0.3)
    assert second.is_alive()  # waiting for the first, not refused
    resume()
    first.join(60), second.join(60)
    assert first.error is None and first.result.outcome.action == "promoted"
    assert second.error is None and second.result.outcome.action == "unchanged"


def test_syncs_of_different_aliases_run_side_by_side(fake_settings, write_corpus, pause):
    res = resources(fake_settings)
    root = write_corpus(DOCS)
    reached, resume = pause("plan")
    paused = _Run(run_sync, res, "one", root)
    _wait_for(reached)
    assert run_sync(res, "two", root).outcome.action == "promoted"  # while "one" is held mid-sync
    resume()
    paused.join(60)
    assert paused.error is None and paused.result.outcome.action == "promoted"
    assert live_version(res.store, "one") and live_version(res.store, "two")


def test_promotions_and_rollbacks_from_many_threads_never_interleave(tmp_path):
    store, registry = connect(path=tmp_path / "q"), Registry(tmp_path / "state")
    versions = [f"v{i}" for i in range(4)]
    for v in versions:
        store.create(f"docs__{v}", 2)
        store.upsert(f"docs__{v}", ["00000000-0000-0000-0000-000000000001"], np.ones((1, 2)), [{"version": v}])
        registry.save(Manifest(alias="docs", version=v, collection=f"docs__{v}", source="s", snapshot_hash="h",
                               chunker={}, embedder={}, state="built"))
    promote(store, registry, "docs", "v0", None, by="setup")
    outcomes = {"moved": 0, "conflict": 0}
    lock = threading.Lock()

    def worker(seed):
        rng = np.random.default_rng(seed)
        for _ in range(15):
            seen = live_version(store, "docs")
            target = versions[rng.integers(len(versions))]
            try:
                if target == seen:
                    continue
                if rng.random() < 0.5:
                    promote(store, registry, "docs", target, seen, by=f"t{seed}")
                else:
                    rollback(store, registry, "docs", to=target, by=f"t{seed}")
                kind = "moved"
            except AliasConflict:
                kind = "conflict"
            except StoreError as exc:  # "already serves": another thread moved it there first
                assert "already serves" in str(exc)
                kind = "conflict"
            with lock:
                outcomes[kind] += 1

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = registry.history("docs")
    # (a promotion to where another thread just moved the alias returns that move: idempotent)
    assert 1 < len(history) <= 1 + outcomes["moved"]
    for before, after in zip(history, history[1:]):  # each move starts where the previous one ended
        assert after.from_version == before.to_version
    assert live_version(store, "docs") == history[-1].to_version
    assert [m.version for m in registry.versions("docs") if m.state == "live"] == [history[-1].to_version]


HOLDER = """
import sys
import numpy as np
from indexgate.lifecycle.locking import sync_lock
from indexgate.store import connect
payload = {"doc_id": "d", "chunk_id": "c", "start": 0, "end": 1, "text": "t", "version": "v1"}
with sync_lock(sys.argv[1], "docs"):
    store = connect(path=sys.argv[2])
    store.create("docs__v1", 4)
    store.upsert("docs__v1", ["00000000-0000-0000-0000-000000000001"], np.ones((1, 4)), [payload])
    store.seal("docs__v1")
    store.point_alias("docs", "docs__v1")
    store.create("docs__v2", 4)  # being built: this process writes it
    store.upsert("docs__v2", ["00000000-0000-0000-0000-000000000002"], np.ones((1, 4)), [{**payload, "version": "v2"}])
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_across_processes_readers_and_writers_never_block_and_locks_die_with_their_holder(tmp_path):
    """A second process reads the sealed live version while the first holds the sync lock and
    writes the next version; only a second writer of that version is refused, naming the holder."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "state"), str(tmp_path / "q")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AliasBusy, match=rf"sync by pid {holder.pid} since"):
            with sync_lock(tmp_path / "state", "docs"):
                pass
        store = connect(path=tmp_path / "q")  # no folder lock: readers come and go
        assert [h.version for h in store.search("docs", np.ones(4), 3)] == ["v1"]
        with pytest.raises(StoreError, match=rf"docs__v2 is open for writing by another process \(pid {holder.pid}\)"):
            store.upsert("docs__v2", ["00000000-0000-0000-0000-000000000003"], np.ones((1, 4)),
                         [{"doc_id": "d", "chunk_id": "c", "start": 0, "end": 1, "text": "t", "version": "v2"}])
        with pytest.raises(StoreError, match="open for writing by another process"):
            store.drop("docs__v2")
        with sync_lock(tmp_path / "state", "other"):  # another alias: not blocked
            pass
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the kernel drops the locks
        holder.wait()
    with sync_lock(tmp_path / "state", "docs"):
        assert store.count("docs__v2") == 1  # the dead writer's point survived in its WAL
        assert store.collections() == ["docs__v1", "docs__v2"]
