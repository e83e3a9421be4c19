"""Readers of the alias during promotions and rollbacks: no error, no empty result, and every
response wholly from one version, a version live at some moment of the request (never the old one
once the alias call has returned)."""

import threading
import uuid

import numpy as np
import pytest

from indexgate.lifecycle.promotion import live_version, promote, rollback
from indexgate.lifecycle.registry import Manifest, Registry
from indexgate.store import connect


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def store(request, tmp_path):
    if request.param == "embedded":
        yield connect(path=tmp_path / "q")
        return
    store = connect(url=request.getfixturevalue("qdrant_url"))
    yield store
    for name in store.collections():
        if name.startswith("zd"):
            store.drop(name)


def _let_readers_read(served, lock, stop, n=8):
    """Wait until the readers have served ``n`` more queries (so each version is really read)."""
    with lock:
        target = served[0] + n
    while not stop.is_set():
        with lock:
            if served[0] >= target:
                return
        threading.Event().wait(0.001)


def test_readers_see_one_whole_version_through_every_swap(store, tmp_path):
    alias = f"zd{uuid.uuid4().hex[:8]}"
    registry = Registry(tmp_path / "state")
    rng = np.random.default_rng(0)
    for version in ("aaaa", "bbbb"):
        name = f"{alias}__{version}"
        store.create(name, 16)
        ids = [str(uuid.UUID(int=i + (0 if version == "aaaa" else 10**6))) for i in range(500)]
        store.upsert(name, ids, rng.standard_normal((500, 16)),
                     [{"doc_id": f"d{i}", "chunk_id": f"c{i}", "start": 0, "end": 1, "text": "t", "version": version}
                      for i in range(500)])
        registry.save(Manifest(alias=alias, version=version, collection=name, source="s", snapshot_hash="h",
                               chunker={}, embedder={}, state="built"))
    promote(store, registry, alias, "aaaa", None, by="setup")

    stop = threading.Event()
    served, failures, seen = [0], [], set()
    lock = threading.Lock()
    # The versions a reader may get in each phase: the live one, both while an alias call runs.
    phases = [{"aaaa"}]

    def reader(seed):
        queries = np.random.default_rng(seed).standard_normal((64, 16))
        i = 0
        while not stop.is_set():
            with lock:
                first = len(phases) - 1
            try:
                hits = store.search(alias, queries[i % 64], 5)
                versions = {h.version for h in hits}
            except Exception as exc:  # any error a reader sees is a failure of the promise
                hits, versions, problem = None, set(), f"error: {exc!r}"
            with lock:
                allowed = set().union(*phases[first:])  # live at some moment of this request
                if hits == []:
                    problem = "empty result"
                elif hits is not None:
                    problem = None if len(versions) == 1 and versions <= allowed else \
                        f"versions {sorted(versions)} while {sorted(allowed)} could be live"
                served[0] += 1
                seen.update(versions)
                if problem:
                    failures.append(problem)
            i += 1

    def move(call, *args, to: str, **kwargs):
        """An alias call; while it runs either version may answer, once it returns only ``to``."""
        with lock:
            phases.append({"aaaa", "bbbb"})
        call(store, registry, alias, *args, **kwargs)
        with lock:
            phases.append({to})

    readers = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    for t in readers:
        t.start()
    try:
        for _ in range(5):
            move(promote, "bbbb", "aaaa", to="bbbb", by="test")
            _let_readers_read(served, lock, stop)
            move(rollback, to="aaaa", by="test")
            _let_readers_read(served, lock, stop)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert failures == []
    assert served[0] > 0 and seen == {"aaaa", "bbbb"}
    assert live_version(store, alias) == "aaaa"
