"""What filtering every search by the caller's groups costs on Qdrant Edge (docs/access.md).

Synthetic vectors (random, unit length, 384-d like the packaged model): the cost of a filter does
not depend on what the vectors mean. Each point gets one or two of ``--groups`` groups, so one
group's filter keeps about 3/groups of the points. It prints the query p50/p95 (one query at a time,
through the store, after sealing) unfiltered, filtered by one group, and by three groups.

    python benchmarks/access_filter.py                  # 20,000 points
    python benchmarks/access_filter.py --points 50000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexgate.store import connect, disconnect  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((args.points, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    names = [f"g{i}" for i in range(args.groups)]
    store = connect(path=Path(tempfile.mkdtemp(prefix="indexgate-access-bench-")) / "q", backend="edge")
    store.create("c", 384)
    for start in range(0, args.points, 1000):
        ids = [str(uuid.UUID(int=i + 1)) for i in range(start, min(start + 1000, args.points))]
        payloads = [{"doc_id": f"d{i}", "chunk_id": f"c{i}", "start": 0, "end": 1, "text": "", "version": "v",
                     "groups": sorted({names[i % args.groups], names[(i * 7) % args.groups]})}
                    for i in range(start, start + len(ids))]
        store.upsert("c", ids, vectors[start:start + len(ids)], payloads)
    started = time.perf_counter()
    store.seal("c")
    print(f"{args.points:,} points, {args.groups} groups; seal {time.perf_counter() - started:.1f}s")
    queries = rng.standard_normal((args.queries, 384)).astype(np.float32)
    for label, groups in (("unfiltered", None), ("1 group", names[:1]), ("3 groups", names[:3])):
        store.search("c", queries[0], args.k, groups)  # warm-up
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            hits = store.search("c", q, args.k, groups)
            times.append(time.perf_counter() - t)
            found.append(len(hits))
        p50, p95 = np.percentile(times, [50, 95]) * 1000
        print(f"{label:>10}: p50 {p50:.2f} ms, p95 {p95:.2f} ms, hits per query {np.mean(found):.1f}")
    disconnect(store)


if __name__ == "__main__":
    main()
