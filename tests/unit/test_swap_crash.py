"""A process SIGKILLed right after the alias call: the alias write survives and the next
reconciliation records it. Runs on the embedded store (Qdrant Edge, whose pointer file is fsynced before and after its
rename) and, with QDRANT_URL, on a server."""

import signal
import subprocess
import sys
import time
import uuid

import pytest
from indexgate_test_doubles import PAUSE_DIR

from indexgate.lifecycle import recovery
from indexgate.lifecycle.promotion import live_version
from indexgate.resources import resources
from indexgate.settings import load_settings

SCRIPT = """
import os
import sys
import numpy as np
from indexgate.lifecycle.promotion import promote
from indexgate.lifecycle.registry import Manifest, Registry
from indexgate.store import connect
home, alias, url = sys.argv[1], sys.argv[2], sys.argv[3] or None
store = connect(url=url) if url else connect(path=home + "/qdrant")
registry = Registry(home)
for v in ("aaaa00000000", "bbbb00000000"):
    store.create(f"{alias}__{v}", 64)
    store.upsert(f"{alias}__{v}", ["00000000-0000-0000-0000-000000000001"], np.ones((1, 64)),
                 [{"doc_id": "d", "chunk_id": "c", "start": 0, "end": 1, "text": "t", "version": v}])
    registry.save(Manifest(alias=alias, version=v, collection=f"{alias}__{v}", source="s", snapshot_hash="h",
                           chunker={}, embedder={}, state="built"))
promote(store, registry, alias, "aaaa00000000", None, by="first")
os.environ["IGTEST_PAUSE_AT"] = "swap"
promote(store, registry, alias, "bbbb00000000", "aaaa00000000", by="killed")  # pauses after the alias call
"""


@pytest.mark.parametrize("where", ["embedded", pytest.param("server", marks=pytest.mark.server)])
def test_sigkill_right_after_the_alias_call(tmp_path, request, monkeypatch, where):
    url = request.getfixturevalue("qdrant_url") if where == "server" else ""
    alias = f"swap{uuid.uuid4().hex[:8]}"
    home = tmp_path / "state"
    monkeypatch.setenv(PAUSE_DIR, str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(home), alias, url])
    deadline = time.monotonic() + 120
    while not (tmp_path / "swap.reached").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the process never reached the swap"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    settings = load_settings(home=str(home), embedder={"kind": "fake", "model": "fake"}, qdrant_url=url or None)
    res = resources(settings)
    try:
        assert live_version(res.store, alias) == "bbbb00000000"  # the alias call was applied and kept
        assert [e.by for e in res.registry.history(alias)] == ["first"]  # but not recorded
        report = recovery.reconcile(res, alias)
        assert report.recorded["from_version"] == "aaaa00000000"
        assert res.registry.load(alias, "bbbb00000000").state == "live"
    finally:
        if url:
            res.store.delete_alias(alias)
            for v in ("aaaa00000000", "bbbb00000000"):
                res.store.drop(f"{alias}__{v}")


KILLED_INSIDE = """
import os
import sys
import numpy as np
from indexgate.lifecycle.promotion import promote
from indexgate.lifecycle.registry import Manifest, Registry
from indexgate.store import connect
home, alias, point = sys.argv[1], sys.argv[2], sys.argv[3]
store = connect(path=home + "/qdrant")
registry = Registry(home)
for v in ("aaaa00000000", "bbbb00000000", "cccc00000000"):
    store.create(f"{alias}__{v}", 64, owner=registry.installation_id)
    store.upsert(f"{alias}__{v}", ["00000000-0000-0000-0000-000000000001"], np.ones((1, 64)),
                 [{"doc_id": "d", "chunk_id": "c", "start": 0, "end": 1, "text": "t", "version": v}])
    store.seal(f"{alias}__{v}")
    registry.save(Manifest(alias=alias, version=v, collection=f"{alias}__{v}", source="s", snapshot_hash="h",
                           chunker={}, embedder={}, state="built"))
promote(store, registry, alias, "aaaa00000000", None, by="first")
os.environ["IGTEST_PAUSE_AT"] = point
if point == "pointer":
    promote(store, registry, alias, "bbbb00000000", "aaaa00000000", by="killed")
else:
    store.drop(f"{alias}__cccc00000000")  # as gc does
"""


@pytest.mark.parametrize("point", ["pointer", "drop"])
def test_sigkill_inside_the_pointer_write_or_a_drop_leaves_a_consistent_store(tmp_path, monkeypatch, point):
    """Killed with the new pointer written but not renamed: the alias still names the old version.
    Killed with a dropped shard renamed away but not deleted: it is gone from the store. gc then
    removes the leftovers, and the store serves the live version throughout."""
    alias, home = "crash", tmp_path / "state"
    monkeypatch.setenv(PAUSE_DIR, str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_INSIDE, str(home), alias, point])
    deadline = time.monotonic() + 120
    while not (tmp_path / f"{point}.reached").exists():
        assert proc.poll() is None and time.monotonic() < deadline, f"the process never reached {point}"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    from indexgate.lifecycle import retention
    res = resources(load_settings(home=str(home), embedder={"kind": "fake", "model": "fake"}))
    qdrant = home / "qdrant"
    leftovers = list((qdrant / "aliases").glob(".*.tmp-*")) + list((qdrant / "shards").glob(".trash-*"))
    assert len(leftovers) == 1, leftovers
    assert live_version(res.store, alias) == "aaaa00000000"
    assert res.store.search(alias, [1.0] * 64, 1)[0].version == "aaaa00000000"
    kept = {"aaaa00000000", "bbbb00000000"} | ({"cccc00000000"} if point == "pointer" else set())
    assert {c.split("__")[1] for c in res.store.collections()} == kept
    assert recovery.reconcile(res, alias).recorded is None  # nothing half-recorded
    retention.gc(res, alias, keep=kept)
    assert not any(p.exists() for p in leftovers)
    assert {c.split("__")[1] for c in res.store.collections()} == kept
    assert live_version(res.store, alias) == "aaaa00000000"
