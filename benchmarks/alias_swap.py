"""Alias-swap time against collection size, and what readers of the alias see meanwhile.

For each size N it builds two collections of N random vectors (``bench__a``, ``bench__b``, each
point's payload naming its version), points the alias at one, starts reader threads that query
the alias without pause, and swaps the alias back and forth with IndexGate's own promote and
rollback. It prints, per size, the time of the single ``update_collection_aliases`` call and of
the whole promotion or rollback (lock, check of the current target, green-status check, the
call, read-back, history and manifests), first with no readers, then while reader threads query
the alias, with the queries they got answered and the ones that failed (an error, an empty
result, or hits from two versions in one response). Embedded (Qdrant Edge), the alias is a
pointer file replaced by one rename, and the readers search in this process; the no-readers
columns show the swap's own cost.

    python benchmarks/alias_swap.py                          # embedded (Qdrant Edge) in a temporary folder
    python benchmarks/alias_swap.py --sizes 1000 10000       # fewer sizes
    QDRANT_URL=http://127.0.0.1:6333 python benchmarks/alias_swap.py   # a Qdrant server

The swaps themselves do not depend on N.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexgate.lifecycle.promotion import promote, rollback  # noqa: E402
from indexgate.lifecycle.registry import Manifest, Registry  # noqa: E402
from indexgate.store import connect, disconnect_all  # noqa: E402


def build(store, registry, alias: str, version: str, n: int, dim: int, seed: int) -> float:
    started = time.perf_counter()
    name = f"{alias}__{version}"
    store.drop(name)
    store.create(name, dim)
    rng = np.random.default_rng(seed)
    for start in range(0, n, 2000):
        m = min(2000, n - start)
        ids = [str(uuid.UUID(int=seed * 10**9 + start + i)) for i in range(m)]
        store.upsert(name, ids, rng.standard_normal((m, dim)).astype(np.float32),
                     [{"doc_id": f"d{start + i}", "chunk_id": f"c{start + i}", "start": 0, "end": 1, "text": "t",
                       "version": version} for i in range(m)])
    store.seal(name)
    registry.save(Manifest(alias=alias, version=version, collection=name, source="benchmark", snapshot_hash="-",
                           chunker={}, embedder={}, state="built"))
    return time.perf_counter() - started


def measure(store, registry, alias: str, dim: int, swaps: int, readers: int, dwell: float) -> dict:
    stop = threading.Event()
    served, failed, lock = [0], [], threading.Lock()

    def read(seed: int) -> None:
        queries = np.random.default_rng(seed).standard_normal((32, dim)).astype(np.float32)
        i = 0
        while not stop.is_set():
            try:
                hits = store.search(alias, queries[i % 32], 5)
                versions = {h.version for h in hits}
                problem = None if hits and len(versions) == 1 else f"{len(hits)} hits from {versions}"
            except Exception as exc:  # a reader seeing any error is what this counts
                problem = repr(exc)
            with lock:
                served[0] += problem is None
                if problem:
                    failed.append(problem)
            i += 1

    calls: list[float] = []
    point_alias = store.point_alias

    def timed_point_alias(a, c):  # time the single alias call inside promote/rollback
        t = time.perf_counter()
        point_alias(a, c)
        calls.append(time.perf_counter() - t)

    store.point_alias = timed_point_alias
    threads = [threading.Thread(target=read, args=(s,), daemon=True) for s in range(readers)]
    for t in threads:
        t.start()
    if readers:
        time.sleep(0.5)  # readers warm up on version a
    moves: list[float] = []
    try:
        for _ in range(swaps):
            for move in (lambda: promote(store, registry, alias, "b", "a", by="benchmark"),
                         lambda: rollback(store, registry, alias, to="a", by="benchmark")):
                t = time.perf_counter()
                move()
                moves.append(time.perf_counter() - t)
                if dwell:
                    time.sleep(dwell)  # let readers query each version
    finally:
        stop.set()
        for t in threads:
            t.join()
        store.point_alias = point_alias
    return {"calls": calls, "moves": moves, "served": served[0], "failed": failed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--dim", type=int, default=64, help="vector size (the swap does not depend on it)")
    parser.add_argument("--swaps", type=int, default=10, help="promote + rollback pairs per size")
    parser.add_argument("--readers", type=int, default=4, help="threads querying the alias")
    parser.add_argument("--dwell", type=float, default=0.2, help="seconds between two moves")
    parser.add_argument("--path", help="embedded store folder (default: a new temporary folder)")
    args = parser.parse_args()
    url = os.environ.get("QDRANT_URL")
    work = Path(tempfile.mkdtemp(prefix="indexgate-bench-"))
    store = connect(url=url) if url else connect(path=Path(args.path) if args.path else work / "qdrant")
    registry = Registry(work / "state")
    print(f"store: {url or 'embedded ' + str(store.location)}; dim {args.dim}; {args.swaps} promote+rollback pairs;"
          f" {args.readers} reader threads", flush=True)
    print(f"{'points':>8} {'build s':>8} | no readers: {'alias call ms':>13} {'promotion ms':>13} |"
          f" {args.readers} readers: {'alias call ms':>13} {'promotion ms':>13} {'served':>7} {'failed':>6}"
          "   (ms: median/max)", flush=True)
    for n in args.sizes:
        alias = f"bench{n}"
        built = build(store, registry, alias, "a", n, args.dim, 1) + build(store, registry, alias, "b", n, args.dim, 2)
        store.delete_alias(alias)
        promote(store, registry, alias, "a", None, by="benchmark")
        idle = measure(store, registry, alias, args.dim, args.swaps, 0, 0.0)
        r = measure(store, registry, alias, args.dim, args.swaps, args.readers, args.dwell)

        def ms(xs):
            xs = [1000 * x for x in xs]
            return f"{statistics.median(xs):>6.2f}/{max(xs):<6.1f}"

        print(f"{n:>8} {built:>8.1f} | {'':>12}{ms(idle['calls'])} {ms(idle['moves'])} |"
              f" {'':>10}{ms(r['calls'])} {ms(r['moves'])} {r['served']:>7} {len(r['failed']):>6}", flush=True)
        for problem in r["failed"][:5]:
            print(f"         failed: {problem}")
        store.delete_alias(alias)
        store.drop(f"{alias}__a")
        store.drop(f"{alias}__b")
    disconnect_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
