"""Run a golden set against a collection (or alias) and score it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from indexgate.embedding.base import Embedder
from indexgate.evaluation import doc_metrics, metrics
from indexgate.evaluation.golden import GoldenQuery
from indexgate.store.base import VectorStore

log = logging.getLogger(__name__)
METRICS = ("span_recall", "span_precision", "span_iou", "mrr", "ndcg")
DOC_METRICS = ("ndcg", "recall", "mrr")
# Document-level scoring ranks documents by their best chunk: this many chunks per wanted document
# are retrieved first, and more for a query whose chunks named fewer than k documents.
CHUNKS_PER_DOCUMENT = 10
# Queries embedded and searched together: the progress of a large golden set shows after each
# batch, and its vectors and hits are never all built before the first search.
QUERY_BATCH = 256


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


def search_as(store: VectorStore, name: str, vectors: np.ndarray, depth: int,
              groups: list[tuple[str, ...] | None] | None) -> list[list]:
    """``store.search_many``, each query filtered by its own groups (``groups[i]``; None:
    unfiltered, as is ``groups`` None). One search per distinct set of groups."""
    if groups is None:
        return store.search_many(name, vectors, depth)
    out: list = [None] * len(vectors)
    rows: dict[tuple[str, ...] | None, list[int]] = {}
    for i, g in enumerate(groups):
        rows.setdefault(g, []).append(i)
    for g, index in rows.items():
        for i, hits in zip(index, store.search_many(name, vectors[index], depth, g)):
            out[i] = hits
    return out


def _groups_of(queries: list[GoldenQuery], default: tuple[str, ...] | None) -> list | None:
    """Each query's groups: its own, else ``default``; None when every one is unfiltered."""
    groups = [q.groups if q.groups is not None else default for q in queries]
    return None if all(g is None for g in groups) else groups


def ranked_documents(store: VectorStore, name: str, vectors: np.ndarray, k: int,
                     groups: list[tuple[str, ...] | None] | None = None) -> list[list[str]]:
    """The top-k distinct documents of each query, each ranked by its best chunk. Retrieves
    ``k * CHUNKS_PER_DOCUMENT`` chunks, then 4 times more for the queries whose chunks named fewer
    than k documents, until k are found or the collection is exhausted."""
    total = store.count(name)
    depth = min(k * CHUNKS_PER_DOCUMENT, max(total, 1))
    hits = search_as(store, name, vectors, depth, groups)
    ranked = [doc_metrics.rank_documents((h.doc_id for h in q), k) for q in hits]
    while depth < total:
        short = [i for i, docs in enumerate(ranked) if len(docs) < k and len(hits[i]) == depth]
        if not short:
            break
        depth = min(depth * 4, total)
        more_groups = None if groups is None else [groups[i] for i in short]
        for i, more in zip(short, search_as(store, name, vectors[short], depth, more_groups)):
            hits[i] = more
            ranked[i] = doc_metrics.rank_documents((h.doc_id for h in more), k)
    return ranked


def _batches(queries: list[GoldenQuery], embedder: Embedder, query_vectors: np.ndarray | None = None
             ) -> Iterator[tuple[list[GoldenQuery], np.ndarray]]:
    """The queries in batches of :data:`QUERY_BATCH`, each with its vectors (embedded here unless
    given), with a :class:`~indexgate.progress.Progress` of the queries done."""
    from indexgate.progress import Progress

    with Progress("evaluating", len(queries), "queries") as progress:
        for first in range(0, len(queries), QUERY_BATCH):
            part = queries[first:first + QUERY_BATCH]
            vectors = (embedder.embed_queries([q.query for q in part]) if query_vectors is None
                       else query_vectors[first:first + QUERY_BATCH])
            yield part, vectors
            progress.advance(len(part))


def _evaluate_documents(store: VectorStore, name: str, embedder: Embedder, queries: list[GoldenQuery], k: int,
                        spans: SpanIndex, started: float, groups: tuple[str, ...] | None = None) -> EvalResult:
    per_query, unscorable = [], []
    ranked_all = [ranked for part, vectors in _batches(queries, embedder)
                  for ranked in ranked_documents(store, name, vectors, k, _groups_of(part, groups))]
    for query, ranked in zip(queries, ranked_all):
        grades = query.grades
        if not {d for d, g in grades.items() if g > 0} <= spans.doc_ids:
            unscorable.append(query.query_id)
        per_query.append({"query_id": query.query_id, "ndcg": doc_metrics.ndcg(ranked, grades, k),
                          "recall": doc_metrics.recall(ranked, grades, k), "mrr": doc_metrics.mrr(ranked, grades, k),
                          "documents": ranked})
    means = {m: float(np.mean([row[m] for row in per_query])) if per_query else 0.0 for m in DOC_METRICS}
    seconds = time.perf_counter() - started
    log.info("evaluated %d document-level queries at k=%d in %.1fs: nDCG %.3f, recall %.3f, MRR %.3f",
             len(queries), k, seconds, means["ndcg"], means["recall"], means["mrr"])
    return EvalResult(k=k, metrics=means, n_queries=len(queries), per_query=per_query,
                      unscorable=unscorable, seconds=seconds)


def evaluate(store: VectorStore, name: str, embedder: Embedder, queries: list[GoldenQuery], k: int,
             spans: SpanIndex, depth: int | None = None, groups: tuple[str, ...] | None = None) -> EvalResult:
    """Score every query at k. Metrics are means over all queries (unscorable ones score 0).

    - Span-level queries give span_recall, span_precision, span_iou, mrr and ndcg over the top-k
      chunks.
    - Document-level queries (graded ``relevant_docs``) give ndcg, recall and mrr over the top-k
      documents. Each document is ranked by its best chunk (see
      :mod:`indexgate.evaluation.doc_metrics`).

    With ``depth`` (> k), each span-level query's row also gets ``rank``. That is the rank (from 1)
    of the first hit within the top ``depth`` that overlaps its evidence, or None. Metrics stay at
    k. Each query is asked as its own ``groups``, else as ``groups`` (None: unfiltered)."""
    if queries and queries[0].document_level:
        return _evaluate_documents(store, name, embedder, queries, k, spans, time.perf_counter(), groups)
    return evaluate_at(store, name, embedder, queries, [k], spans, depth=depth, groups=groups)[k]


def evaluate_at(store: VectorStore, name: str, embedder: Embedder, queries: list[GoldenQuery], ks: list[int],
                spans: SpanIndex, query_vectors: np.ndarray | None = None,
                depth: int | None = None, groups: tuple[str, ...] | None = None) -> dict[int, EvalResult]:
    """Score span-level queries at each k from one search at the largest k (the top k of an exact
    search are the first k of its top max(ks)). ``query_vectors`` saves embedding the queries
    again. Each per-query row also lists the retrieved ``chunk_ids``, best first, and with
    ``depth`` the ``rank`` of the first relevant hit within the top ``depth`` (or None)."""
    started = time.perf_counter()
    results = [hits for part, vectors in _batches(queries, embedder, query_vectors)
               for hits in search_as(store, name, vectors, max(max(ks), depth or 0), _groups_of(part, groups))]
    unscorable = [q.query_id for q in queries if not {s.doc_id for s in q.relevant} <= spans.doc_ids]
    out = {}
    for k in ks:
        per_query = []
        for query, all_hits in zip(queries, results):
            hits = all_hits[:k]
            relevant = [(s.doc_id, s.start, s.end) for s in query.relevant]
            retrieved = [(h.doc_id, h.start, h.end) for h in hits]
            merged = metrics.merge(relevant)
            flags = [metrics.overlaps(span, merged) for span in retrieved]
            row = {"query_id": query.query_id, **metrics.span_scores(relevant, retrieved),
                   "mrr": metrics.mrr(flags), "ndcg": metrics.ndcg(flags, spans.n_overlapping(merged), k),
                   "chunk_ids": [h.chunk_id for h in hits]}
            if depth:
                row["rank"] = next((rank for rank, h in enumerate(all_hits, 1)
                                    if metrics.overlaps((h.doc_id, h.start, h.end), merged)), None)
            per_query.append(row)
        means = {m: float(np.mean([row[m] for row in per_query])) if per_query else 0.0 for m in METRICS}
        seconds = time.perf_counter() - started
        log.info("evaluated %d queries at k=%d in %.1fs: span recall %.3f, precision %.3f",
                 len(queries), k, seconds, means["span_recall"], means["span_precision"])
        out[k] = EvalResult(k=k, metrics=means, n_queries=len(queries), per_query=per_query,
                            unscorable=unscorable, seconds=seconds)
    return out
