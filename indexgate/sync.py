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
from indexgate.evaluation.evaluate import EvalResult
from indexgate.models import GateResult, Snapshot
from indexgate.parsing.corpus import parse_snapshot
from indexgate.promotion import live_version, promote
from indexgate.recovery import expected_ids, verify_shadow
from indexgate.registry import Manifest
from indexgate.resources import Resources
from indexgate.settings import Settings
from indexgate.sources import open_source
from indexgate.store.load import load_chunks
from indexgate.testhook import checkpoint
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
    """How a sync ended: promoted, rejected (alias left where it was), rolled back (promoted, then
    moved back because the smoke check through the alias failed), or unchanged."""

    alias: str
    version: str
    action: Literal["promoted", "rejected", "rolled_back", "unchanged"]
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
    checkpoint("plan")
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
    """Create the shadow collection (if needed) and upsert every chunk into it. A shadow left by
    an interrupted run is read back first: if it matches the chunks table (see
    :func:`indexgate.recovery.verify_shadow`) only the points it lacks are upserted, otherwise it
    is dropped and rebuilt."""
    started = time.perf_counter()
    present: frozenset[str] = frozenset()
    if res.store.exists(plan.collection):
        check = verify_shadow(res.store, plan.collection, expected_ids(plan.chunks_path), res.embedder.dimension)
        if check.ok:
            present = check.present
        else:
            log.warning("dropping shadow %s: it does not match its chunks table (%s)", plan.collection, check.reason)
            res.store.drop(plan.collection)
    res.store.create(plan.collection, res.embedder.dimension)
    written = load_chunks(res.store, plan.collection, plan.chunks_path, res.cache, plan.version,
                          batch=res.settings.batch_size, skip=present)
    _update(res, plan, counts={"points_written": written, "points_resumed": len(present)},
            timings={"load_s": round(time.perf_counter() - started, 3)})
    return written


def check_integrity(res: Resources, plan: Plan) -> list[GateResult]:
    return gate_checks.integrity(res.store, plan.collection, plan.chunks_path, res.embedder.dimension)


def score(res: Resources, plan: Plan, golden: str) -> EvalResult:
    """Score the collection of this plan on a golden set at the configured k."""
    queries = load_golden(golden)
    return evaluate(res.store, plan.collection, res.embedder, queries, res.settings.gates.k,
                    SpanIndex.from_parquet(plan.chunks_path))


def check_relevance(res: Resources, plan: Plan, golden: str) -> list[GateResult]:
    result = score(res, plan, golden)
    _update(res, plan, metrics=result.as_dict(), timings={"evaluate_s": round(result.seconds, 3)})
    return gate_checks.relevance(result, res.settings.gates)


def conclude(res: Resources, plan: Plan, gates: list[GateResult], by: str) -> Outcome:
    """Promote when every blocking gate passed and the alias still serves ``plan.live``;
    otherwise leave the alias where it is and record why. The shadow is kept either way."""
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
    manifest = _update(res, plan, gates=table, decision={"action": action, "reason": reason, "by": by})
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
