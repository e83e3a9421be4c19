"""Run a golden set against a collection (or alias) and score it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from indexgate.embedding.base import Embedder
from indexgate.evaluation import metrics
from indexgate.evaluation.golden import GoldenQuery
from indexgate.store.qdrant import VectorStore

log = logging.getLogger(__name__)
METRICS = ("span_recall", "span_precision", "span_iou", "mrr", "ndcg")


class SpanIndex:
    """Where the chunks of one version lie, to know how many chunks are relevant to a query
    (the ideal ranking of nDCG) and which documents the version holds."""

    def __init__(self, spans: dict[str, tuple[np.ndarray, np.ndarray]]):
        self._spans = spans

    @classmethod
    def from_parquet(cls, path: Path) -> SpanIndex:
        table = pq.read_table(path, columns=["doc_id", "start", "end"])
        docs = np.asarray(table.column("doc_id").to_pylist(), dtype=object)
        starts = table.column("start").to_numpy()
        ends = table.column("end").to_numpy()
        spans = {}
        for doc in np.unique(docs) if len(docs) else []:
            mask = docs == doc
            spans[str(doc)] = (starts[mask], ends[mask])
        return cls(spans)

    @property
    def doc_ids(self) -> set[str]:
        return set(self._spans)

    def n_overlapping(self, merged: dict[str, list[tuple[int, int]]]) -> int:
        total = 0
        for doc, intervals in merged.items():
            if doc not in self._spans:
                continue
            starts, ends = self._spans[doc]
            hit = np.zeros(len(starts), dtype=bool)
            for a, b in intervals:
                hit |= (starts < b) & (a < ends)
            total += int(hit.sum())
        return total


@dataclass
class EvalResult:
    k: int
    metrics: dict[str, float]
    n_queries: int
    per_query: list[dict] = field(default_factory=list)
    # Queries whose evidence lies in documents the index does not hold: they cannot be scored
    # fairly, so a gate treats their presence as a failed (partial) evaluation.
    unscorable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"k": self.k, "metrics": self.metrics, "n_queries": self.n_queries,
                "unscorable": self.unscorable, "seconds": round(self.seconds, 3)}


def evaluate(store: VectorStore, name: str, embedder: Embedder, queries: list[GoldenQuery], k: int,
             spans: SpanIndex) -> EvalResult:
    """Score every query at k. Metrics are means over all queries (unscorable ones score 0)."""
    return evaluate_at(store, name, embedder, queries, [k], spans)[k]


def evaluate_at(store: VectorStore, name: str, embedder: Embedder, queries: list[GoldenQuery], ks: list[int],
                spans: SpanIndex, query_vectors: np.ndarray | None = None) -> dict[int, EvalResult]:
    """Score every query at each k from one search at the largest k (the top k of an exact search
    are the first k of its top max(ks)). ``query_vectors`` saves embedding the queries again.
    Each per-query row also lists the retrieved ``chunk_ids``, best first."""
    started = time.perf_counter()
    vectors = embedder.embed_queries([q.query for q in queries]) if query_vectors is None else query_vectors
    results = store.search_many(name, vectors, max(ks))
    unscorable = [q.query_id for q in queries if not {s.doc_id for s in q.relevant} <= spans.doc_ids]
    out = {}
    for k in ks:
        per_query = []
        for query, hits in zip(queries, results):
            hits = hits[:k]
            relevant = [(s.doc_id, s.start, s.end) for s in query.relevant]
            retrieved = [(h.doc_id, h.start, h.end) for h in hits]
            merged = metrics.merge(relevant)
            flags = [metrics.overlaps(span, merged) for span in retrieved]
            per_query.append({"query_id": query.query_id, **metrics.span_scores(relevant, retrieved),
                              "mrr": metrics.mrr(flags), "ndcg": metrics.ndcg(flags, spans.n_overlapping(merged), k),
                              "chunk_ids": [h.chunk_id for h in hits]})
        means = {m: float(np.mean([row[m] for row in per_query])) if per_query else 0.0 for m in METRICS}
        seconds = time.perf_counter() - started
        log.info("evaluated %d queries at k=%d in %.1fs: span recall %.3f, precision %.3f",
                 len(queries), k, seconds, means["span_recall"], means["span_precision"])
        out[k] = EvalResult(k=k, metrics=means, n_queries=len(queries), per_query=per_query,
                            unscorable=unscorable, seconds=seconds)
    return out
