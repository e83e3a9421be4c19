"""Document-level retrieval metrics for one query, with graded relevance (BEIR qrels).

The retrieved chunks, best first, are reduced to documents: a chunk counts for its document, and
a document is ranked by its best chunk (its first appearance). ``grades`` maps doc_id to an
integer grade; a document is relevant when its grade is above 0 (unjudged documents grade 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def rank_documents(doc_ids: Iterable[str], k: int) -> list[str]:
    """The first ``k`` distinct documents of a ranked chunk list, in order of their best chunk."""
    return list(dict.fromkeys(doc_ids))[:k]


def ndcg(ranked: list[str], grades: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gain, as trec_eval's ``ndcg_cut`` (pytrec_eval, used by BEIR):

    - DCG@k = sum over ranks i = 1..k of g(d_i) / log2(i + 1). g is the grade: 0 if unjudged,
      and negative grades count as 0.
    - IDCG@k is the DCG@k of the judged documents sorted by grade, highest first.
    - nDCG@k = DCG@k / IDCG@k (0 when nothing is relevant).
    """
    dcg = sum(max(grades.get(doc, 0), 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], 1))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, 1))
    return dcg / idcg if idcg else 0.0


def recall(ranked: list[str], grades: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {doc for doc, g in grades.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr(ranked: list[str], grades: Mapping[str, int], k: int) -> float:
    """1/rank of the first relevant document in the top k (ranks from 1), 0 if none."""
    return next((1.0 / rank for rank, doc in enumerate(ranked[:k], 1) if grades.get(doc, 0) > 0), 0.0)
