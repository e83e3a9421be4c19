"""Benchmark: embedding-cache lookups against a large cache (synthetic vectors).

    .venv/bin/python benchmarks/embedding_cache.py [--vectors 1000000] [--parts 8] [--repeat 5]

It fills a fresh cache folder through the public interface (``put_many``, ``--parts`` calls of
equal size: the most parts a compacted cache keeps is 8), then times, with ``time.perf_counter``:

- opening the cache in a new instance (what each process pays once: it learns every hash);
- ``get_many`` of 300 and of 3,000 random cached hashes (a 1%-changed sync's carried chunks and
  a quality suite's sample are of that order), ``--repeat`` times each, median and max;
- ``missing`` of 3,000 hashes, half of them not cached.

Random 384-dimensional float32 vectors, hashes as IndexGate makes them (sha256 hex). The files
stay in the page cache between lookups (a warm machine), which is what a sync meets.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexgate.embedding.cache import EmbeddingCache  # noqa: E402

DIMENSION = 384


def fill(root: Path, vectors: int, parts: int) -> list[str]:
    rng = np.random.default_rng(7)
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(vectors)]
    cache = EmbeddingCache(root, "fp", DIMENSION)
    step = -(-vectors // parts)
    for start in range(0, vectors, step):
        block = rng.standard_normal((min(step, vectors - start), DIMENSION), dtype=np.float32)
        cache.put_many(hashes[start:start + step], block)
    return hashes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="indexgate-cache-bench-"))
    try:
        started = time.perf_counter()
        hashes = fill(root, args.vectors, args.parts)
        files = sorted(p.name for p in (root / "fp").iterdir())
        size = sum((root / "fp" / f).stat().st_size for f in files)
        print(f"filled {args.vectors:,} vectors in {len(files)} parts ({size / 2**30:.2f} GiB) in"
              f" {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f}")
        started = time.perf_counter()
        cache = EmbeddingCache(root, "fp", DIMENSION)
        print(f"open (a new instance learns {len(cache):,} hashes): {time.perf_counter() - started:.2f} s")
        rng = random.Random(11)
        for n in (300, 3000):
            times = []
            for _ in range(args.repeat):
                wanted = rng.sample(hashes, n)
                started = time.perf_counter()
                got = cache.get_many(wanted)
                times.append(time.perf_counter() - started)
                assert len(got) == n
            print(f"get_many of {n:,} cached hashes: median {statistics.median(times) * 1000:.1f} ms,"
                  f" max {max(times) * 1000:.1f} ms ({args.repeat} lookups)")
        asked = rng.sample(hashes, 1500) + [f"absent-{i}" for i in range(1500)]
        started = time.perf_counter()
        assert len(cache.missing(asked)) == 1500
        print(f"missing of 3,000 hashes (1,500 absent): {(time.perf_counter() - started) * 1000:.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
