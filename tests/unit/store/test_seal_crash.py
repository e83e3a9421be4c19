"""SIGKILL while sealing builds the graph (Edge's optimize()), then the rerun's steps: the shadow
is read back and verified (as a rerun's load step does), sealed again, and serves every point."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from indexgate.lifecycle.recovery import verify_shadow
from indexgate.store import SearchMode, connect
from indexgate_test_doubles import pause_env

N, DIM = 20_000, 32
BUILD = textwrap.dedent(f"""
    import sys
    import numpy as np
    from indexgate.store import SearchMode, connect
    store = connect(path=sys.argv[1], mode=SearchMode(exact_below=1000, graph_from=1000, m=16, ef_construct=200))
    vectors = np.random.default_rng(3).standard_normal(({N}, {DIM})).astype(np.float32)
    store.create("a__v1", {DIM})
    for start in range(0, {N}, 2000):
        ids = [f"00000000-0000-0000-0000-{{i:012d}}" for i in range(start, start + 2000)]
        store.upsert("a__v1", ids, vectors[start:start + 2000],
                     [{{"doc_id": f"d{{i}}", "chunk_id": f"c{{i}}", "start": 0, "end": 1, "text": "t",
                        "version": "v1"}} for i in range(start, start + 2000)])
    store.seal("a__v1")
    print("sealed", flush=True)
""")


def test_sigkill_during_the_graph_build_at_sealing_then_the_rerun_ends_consistent(tmp_path):
    pause = tmp_path / "pause"
    pause.mkdir()
    env = {**os.environ, **pause_env("optimize", pause)}
    proc = subprocess.Popen([sys.executable, "-c", BUILD, str(tmp_path / "q")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (pause / "optimize.reached").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
            time.sleep(0.02)
        (pause / "optimize.resume").touch()
        time.sleep(0.5)  # into optimize(): the HNSW build of 20k points takes seconds
        assert proc.poll() is None, "the build ended before it could be killed during optimize()"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
        proc.wait()
    shard = tmp_path / "q" / "shards" / "a__v1"
    assert not (shard / "sealed").exists()  # killed before sealing

    # The rerun: the shadow is verified against the expected ids, then sealed (graph built again).
    store = connect(path=tmp_path / "q", mode=SearchMode(exact_below=1000, graph_from=1000, m=16, ef_construct=200))
    expected = {f"00000000-0000-0000-0000-{i:012d}" for i in range(N)}
    check = verify_shadow(store, "a__v1", expected, DIM)
    assert check.ok and check.present == expected, check.reason
    store.seal("a__v1")
    assert store.is_sealed("a__v1") and store.count("a__v1") == N
    vectors = np.random.default_rng(3).standard_normal((N, DIM)).astype(np.float32)
    hits = store.search_many("a__v1", vectors[:20], 1)
    assert [h[0].chunk_id for h in hits] == [f"c{i}" for i in range(20)]  # each finds itself
