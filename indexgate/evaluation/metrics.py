"""Span-level retrieval metrics for one query (averaging over queries is the caller's).

Spans are (doc_id, start, end) with end exclusive; characters of different documents never
coincide. R is the union of the relevant spans, T the union of the top-k retrieved spans:
span recall = |R∩T|/|R|, span precision = |R∩T|/|T|, span IoU = |R∩T|/|R∪T|. MRR and nDCG treat a
retrieved chunk as relevant when it overlaps R.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

SpanT = tuple[str, int, int]


def merge(spans: Iterable[SpanT]) -> dict[str, list[tuple[int, int]]]:
    """Union of spans as sorted, disjoint intervals per document."""
    by_doc: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for doc, start, end in spans:
        if end > start:
            by_doc[doc].append((start, end))
    merged = {}
    for doc, intervals in by_doc.items():
        intervals.sort()
        out = [list(intervals[0])]
        for start, end in intervals[1:]:
            if start <= out[-1][1]:
                out[-1][1] = max(out[-1][1], end)
            else:
                out.append([start, end])
        merged[doc] = [(a, b) for a, b in out]
    return merged


def size(merged: dict[str, list[tuple[int, int]]]) -> int:
    return sum(b - a for intervals in merged.values() for a, b in intervals)


def intersection(a: dict[str, list[tuple[int, int]]], b: dict[str, list[tuple[int, int]]]) -> int:
    total = 0
    for doc in a.keys() & b.keys():
        xs, ys, i, j = a[doc], b[doc], 0, 0
        while i < len(xs) and j < len(ys):
            lo, hi = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
            total += max(0, hi - lo)
            if xs[i][1] < ys[j][1]:
                i += 1
            else:
                j += 1
    return total


def overlaps(span: SpanT, merged: dict[str, list[tuple[int, int]]]) -> bool:
    doc, start, end = span
    return any(a < end and start < b for a, b in merged.get(doc, ()))


def span_scores(relevant: Iterable[SpanT], retrieved: Iterable[SpanT]) -> dict[str, float]:
    """span_recall, span_precision and span_iou of one query. Nothing retrieved scores 0."""
    r, t = merge(relevant), merge(retrieved)
    inter, r_size, t_size = intersection(r, t), size(r), size(t)
    union = r_size + t_size - inter
    return {
        "span_recall": inter / r_size if r_size else 0.0,
        "span_precision": inter / t_size if t_size else 0.0,
        "span_iou": inter / union if union else 0.0,
    }


def mrr(hits: list[bool]) -> float:
    """1/rank of the first relevant hit (ranks from 1), 0 if none."""
    return next((1.0 / rank for rank, hit in enumerate(hits, 1) if hit), 0.0)


def ndcg(hits: list[bool], n_relevant: int, k: int | None = None) -> float:
    """Binary-gain nDCG@k of a ranked list (k defaults to its length); the ideal list puts
    min(k, n_relevant) relevant items first, n_relevant being how many the index holds."""
    k = len(hits) if k is None else k
    dcg = sum(1.0 / math.log2(rank + 1) for rank, hit in enumerate(hits[:k], 1) if hit)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, n_relevant) + 1))
    return dcg / ideal if ideal else 0.0
