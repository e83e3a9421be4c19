"""The sync's validation: every gate of the shadow before the decision.

:func:`validate` is the one entry point. The flow's ``validate_shadow`` task calls it, and so
does the in-process runner (:mod:`indexgate.sync.steps`). Which gates run follows the policy
(``gates.modes``) and the inputs (a golden set adds relevance and latency).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from indexgate import gates as gate_checks
from indexgate.access import caller_groups, unreadable_evidence
from indexgate.embedding import Embedder
from indexgate.errors import EmbedderMismatch
from indexgate.evaluation import SpanIndex, evaluate, load_golden
from indexgate.evaluation.audit import audit_golden
from indexgate.evaluation.compare import compare_results
from indexgate.evaluation.evaluate import EvalResult
from indexgate.evaluation.golden import GoldenQuery, check_spans
from indexgate.evaluation.latency import measure_latency
from indexgate.guardrails import Replacement, original_length, to_redacted
from indexgate.guardrails.memo import CleanKeys, NewKeys, load_clean, save_clean
from indexgate.lifecycle.registry import Manifest
from indexgate.lifecycle.versioning import collection_name
from indexgate.models import GateResult, Plan
from indexgate.quality import validate_version
from indexgate.resources import Resources, pinned_embedder
from indexgate.sync.build import quality_job
from indexgate.sync.planning import quality_on, update_manifest

log = logging.getLogger(__name__)


def check_quality(res: Resources, plan: Plan) -> list[GateResult]:
    """Great Expectations suites on the version's documents, chunks and embeddings. Returns with
    the checks; their Data Docs, in the version's work folder, may still be being written by the
    quality worker (:func:`indexgate.quality.wait_data_docs`; the HTML report waits for them)."""
    if not quality_on(res.settings):
        update_manifest(res, plan, quality={"suites": {}})  # a rerun must not show an earlier run's checks
        return []
    result = validate_version(**quality_job(res, plan), wait_docs=False,
                              timeout=res.settings.lifecycle.quality_wait_s)
    update_manifest(res, plan, quality={"suites": result.as_dict()}, timings={"quality_s": round(result.waited, 3)})
    return result.gates()


def check_integrity(res: Resources, plan: Plan) -> list[GateResult]:
    """Integrity, read back from the store (:func:`indexgate.gates.integrity`), and the access
    labels (:func:`check_access`)."""
    return _stored_integrity(res, plan) + check_access(res, plan)


def _stored_integrity(res: Resources, plan: Plan) -> list[GateResult]:
    return gate_checks.integrity(res.store, plan.collection, plan.chunks_path, res.embedder.dimension,
                                 documents=plan.documents_path, version=plan.version)


def _access_reader(res: Resources, plan: Plan) -> gate_checks.AccessReader:
    manifest = res.registry.load(plan.alias, plan.version)
    access = res.settings.access
    return gate_checks.AccessReader(manifest.documents, allow_unlabelled=access is not None and access.allow_unlabelled)


def check_access(res: Resources, plan: Plan) -> list[GateResult]:
    """The access labels: every point's groups (read back from the store) are its document's, and
    no document is unlabelled unless ``access.allow_unlabelled``."""
    reader = _access_reader(res, plan)
    if not res.store.exists(plan.collection):
        return [reader.result()]
    return gate_checks.read_back(res.store, plan.collection, [reader])


def _guardrails_reader(res: Resources, plan: Plan) -> gate_checks.GuardrailsReader | None:
    """The guardrails gate's reader, or None when the policy turns the gate off."""
    if res.settings.gates.mode("guardrails") == "off":
        return None
    clean = load_clean(res.registry.version_dir(plan.alias, plan.base)) if plan.base else CleanKeys()
    return gate_checks.GuardrailsReader(res.settings.guardrails, clean, NewKeys())


def check_guardrails(res: Resources, plan: Plan) -> list[GateResult]:
    """The shadow's stored payloads, read back and scanned: no redact or block finding left.

    Every payload is read back. Those the base version's gate scanned clean, with the same
    detectors on the same text, are not scanned again (:mod:`indexgate.guardrails.memo`). This
    version's clean keys are kept for the next version's gate."""
    reader = _guardrails_reader(res, plan)
    if reader is None:
        return []
    gate = gate_checks.read_back(res.store, plan.collection, [reader])[0]
    save_clean(Path(plan.workdir), reader.found_clean)
    return [gate]


def _stored_gates(res: Resources, plan: Plan) -> tuple[dict[str, list[GateResult]], dict[str, float]]:
    """The integrity, access and guardrails gates from one read of the stored payloads
    (:func:`indexgate.gates.read_back`), not three: each family's results and seconds. The read
    itself counts to integrity. Empty when the collection is missing (each family then runs on
    its own and says so)."""
    if not res.store.exists(plan.collection):
        return {}, {}
    families = {"integrity": gate_checks.IntegrityReader(res.store, plan.collection, plan.chunks_path,
                                                         res.embedder.dimension, plan.documents_path, plan.version),
                "access": _access_reader(res, plan)}
    guard = _guardrails_reader(res, plan)
    if guard is not None:
        families["guardrails"] = guard
    seconds: dict = {}
    results = gate_checks.read_back(res.store, plan.collection, list(families.values()), seconds)
    gates = {"integrity": results[0], "access": [results[1]], "guardrails": []}
    if guard is not None:
        started = time.perf_counter()
        save_clean(Path(plan.workdir), guard.found_clean)
        gates["guardrails"] = [results[2]]
        seconds[2] += time.perf_counter() - started
    timings = {family: seconds.get(i, 0.0) for i, family in enumerate(families)}
    timings["integrity"] += seconds.get("read", 0.0)
    return gates, timings


def check_quarantine(res: Resources, plan: Plan) -> list[GateResult]:
    counts = res.registry.load(plan.alias, plan.version).counts
    return [gate_checks.quarantine_share(counts.get("objects", 0), counts.get("quarantined", 0),
                                         res.settings.gates.max_quarantine_share)]


def _document_lengths(plan: Plan) -> dict[str, int]:
    """Characters of each parsed document of the version, read a batch at a time."""
    lengths: dict[str, int] = {}
    for batch in pq.ParquetFile(plan.documents_path).iter_batches(batch_size=64, columns=["doc_id", "text"]):
        lengths.update(zip(batch.column(0).to_pylist(), pc.utf8_length(batch.column(1)).to_pylist()))
    return lengths


def _golden(plan: Plan, golden: str) -> tuple[list[GoldenQuery], dict[str, int]]:
    """The golden queries, their spans checked against the version's original documents (an
    error names the line of a span beyond its document's end), and the original documents' lengths.

    Golden spans are offsets of the original documents. The guardrails may have replaced parts
    of a stored document by placeholders. So :func:`in_stored_offsets` maps the spans into the
    stored (redacted) text of a version before scoring it. That is where its chunks' offsets
    are."""
    queries, lengths, redactions = load_golden(golden), _document_lengths(plan), _redactions(plan.documents_path)
    originals = {doc: original_length(n, redactions[doc]) if doc in redactions else n for doc, n in lengths.items()}
    check_spans(queries, originals)
    return queries, originals


def _redactions(documents: Path) -> dict[str, list[Replacement]]:
    """The placeholders of each redacted document of a documents table (none for a table written
    before the guardrails)."""
    if "redactions" not in pq.read_schema(documents).names:
        return {}
    out = {}
    for batch in pq.ParquetFile(documents).iter_batches(batch_size=256, columns=["doc_id", "redactions"]):
        for doc, reps in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
            if reps:
                out[doc] = [Replacement(*r) for r in reps]
    return out


def in_stored_offsets(queries: list[GoldenQuery], redactions: dict[str, list[Replacement]]) -> list[GoldenQuery]:
    """``queries`` (original offsets) with each span in a redacted document mapped into its
    stored text (:func:`~indexgate.guardrails.to_redacted`)."""
    if not redactions:
        return queries
    return [replace(q, relevant=tuple(replace(sp, **dict(zip(("start", "end"), to_redacted(redactions[sp.doc_id],
                                                                                            sp.start, sp.end))))
                                      if sp.doc_id in redactions else sp for sp in q.relevant))
            for q in queries]


def score(res: Resources, plan: Plan, golden: str) -> EvalResult:
    """Score the collection of this plan on a golden set at the configured k."""
    queries, _ = _golden(plan, golden)
    queries = in_stored_offsets(queries, _redactions(plan.documents_path))
    return evaluate(res.store, plan.collection, res.embedder, queries, res.settings.gates.k,
                    SpanIndex.from_parquet(plan.chunks_path), groups=caller_groups(res.settings, None))


def score_live(res: Resources, plan: Plan, queries: list[GoldenQuery],
               depth: int | None = None) -> tuple[EvalResult | None, str | None]:
    """Score the version that was live when this run started on the same queries, in this run.

    Returns (result, None), or (None, why it cannot be scored); (None, None) when nothing is live."""
    if plan.live is None:
        return None, None
    manifest = res.registry.load(plan.alias, plan.live)
    chunks = res.registry.version_dir(plan.alias, plan.live) / "chunks.parquet"
    collection = collection_name(plan.alias, plan.live)
    if manifest is None or not chunks.is_file():
        return None, f"live version {plan.live} has no manifest or chunks table under {chunks.parent}"
    embedder, problem = _live_embedder(res, manifest)
    if problem:
        return None, problem
    if not res.store.exists(collection):
        return None, f"live collection {collection} does not exist"
    # The live version's own stored offsets (its guardrails policy may differ from this one's).
    documents = chunks.with_name("documents.parquet")
    if documents.is_file():
        queries = in_stored_offsets(queries, _redactions(documents))
    return evaluate(res.store, collection, embedder, queries, res.settings.gates.k,
                    SpanIndex.from_parquet(chunks), depth=depth, groups=caller_groups(res.settings, None)), None


def _live_embedder(res: Resources, manifest: Manifest) -> tuple[Embedder | None, str | None]:
    """The embedder whose vectors the live version holds.

    That is this run's, or, after a model change, the live version's own. The live version's own
    is loaded from the config its manifest recorded. It is accepted only if its fingerprint is the
    recorded one. Returns (embedder, None) or (None, why not)."""
    if manifest.embedder.get("id") == res.embedder.fingerprint.id:
        return res.embedder, None
    try:
        embedder = pinned_embedder(res.settings, manifest.embedder)
    except EmbedderMismatch as exc:
        return None, f"live version {manifest.version} was embedded by another model, {exc}"
    log.info("scoring live version %s with its own embedder %s", manifest.version, manifest.embedder.get("model"))
    return embedder, None


def check_relevance(res: Resources, plan: Plan, golden: str) -> list[GateResult]:
    """Golden-set relevance of the shadow (absolute thresholds), no regression against the live
    version scored in the same run (paired test), and the golden-set audit."""
    config = res.settings.gates
    queries, lengths = _golden(plan, golden)
    depth = config.audit.depth if config.mode("audit") != "off" else None
    stored = in_stored_offsets(queries, _redactions(plan.documents_path))
    shadow = evaluate(res.store, plan.collection, res.embedder, stored, config.k,
                      SpanIndex.from_parquet(plan.chunks_path), depth=depth,
                      groups=caller_groups(res.settings, None))
    gates = gate_checks.relevance(shadow, config)
    live, problem = None, None
    if config.mode("regression") != "off" or depth:
        live, problem = score_live(res, plan, queries, depth)
    comparisons = []
    if config.mode("regression") != "off":
        if live is not None:
            comparisons = compare_results(live, shadow, config.regression.metrics, config.regression.test,
                                          config.regression.confidence, config.regression.resamples)
        gates += gate_checks.regression(comparisons, config.regression, config.k, plan.live, problem)
    suspects = []
    if depth:
        manifest = res.registry.load(plan.alias, plan.version)
        suspects = audit_golden(queries, lengths, {d["doc_id"] for d in manifest.documents},
                                {q["doc_id"]: q["reason"] for q in manifest.quarantined}, shadow, live, depth)
        gates += gate_checks.audit(suspects, len(queries))
    # Evidence its own query may not read: the query can never be answered as asked.
    manifest = res.registry.load(plan.alias, plan.version)
    hidden = unreadable_evidence(queries, manifest.documents, caller_groups(res.settings, None))
    gates.append(gate_checks.access_evidence(hidden, len(queries)))
    live_record = {"version": plan.live, "problem": problem, **(live.as_dict() if live else {})}
    update_manifest(res, plan, metrics=shadow.as_dict(), timings={"evaluate_s": round(shadow.seconds, 3)},
            quality={"live": live_record, "comparisons": [c.as_dict() for c in comparisons],
                     "audit": [s.as_dict() for s in suspects], "access_audit": hidden})
    return gates


def check_latency(res: Resources, plan: Plan, golden: str) -> list[GateResult]:
    """p50/p95 query latency of the shadow over the golden queries, against the budget."""
    config = res.settings.gates
    if config.mode("latency") == "off":
        update_manifest(res, plan, quality={"latency": None})
        return []
    stats = measure_latency(res.store, plan.collection, res.embedder, load_golden(golden), config.k)
    update_manifest(res, plan, quality={"latency": stats.as_dict()})
    return gate_checks.latency(stats, config.latency)


# The gate families :func:`validate` times, in its order (``relevance`` includes the regression
# test against the live version and the golden-set audit).
GATE_FAMILIES = ("integrity", "access", "guardrails", "quarantine", "quality", "relevance", "latency")


def validate(res: Resources, plan: Plan, golden: str | None = None) -> list[GateResult]:
    """Every gate of the shadow before the decision:

    - integrity, read back from the store, and the access labels;
    - the guardrails;
    - the quarantine share;
    - the data-quality suites;
    - with a golden set: relevance (with the regression test against the live version and the
      golden-set audit) and query latency.

    The integrity, access and guardrails gates read the stored payloads back once, together
    (:func:`_stored_gates`): at 10,000 documents each read costs about as much as its gate.
    Records the seconds of each family in the manifest's ``timings`` as ``gates_<family>_s``
    (:data:`GATE_FAMILIES`). ``gates_quality_s`` is the wait for the suites, which mostly ran
    beside the build (``quality_s`` is that wait alone, as before)."""
    families: list[tuple[str, Callable[..., list[GateResult]]]] = [
        ("integrity", _stored_integrity), ("access", check_access), ("guardrails", check_guardrails),
        ("quarantine", check_quarantine), ("quality", check_quality)]
    if golden:
        families += [("relevance", partial(check_relevance, golden=golden)),
                     ("latency", partial(check_latency, golden=golden))]
    gates: list[GateResult] = []
    timings: dict[str, float] = {}
    started = time.perf_counter()
    stored, stored_s = _stored_gates(res, plan)
    # What reading the payloads once did not cover (the readers' own setup) counts to integrity.
    stored_s["integrity"] = stored_s.get("integrity", 0.0) + (time.perf_counter() - started) - sum(stored_s.values())
    for family, check in families:
        started = time.perf_counter()
        gates += stored[family] if family in stored else check(res, plan)
        timings[f"gates_{family}_s"] = round(time.perf_counter() - started + stored_s.get(family, 0.0), 3)
    update_manifest(res, plan, timings=timings)
    return gates

