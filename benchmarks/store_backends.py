"""The embedded store side by side: Qdrant Edge (the default) against qdrant-client's local mode
(the embedded store before it), through IndexGate's own VectorStore.

Synthetic unit vectors (384-d, seeded) with the payloads a sync writes. Per backend and size, in
fresh processes so that memory and reopening are measured honestly:

- load: upsert in batches of --batch points, then seal (from ``store.exact_below`` points Edge
  quantizes the vectors to int8, and from ``store.graph_from`` builds an HNSW graph); the time
  of both; the loading process's peak RSS (file pages
  Edge maps count in it) and its peak anonymous memory while upserting (sampled per batch);
- disk: the store folder's size after loading;
- query p50/p95: one query at a time through the alias (after one warm-up query);
- reopen: a new process, from ``connect()`` to the first answer through the alias (the
  interpreter's start and imports are not counted);
- swap: ``point_alias`` moving the alias between the big collection and a one-point one
  (median of 20).

    python benchmarks/store_backends.py --sizes 10000                   # small first
    python benchmarks/store_backends.py --sizes 10000 100000 200000 1000000 --local-max 10000

Local mode commits every point in its own SQLite transaction, so large sizes take very long;
``--local-max`` caps the sizes it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DIM = 384
ALIAS = "bench"


def _vectors(start: int, n: int) -> np.ndarray:
    v = np.random.default_rng(start).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _payload(i: int) -> dict:
    return {"doc_id": f"docs/file-{i // 40:06d}.md", "chunk_id": f"{i:08x}", "start": (i % 40) * 800,
            "end": (i % 40) * 800 + 800, "text": f"chunk {i} " + "lorem ipsum dolor sit amet " * 28,
            "n_tokens": 200, "version": "v1", "section": None}


def _connect(backend: str, folder: Path):
    from indexgate.settings import load_settings
    from indexgate.store import connect
    return connect(path=folder, backend=backend, mode=load_settings().store.mode())  # the defaults


def _queries(n: int = 100) -> np.ndarray:
    return _vectors(10**9, n)


def query_times(store, name: str) -> list[float]:
    """Seconds of each of the 100 queries' top-10 searches of ``name``, after one untimed."""
    queries = _queries()
    store.search(name, queries[0], 10)
    times = []
    for q in queries:
        started = time.perf_counter()
        store.search(name, q, 10)
        times.append(time.perf_counter() - started)
    return times


def _anon_mib() -> float:
    """This process's anonymous resident memory (heap, not file pages Edge maps), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(backend: str, folder: Path, n: int, batch: int) -> dict:
    store = _connect(backend, folder)
    name = f"{ALIAS}__big"
    started = time.perf_counter()
    store.create(name, DIM)
    anon = 0.0
    for start in range(0, n, batch):
        m = min(batch, n - start)
        store.upsert(name, [str(uuid.UUID(int=start + i + 1)) for i in range(m)], _vectors(start, m),
                     [_payload(start + i) for i in range(m)])
        anon = max(anon, _anon_mib())
    loaded = time.perf_counter() - started
    store.seal(name)
    sealed = time.perf_counter() - started
    anon_sealed = _anon_mib()
    store.create(f"{ALIAS}__tiny", DIM)
    store.upsert(f"{ALIAS}__tiny", [str(uuid.UUID(int=1))], _vectors(0, 1), [_payload(0)])
    store.seal(f"{ALIAS}__tiny")
    store.point_alias(ALIAS, name)
    times = query_times(store, ALIAS)
    swaps = []
    for i in range(20):
        t = time.perf_counter()
        store.point_alias(ALIAS, f"{ALIAS}__tiny" if i % 2 == 0 else name)
        swaps.append(time.perf_counter() - t)
    store.point_alias(ALIAS, name)
    store.close()
    return {"load_s": loaded, "load_and_seal_s": sealed,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_anon_loading_mib": anon, "anon_after_seal_mib": anon_sealed,
            "query_p50_ms": 1000 * float(np.percentile(times, 50)), "query_p95_ms": 1000 * float(np.percentile(times, 95)),
            "swap_ms": 1000 * statistics.median(swaps)}


def reopen(backend: str, folder: Path) -> dict:
    started = time.perf_counter()
    store = _connect(backend, folder)
    hits = store.search(ALIAS, _queries(1)[0], 10)
    first = time.perf_counter() - started
    assert len(hits) == 10
    return {"reopen_s": first, "reopen_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _tier(n: int) -> str:
    from indexgate.settings import load_settings
    from indexgate.store.shards import tier_of
    return {"load": "exact", "quantized": "int8 scan + rescore", "graph": "HNSW"}[tier_of(n, load_settings().store.mode())]


def _du(folder: Path) -> float:
    """MiB allocated on disk (as du counts: Edge preallocates sparse files)."""
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--local-max", type=int, default=10_000, help="largest size run on local mode")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--work", default=None)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, backend, folder, *rest = args.child
        import warnings
        warnings.filterwarnings("ignore")
        result = load(backend, Path(folder), int(rest[0]), int(rest[1])) if what == "load" else reopen(backend, Path(folder))
        print(json.dumps(result))
        return 0
    work = Path(args.work or tempfile.mkdtemp(prefix="indexgate-store-bench-"))
    print(f"{'backend':>7} {'points':>8} {'load s':>7} {'+seal s':>7} {'peak MiB':>8} {'anon MiB':>8} {'disk MiB':>8}"
          f" {'p50 ms':>7} {'p95 ms':>7} {'reopen s':>8} {'reopen MiB':>10} {'swap ms':>7}  search", flush=True)
    for n in args.sizes:
        for backend in ("edge", "local"):
            if backend == "local" and n > args.local_max:
                print(f"{backend:>7} {n:>8}   (not run: above --local-max {args.local_max})", flush=True)
                continue
            folder = work / f"{backend}-{n}"
            shutil.rmtree(folder, ignore_errors=True)
            r = _child("load", backend, str(folder), str(n), str(args.batch))
            r.update(_child("reopen", backend, str(folder)))
            print(f"{backend:>7} {n:>8} {r['load_s']:>7.1f} {r['load_and_seal_s']:>7.1f} {r['peak_rss_mib']:>8.0f} {r['peak_anon_loading_mib']:>8.0f}"
                  f" {_du(folder):>8.0f} {r['query_p50_ms']:>7.2f} {r['query_p95_ms']:>7.2f} {r['reopen_s']:>8.2f}"
                  f" {r['reopen_peak_rss_mib']:>10.0f} {r['swap_ms']:>7.2f}"
                  f"  {_tier(n) if backend == 'edge' else 'exact'}", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
