"""The steps of one sync, as plain functions over :class:`Resources` and a :class:`Plan`.

Every step is idempotent: its outputs are keyed by the version id, which is derived from the
inputs, so running a step again (after a crash, or in a rerun) rewrites the same files and
upserts the same points. Nothing here writes to the live collection or moves an alias, except
:func:`conclude`, which promotes through :mod:`indexgate.promotion`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from indexgate import gates as gate_checks
from indexgate.chunking.corpus import chunk_table
from indexgate.embedding.batch import embed_chunks
from indexgate.errors import AliasConflict
from indexgate.evaluation import SpanIndex, evaluate, load_golden
from indexgate.evaluation.audit import audit_golden
from indexgate.evaluation.compare import compare_results
from indexgate.evaluation.evaluate import EvalResult
from indexgate.evaluation.golden import GoldenQuery
from indexgate.evaluation.latency import measure_latency
from indexgate.models import GateResult, Snapshot
from indexgate.parsing.corpus import iter_documents, parse_snapshot
from indexgate.quality import validate_version
from indexgate.promotion import live_version, promote
from indexgate.registry import Manifest
from indexgate.resources import Resources
from indexgate.settings import Settings
from indexgate.sources import open_source
from indexgate.store.load import load_chunks
from indexgate.versioning import collection_name, validate_alias, version_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What this run will build, decided before any work: the version id and where it goes."""

    alias: str
    version: str
    collection: str
    live: str | None
    action: Literal["noop", "build"]
    workdir: str

    @property
    def documents_path(self) -> Path:
        return Path(self.workdir) / "documents.parquet"

    @property
    def chunks_path(self) -> Path:
        return Path(self.workdir) / "chunks.parquet"


@dataclass(frozen=True)
class Outcome:
    """How a sync ended: promoted, rejected (alias left where it was), or unchanged."""

    alias: str
    version: str
    action: Literal["promoted", "rejected", "unchanged"]
    reason: str
    live: str | None
    gates: list[dict] = field(default_factory=list)


def snapshot(source: str) -> Snapshot:
    return open_source(source).snapshot()


def plan(res: Resources, alias: str, snap: Snapshot) -> Plan:
    """Derive the version id and compare it with what the alias serves (read from the store).

    Starts (or resumes) the version's manifest in state ``building`` unless it is already live.
    """
    validate_alias(alias)
    version = version_id(snap.hash, res.chunker.fingerprint, res.embedder.fingerprint.id)
    live = live_version(res.store, alias)
    workdir = res.registry.version_dir(alias, version)
    if version == live:
        log.info("version %s of %s is already live: nothing to do", version, alias)
        return Plan(alias, version, collection_name(alias, version), live, "noop", str(workdir))
    manifest = res.registry.load(alias, version)
    if manifest is None:
        manifest = Manifest(
            alias=alias, version=version, collection=collection_name(alias, version), source=snap.source,
            snapshot_hash=snap.hash, chunker=res.chunker.describe(), embedder=res.embedder.fingerprint.as_dict(),
            documents=[{"doc_id": o.doc_id, "content_hash": o.content_hash, "size": o.size, "mime": o.mime,
                        "modified": o.modified} for o in snap.objects],
        )
    else:
        log.info("resuming version %s of %s (was %s)", version, alias, manifest.state)
    manifest.state = "building"
    res.registry.save(manifest)
    return Plan(alias, version, collection_name(alias, version), live, "build", str(workdir))


def _update(res: Resources, plan: Plan, **fields) -> Manifest:
    manifest = res.registry.load(plan.alias, plan.version)
    for key, value in fields.items():
        current = getattr(manifest, key)
        setattr(manifest, key, {**current, **value} if isinstance(current, dict) else value)
    return res.registry.save(manifest)


def parse(res: Resources, plan: Plan, source: str, snap: Snapshot) -> dict:
    started = time.perf_counter()
    result = parse_snapshot(open_source(source), snap, plan.documents_path)
    quarantined = [asdict(q) for q in result.quarantined]
    _update(res, plan, quarantined=quarantined,
            counts={"objects": len(snap.objects), "documents": result.documents, "quarantined": len(quarantined)},
            timings={"parse_s": round(time.perf_counter() - started, 3)})
    return {"documents": result.documents, "characters": result.characters, "quarantined": quarantined}


def chunk(res: Resources, plan: Plan) -> dict:
    started = time.perf_counter()
    stats = chunk_table(plan.documents_path, res.chunker, plan.chunks_path, batch=res.settings.batch_size)
    _update(res, plan, counts={"chunks": stats.chunks, "chunk_tokens": stats.tokens},
            timings={"chunk_s": round(time.perf_counter() - started, 3)})
    return asdict(stats)


def embed(res: Resources, plan: Plan) -> dict:
    stats = embed_chunks(plan.chunks_path, res.embedder, res.cache, batch=res.settings.batch_size)
    _update(res, plan, embedding=stats.as_dict(), timings={"embed_s": round(stats.seconds, 3)})
    return stats.as_dict()


def load(res: Resources, plan: Plan) -> int:
    """Create the shadow collection (if needed) and upsert every chunk into it."""
    started = time.perf_counter()
    res.store.create(plan.collection, res.embedder.dimension)
    written = load_chunks(res.store, plan.collection, plan.chunks_path, res.cache, plan.version,
                          batch=res.settings.batch_size)
    _update(res, plan, counts={"points_written": written}, timings={"load_s": round(time.perf_counter() - started, 3)})
    return written


def check_quality(res: Resources, plan: Plan) -> list[GateResult]:
    """Great Expectations suites on the version's documents, chunks and embeddings; their Data
    Docs go to the version's work folder."""
    if res.settings.gates.mode("quality") == "off":
        _update(res, plan, quality={"suites": {}})  # a rerun must not show an earlier run's checks
        return []
    result = validate_version(plan.documents_path, plan.chunks_path, res.cache, dimension=res.embedder.dimension,
                              normalized=res.embedder.fingerprint.normalize,
                              max_tokens=res.embedder.tokenizer.max_tokens, config=res.settings.gates.quality,
                              folder=Path(plan.workdir))
    _update(res, plan, quality={"suites": result.as_dict()}, timings={"quality_s": round(result.seconds, 3)})
    return result.gates()


def check_integrity(res: Resources, plan: Plan) -> list[GateResult]:
    return gate_checks.integrity(res.store, plan.collection, plan.chunks_path, res.embedder.dimension,
                                 documents=plan.documents_path, version=plan.version)


def score(res: Resources, plan: Plan, golden: str) -> EvalResult:
    """Score the collection of this plan on a golden set at the configured k."""
    queries = load_golden(golden)
    return evaluate(res.store, plan.collection, res.embedder, queries, res.settings.gates.k,
                    SpanIndex.from_parquet(plan.chunks_path))


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
    if manifest.embedder.get("id") != res.embedder.fingerprint.id:
        return None, (f"live version {plan.live} was embedded by another model ({manifest.embedder.get('model')},"
                      f" fingerprint {manifest.embedder.get('id')}): this run's query vectors cannot search it")
    if not res.store.exists(collection):
        return None, f"live collection {collection} does not exist"
    return evaluate(res.store, collection, res.embedder, queries, res.settings.gates.k,
                    SpanIndex.from_parquet(chunks), depth=depth), None


def check_relevance(res: Resources, plan: Plan, golden: str) -> list[GateResult]:
    """Golden-set relevance of the shadow (absolute thresholds), no regression against the live
    version scored in the same run (paired test), and the golden-set audit."""
    config = res.settings.gates
    queries = load_golden(golden)
    depth = config.audit.depth if config.mode("audit") != "off" else None
    shadow = evaluate(res.store, plan.collection, res.embedder, queries, config.k,
                      SpanIndex.from_parquet(plan.chunks_path), depth=depth)
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
        lengths = {d["doc_id"]: len(d["text"]) for d in iter_documents(plan.documents_path)}
        suspects = audit_golden(queries, lengths, {d["doc_id"] for d in manifest.documents},
                                {q["doc_id"]: q["reason"] for q in manifest.quarantined}, shadow, live, depth)
        gates += gate_checks.audit(suspects, len(queries))
    live_record = {"version": plan.live, "problem": problem, **(live.as_dict() if live else {})}
    _update(res, plan, metrics=shadow.as_dict(), timings={"evaluate_s": round(shadow.seconds, 3)},
            quality={"live": live_record, "comparisons": [c.as_dict() for c in comparisons],
                     "audit": [s.as_dict() for s in suspects]})
    return gates


def check_latency(res: Resources, plan: Plan, golden: str) -> list[GateResult]:
    """p50/p95 query latency of the shadow over the golden queries, against the budget."""
    config = res.settings.gates
    if config.mode("latency") == "off":
        _update(res, plan, quality={"latency": None})
        return []
    stats = measure_latency(res.store, plan.collection, res.embedder, load_golden(golden), config.k)
    _update(res, plan, quality={"latency": stats.as_dict()})
    return gate_checks.latency(stats, config.latency)


def conclude(res: Resources, plan: Plan, gates: list[GateResult], by: str) -> Outcome:
    """Promote when every blocking gate passed and the alias still serves ``plan.live``;
    otherwise leave the alias where it is and record why. The shadow is kept either way.

    The policy (``settings.gates.modes``) decides which gates block, which only warn, and
    which are left out, before the decision is made."""
    gates = gate_checks.apply_policy(gates, res.settings.gates)
    decision = gate_checks.decide(gates)
    table = [asdict(g) for g in gates]
    action, reason, live = "rejected", decision.reason, plan.live
    if decision.promote:
        try:
            promote(res.store, res.registry, plan.alias, plan.version, plan.live, by=by, reason=decision.reason)
            action, live = "promoted", plan.version
        except AliasConflict as exc:
            reason = str(exc)
            live = live_version(res.store, plan.alias)
    manifest = _update(res, plan, gates=table, decision={"action": action, "reason": reason, "by": by},
                       quality={"baseline": plan.live})
    if action == "rejected":
        manifest.state = "rejected" if not decision.promote else "built"
        res.registry.save(manifest)
    log.info("%s: version %s of %s (%s)", action, plan.version, plan.alias, reason)
    return Outcome(plan.alias, plan.version, action, reason, live, table)


def unchanged(res: Resources, plan: Plan) -> Outcome:
    reason = f"source unchanged: version {plan.version} is already live; nothing embedded, no new collection"
    return Outcome(plan.alias, plan.version, "unchanged", reason, plan.live)


# -- scratch builds (evaluation): a throw-away index that no alias ever points at ------------

def scratch_settings(settings: Settings) -> Settings:
    """Settings for a throw-away build: manifests and embedded Qdrant in a new temporary folder,
    the embedding cache shared with ``settings`` (so nothing is embedded twice)."""
    home = Path(tempfile.mkdtemp(prefix="indexgate-scratch-"))
    return settings.model_copy(update={"home": home, "qdrant_path": home / "qdrant",
                                       "cache_dir": settings.embedding_cache_dir})


def scratch_alias() -> str:
    return f"scratch-{uuid.uuid4().hex[:12]}"


def scratch_report(res: Resources, plan: Plan, result: EvalResult) -> dict:
    manifest = res.registry.load(plan.alias, plan.version)
    return {**result.as_dict(), "chunking": manifest.chunker, "embedder": manifest.embedder,
            "counts": manifest.counts, "embedding": manifest.embedding}


def discard_scratch(res: Resources) -> None:
    """Drop every collection of a scratch build and delete its folder. Refuses other settings."""
    home = res.settings.home
    if not home.name.startswith("indexgate-scratch-"):
        raise ValueError(f"{home} is not a scratch folder; refusing to delete it")
    for alias in res.registry.aliases():
        for manifest in res.registry.versions(alias):
            res.store.drop(manifest.collection)
    shutil.rmtree(home, ignore_errors=True)
