"""Query latency of a collection as an application sees it: embed one query, search top k."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from indexgate.embedding.base import Embedder
from indexgate.evaluation.golden import GoldenQuery
from indexgate.store.base import VectorStore


@dataclass(frozen=True)
class LatencyStats:
    p50_ms: float
    p95_ms: float
    n: int
    # per query: (query_id, milliseconds)
    samples: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"p50_ms": round(self.p50_ms, 2), "p95_ms": round(self.p95_ms, 2), "n": self.n,
                "max_ms": round(max((ms for _, ms in self.samples), default=0.0), 2)}


def measure_latency(store: VectorStore, name: str, embedder: Embedder, queries: list[GoldenQuery],
                    k: int) -> LatencyStats:
    """Time each query alone (embedding + top-k search), after one untimed warm-up query."""
    if not queries:
        return LatencyStats(0.0, 0.0, 0)
    store.search(name, embedder.embed_queries([queries[0].query])[0], k)  # warm-up: caches, lazy init
    samples = []
    for q in queries:
        started = time.perf_counter()
        store.search(name, embedder.embed_queries([q.query])[0], k)
        samples.append((q.query_id, (time.perf_counter() - started) * 1000))
    ms = np.array([s for _, s in samples])
    return LatencyStats(float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), len(samples), samples)
