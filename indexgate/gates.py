"""Promotion gates: measured values against thresholds, and the decision they add up to."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq

from indexgate.evaluation.evaluate import EvalResult
from indexgate.models import Decision, GateResult
from indexgate.settings import GateConfig
from indexgate.store.qdrant import VectorStore


def integrity(store: VectorStore, collection: str, chunks: Path, dimension: int) -> list[GateResult]:
    """Read the collection back from the store and compare it with the chunks table: point count,
    vector size, and that the stored ids are exactly the expected ones."""
    expected = set(pq.read_table(chunks, columns=["point_id"]).column(0).to_pylist())
    if not store.exists(collection):
        return [GateResult("integrity.collection_exists", False, "missing", "present")]
    count = store.count(collection)
    size = store.vector_size(collection)
    stored = set(store.iter_ids(collection))
    missing, extra = len(expected - stored), len(stored - expected)
    return [
        GateResult("integrity.point_count", count == len(expected), count, len(expected),
                   detail="points in the store vs chunks in the manifest"),
        GateResult("integrity.vector_size", size == dimension, size, dimension),
        GateResult("integrity.point_ids", missing == 0 and extra == 0, f"{missing} missing, {extra} extra",
                   "0 missing, 0 extra"),
    ]


def relevance(result: EvalResult, config: GateConfig) -> list[GateResult]:
    """Absolute thresholds on the golden-set metrics at k. A partial evaluation (queries whose
    evidence is in documents the version does not hold) never passes."""
    k = result.k
    gates = [
        GateResult("relevance.golden_coverage", not result.unscorable,
                   f"{result.n_queries - len(result.unscorable)}/{result.n_queries}", f"{result.n_queries}/{result.n_queries}",
                   detail=("queries whose evidence is not in this version: " + ", ".join(result.unscorable[:10]))
                   if result.unscorable else ""),
    ]
    # Span-level golden sets measure span_*, mrr and ndcg; document-level ones recall, mrr and ndcg.
    thresholds = {"span_recall": config.min_span_recall, "span_precision": config.min_span_precision,
                  "recall": config.min_recall, "mrr": config.min_mrr, "ndcg": config.min_ndcg}
    for metric, threshold in thresholds.items():
        if metric in result.metrics:
            value = round(result.metrics[metric], 4)
            gates.append(GateResult(f"relevance.{metric}@{k}", value >= threshold, value, threshold))
    return gates


def quarantine_share(objects: int, quarantined: int, max_share: float) -> GateResult:
    """The share of the source's objects that were quarantined, against ``max_share``: a source
    that mostly fails to parse (a broken export, the wrong bucket) must not replace a good index."""
    share = quarantined / objects if objects else 0.0
    return GateResult("source.quarantine_share", share <= max_share, round(share, 4), f"<= {max_share}",
                      detail=f"{quarantined} of {objects} objects quarantined")


def decide(gates: Iterable[GateResult]) -> Decision:
    gates = list(gates)
    failed = tuple(g.name for g in gates if g.blocking and not g.passed)
    if failed:
        reasons = "; ".join(f"{g.name} = {g.value} (needs {g.threshold})" for g in gates if g.name in failed)
        return Decision(False, f"gates failed: {reasons}", failed)
    return Decision(True, f"all {len(gates)} gates passed")

