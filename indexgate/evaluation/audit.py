"""Golden-set audit: labels that look wrong, so a broken golden set neither blocks nor passes a
promotion unseen.

A query is suspect when:

- its evidence ranks nowhere in the top ``depth`` hits of the shadow nor of the live version.
  Retrieval that finds nothing near a label in either index suggests the label, not the index,
  is wrong;
- an evidence span lies outside its document;
- an evidence span lies in a document the source does not hold, or that was quarantined.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from indexgate.evaluation.evaluate import EvalResult
from indexgate.evaluation.golden import GoldenQuery


@dataclass(frozen=True)
class Suspect:
    query_id: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def audit_golden(queries: list[GoldenQuery], doc_lengths: Mapping[str, int], source_docs: set[str],
                 quarantined: Mapping[str, str], shadow: EvalResult | None = None, live: EvalResult | None = None,
                 depth: int = 100) -> list[Suspect]:
    """Every suspect label, with its reason, in golden-set order.

    ``doc_lengths``: characters of each parsed document of the shadow; ``source_docs``: every
    document of the source snapshot; ``quarantined``: doc_id -> reason. ``shadow``/``live``:
    evaluations run with ``depth`` (rows carry ``rank``); None when not run."""
    ranked = [{row["query_id"]: row.get("rank") for row in result.per_query}
              for result in (shadow, live) if result is not None]
    suspects = []
    for q in queries:
        for span in q.relevant:
            if span.doc_id not in source_docs:
                suspects.append(Suspect(q.query_id, f"evidence in {span.doc_id}, which the source does not hold"))
            elif span.doc_id in quarantined:
                suspects.append(Suspect(q.query_id, f"evidence in {span.doc_id}, which was quarantined"
                                                    f" ({quarantined[span.doc_id]})"))
            elif span.end > doc_lengths.get(span.doc_id, 0):
                suspects.append(Suspect(q.query_id, f"evidence span [{span.start}, {span.end}) lies outside"
                                                    f" {span.doc_id} ({doc_lengths.get(span.doc_id, 0)} characters)"))
        if ranked and all(q.query_id in r and r[q.query_id] is None for r in ranked):
            where = "the shadow or the live version" if len(ranked) == 2 else "the shadow"
            suspects.append(Suspect(q.query_id, f"evidence ranks nowhere in the top {depth} of {where}"))
    return suspects
