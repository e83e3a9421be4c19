"""A new version with a small share of changed points: a fresh build against copy-and-diff (the
live version's shard copied, trimmed to its unchanged points, then only the changed points
upserted: ``EdgeStore.create_from``), through IndexGate's VectorStore with the default settings.

Synthetic unit vectors (384-d) with a sync's payloads, as in store_backends.py. The base version
is built and sealed first (not timed). Then, per method, the time from nothing to a sealed
version holding the same points: for copy-and-diff split into the copy (with its trim; the new
version is a label of the shard, not written into each kept point), the upserts and the seal. The sync also compares the two
chunks tables to find the unchanged points (store.load.unchanged_points); that is timed apart.

Per method it also prints the peak memory of this process while building, sampled every 20 ms
from /proc/self/status: RssAnon (its own memory) and RssFile (file pages Edge maps, which the
kernel can drop). Then the search latency of each sealed version, one query at a time (the
queries of store_backends.py): the copy keeps the base's sealed segment and searches its new
points exactly in a plain segment (docs/store.md#sealing-a-copied-version). Last, the time of
the copy's file copy alone (the files of the base shard, as create_from copies them).

    python benchmarks/copy_diff.py --points 200000 --changed 0.01
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.memory_watch import status  # noqa: E402
from benchmarks.store_backends import DIM, _du, _payload, _vectors, query_times  # noqa: E402
from indexgate.settings import load_settings  # noqa: E402
from indexgate.store import connect, disconnect  # noqa: E402


class _Peaks:
    """Peak RssAnon and RssFile (MiB) of this process while the block runs."""

    def __enter__(self):
        self.peak, self._stop = {"RssAnon": 0, "RssFile": 0}, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while True:
            now = status(os.getpid()) or {}
            for key in self.peak:
                self.peak[key] = max(self.peak[key], now.get(key, 0))
            if self._stop.wait(0.02):
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def __str__(self) -> str:
        return f"peak RssAnon {self.peak['RssAnon']} MiB, RssFile {self.peak['RssFile']} MiB"


def _latency(store, name: str) -> str:
    times = query_times(store, name)
    return f"p50 {1000 * np.percentile(times, 50):.2f} ms, p95 {1000 * np.percentile(times, 95):.2f} ms"


def _ids(start: int, n: int) -> list[str]:
    return [str(uuid.UUID(int=start + i + 1)) for i in range(n)]


def _write(store, name: str, indexes: np.ndarray, changed: set[int], batch: int, version: str) -> None:
    for start in range(0, len(indexes), batch):
        part = indexes[start:start + batch]
        # A changed point: the same id, another vector and text.
        vectors = np.vstack([_vectors(int(i) + (10**8 if int(i) in changed else 0), 1) for i in part])
        payloads = [{**_payload(int(i)), "version": version,
                     **({"text": f"changed {int(i)}"} if int(i) in changed else {})} for i in part]
        store.upsert(name, [str(uuid.UUID(int=int(i) + 1)) for i in part], vectors, payloads)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of the points changed")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="indexgate-copy-diff-"))
    store = connect(path=work / "q", mode=load_settings().store.mode())
    n = args.points
    store.create("a__v1", DIM)
    for start in range(0, n, args.batch):
        m = min(args.batch, n - start)
        store.upsert("a__v1", _ids(start, m), _vectors(start, m), [_payload(start + i) for i in range(m)])
    store.seal("a__v1")
    rng = np.random.default_rng(1)
    changed = set(rng.choice(n, int(n * args.changed), replace=False).tolist())
    print(f"{n} points, {len(changed)} changed ({args.changed:.1%}); store {work / 'q'}", flush=True)

    started = time.perf_counter()
    with _Peaks() as memory:
        store.create("a__fresh", DIM)
        _write(store, "a__fresh", np.arange(n), changed, args.batch, "v2")
        loaded = time.perf_counter() - started
        store.seal("a__fresh")
    fresh = time.perf_counter() - started
    print(f"fresh build:    {fresh:7.1f} s  (upserts {loaded:.1f} s, seal {fresh - loaded:.1f} s); {memory}", flush=True)

    keep = frozenset(str(uuid.UUID(int=i + 1)) for i in range(n) if i not in changed)
    started = time.perf_counter()
    with _Peaks() as memory:
        assert store.create_from("a__copy", "a__v1", DIM, None, keep, {"version": "v2"})
        copied = time.perf_counter() - started
        _write(store, "a__copy", np.array(sorted(changed)), changed, args.batch, "v2")
        loaded = time.perf_counter() - started
        store.seal("a__copy")
    total = time.perf_counter() - started
    print(f"copy-and-diff:  {total:7.1f} s  (copy and trim {copied:.1f} s, upserts {loaded - copied:.1f} s,"
          f" seal {total - loaded:.1f} s); {memory}", flush=True)
    for name in ("a__fresh", "a__copy"):
        print(f"search {name}: {_latency(store, name)}", flush=True)
    assert store.count("a__copy") == store.count("a__fresh") == n
    sample = _ids(0, 5) + [str(uuid.UUID(int=i + 1)) for i in sorted(changed)[:5]]
    for name in ("a__copy", "a__fresh"):
        store.search(name, _vectors(10**9, 1)[0], 10)  # both answer
    got = {p.id: p.payload for p in store.scroll("a__copy", limit=n)}
    want = {p.id: p.payload for p in store.scroll("a__fresh", limit=n)}
    assert got == want, "copy-and-diff and fresh build differ"
    print(f"same {len(got)} points and payloads (sample {sample[:1]}...); disk: fresh"
          f" {_du(work / 'q' / 'shards' / 'a__fresh'):.0f} MiB, copy {_du(work / 'q' / 'shards' / 'a__copy'):.0f} MiB",
          flush=True)

    # The copy's files alone, as create_from copies them (reflink, else a sparse copy).
    from indexgate.store.shards import copy_file
    started = time.perf_counter()
    shutil.copytree(work / "q" / "shards" / "a__v1", work / "files", copy_function=copy_file)
    print(f"the base shard's files copied: {time.perf_counter() - started:.2f} s"
          f" ({_du(work / 'files'):.0f} MiB)", flush=True)
    shutil.rmtree(work / "files")

    # The sync's own diff of two chunks tables of this size (ids, spans, text hashes).
    import pyarrow as pa
    import pyarrow.parquet as pq

    from indexgate.chunking.corpus import SCHEMA
    from indexgate.store.load import unchanged_points
    for name, mark in (("base", set()), ("new", changed)):
        rows = {"chunk_id": [f"{i:08x}" for i in range(n)], "point_id": [str(uuid.UUID(int=i + 1)) for i in range(n)],
                "doc_id": [f"d{i // 40}" for i in range(n)], "start": list(range(n)), "end": list(range(1, n + 1)),
                "n_tokens": [200] * n, "text_hash": [f"h{i}{'x' if i in mark else ''}" for i in range(n)],
                "text": [""] * n, "page": [None] * n, "section": [None] * n, "embed_prefix": [None] * n}
        pq.write_table(pa.table(rows, schema=SCHEMA), work / f"{name}.parquet")
    started = time.perf_counter()
    same = unchanged_points(work / "base.parquet", work / "new.parquet", {}, {})
    print(f"unchanged_points over two {n}-row chunks tables: {time.perf_counter() - started:.1f} s"
          f" ({len(same)} unchanged)", flush=True)
    assert len(same) == n - len(changed)
    disconnect(store)
    return 0


if __name__ == "__main__":
    sys.exit(main())
