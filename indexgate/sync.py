"""The steps of one sync, as plain functions over :class:`Resources` and a :class:`Plan`.

Every step is idempotent: its outputs are keyed by the version id, which is derived from the
inputs, so running a step again (after a crash, or in a rerun) rewrites the same files and
upserts the same points. Nothing here writes to the live collection or moves an alias, except
:func:`conclude`, which promotes through :mod:`indexgate.lifecycle.promotion`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import pyarrow.compute as pc
import pyarrow.parquet as pq

from indexgate import gates as gate_checks
from indexgate.access import caller_groups, group_counts, label_snapshot, relabelled, unreadable_evidence
from indexgate.sources.changes import check_deletions, diff
from indexgate.chunking.corpus import SCHEMA as CHUNKS_SCHEMA
from indexgate.chunking.corpus import chunk_table
from indexgate.embedding import Embedder
from indexgate.embedding.batch import BatchResult, EmbeddingPlan, EmbedStats, embed_chunks, plan_batches
from indexgate.errors import AliasConflict, BudgetHeld, EmbedderMismatch, EmbeddingError, EmptySource
from indexgate.evaluation import SpanIndex, evaluate, load_golden
from indexgate.evaluation.audit import audit_golden
from indexgate.evaluation.compare import compare_results
from indexgate.evaluation.evaluate import EvalResult
from indexgate.evaluation.golden import GoldenQuery, check_spans
from indexgate.evaluation.latency import measure_latency
from indexgate.guardrails import EmbeddingBudget, Replacement, check_budget, original_length, to_redacted
from indexgate.guardrails.budget import CONFIRM_FLAG
from indexgate.lifecycle.holds import check_not_held
from indexgate.models import GateResult, Snapshot
from indexgate.parsing import PARSER_VERSION
from indexgate.parsing.corpus import SCHEMA as DOCUMENTS_SCHEMA
from indexgate.parsing.corpus import parse_snapshot
from indexgate.quality import start_validation, validate_version
from indexgate.quality import warm_up as warm_up_quality
from indexgate.preflight import check_state_outside_source
from indexgate.lifecycle.promotion import live_version, promote
from indexgate.lifecycle.recovery import expected_ids, verify_shadow
from indexgate.lifecycle.registry import Manifest
from indexgate.reporting.summary import embedding_accounting
from indexgate.resources import Resources, models_loaded, pinned_embedder
from indexgate.sources.reuse import carry_rows, content_hashes, doc_ids
from indexgate.settings import Settings
from indexgate.sources import Spool, open_source
from indexgate.store.load import copy_unchanged, load_chunks
from indexgate.testhook import checkpoint
from indexgate.lifecycle.versioning import collection_name, validate_alias, version_id

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
    # The live version this one was diffed against (None: no live version, or its manifest is
    # gone), and the counts of that diff.
    base: str | None = None
    changes: dict = field(default_factory=dict)

    @property
    def documents_path(self) -> Path:
        return Path(self.workdir) / "documents.parquet"

    @property
    def chunks_path(self) -> Path:
        return Path(self.workdir) / "chunks.parquet"

    @property
    def parsed_path(self) -> Path:
        """Documents parsed by this run when others were carried from the base (else absent)."""
        return Path(self.workdir) / "parsed.parquet"


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
    # added/changed/unchanged/deleted documents against the version that was live (see Plan).
    changes: dict = field(default_factory=dict)


def snapshot(source: str, settings: Settings | None = None) -> Snapshot:
    """List (and hash) the source; with settings, by its source config, spooling downloads.
    With settings, a state folder inside a folder source is refused (ConfigError): the snapshot
    would hold the run's own reports, and differ at every sync. Every object is labelled with
    the groups that may read it (:mod:`indexgate.access`)."""
    if settings is None:
        opened = open_source(source)
        return label_snapshot(opened.snapshot(), opened, None)
    check_state_outside_source(settings.home, source)
    opened = open_source(source, settings.source, settings.spool_folder)
    return label_snapshot(opened.snapshot(), opened, settings.access)


def plan(res: Resources, alias: str, snap: Snapshot, allow_mass_delete: bool = False,
         allow_empty: bool = False) -> Plan:
    """Derive the version id, compare it with what the alias serves (read from the store), and
    diff the snapshot against the live version's documents.

    Raises, before anything is written: :class:`~indexgate.errors.MassDeleteHeld` when the sync
    would delete more than ``gates.max_delete_share`` of the live documents and
    ``allow_mass_delete`` is false; :class:`~indexgate.errors.VersionHeld` when the version is
    one an operator rolled back from and has not released (:mod:`indexgate.lifecycle.holds`);
    :class:`~indexgate.errors.EmptySource` when the alias serves nothing, the source holds no
    document, and neither ``allow_empty`` nor ``lifecycle.allow_empty`` allows an empty index.
    Otherwise starts (or resumes) the version's manifest in state ``building`` unless it is
    already live.
    """
    validate_alias(alias)
    version = version_id(snap.hash, res.chunker.fingerprint, res.embedder.fingerprint.id, PARSER_VERSION,
                         guardrails=res.settings.guardrails.fingerprint)
    live = live_version(res.store, alias)
    workdir = res.registry.version_dir(alias, version)
    collection = collection_name(alias, version)
    if version == live:
        log.info("version %s of %s is already live: nothing to do", version, alias)
        changes = {"base": live, "added": 0, "changed": 0, "unchanged": len(snap.objects), "deleted": 0,
                   "relabelled": 0}
        return Plan(alias, version, collection, live, "noop", str(workdir), live, changes)
    check_not_held(res.registry, alias, version)
    if live is None and not snap.objects and not (allow_empty or res.settings.lifecycle.allow_empty):
        refused = f" ({len(snap.refused)} files refused while listing)" if snap.refused else ""
        raise EmptySource(
            f"sync refused: source {snap.source} holds no documents{refused} and alias {alias!r} serves"
            f" nothing yet, so it would go live with an empty index; nothing was built. If an empty index"
            f" is intended, run: indexgate sync --source {snap.source} --alias {alias} --allow-empty"
            f" (or set INDEXGATE_LIFECYCLE__ALLOW_EMPTY=true)")
    base = res.registry.load(alias, live) if live else None
    if live and base is None:
        log.warning("live version %s of %s has no manifest: every document counts as added", live, alias)
    changes = diff(snap, base.version if base else None, base.documents if base else ())
    counts = changes.counts()
    # Same content, other groups: its own kind of change (re-labelled, never re-embedded).
    counts["relabelled"] = len(relabelled(snap, base.documents if base else ()))
    counts["unchanged"] -= counts["relabelled"]
    if live:
        check_deletions(changes, len(base.documents) if base else None, len(snap.objects),
                        res.settings.gates.max_delete_share, allow_mass_delete,
                        confirm=f"indexgate sync --source {snap.source} --alias {alias} --allow-mass-delete")
    manifest = res.registry.load(alias, version)
    if manifest is None:
        manifest = Manifest(
            alias=alias, version=version, collection=collection, source=snap.source,
            snapshot_hash=snap.hash, chunker=res.chunker.describe(),
            # The config too, so a later version built by another model can load this one's to
            # embed the golden queries for the regression gate (see score_live).
            embedder={**res.embedder.fingerprint.as_dict(), "config": res.settings.embedder.model_dump(mode="json")},
            parser_version=PARSER_VERSION,
            guardrails={"policy": res.settings.guardrails.fingerprint},
            documents=[{"doc_id": o.doc_id, "content_hash": o.content_hash, "size": o.size, "mime": o.mime,
                        "modified": o.modified, "groups": list(o.groups),
                        **({"etag": o.etag} if o.etag else {})} for o in snap.objects],
        )
    else:
        log.info("resuming version %s of %s (was %s)", version, alias, manifest.state)
    manifest.state = "building"
    manifest.changes = counts
    res.registry.save(manifest)
    if _quality_on(res):
        warm_up_quality()  # Great Expectations' imports overlap parsing, chunking and embedding
    log.info("%s against %s: %s", alias, changes.base or "nothing",
             ", ".join(f"{k} {v}" for k, v in counts.items() if k != "base"))
    checkpoint("plan")
    return Plan(alias, version, collection, live, "build", str(workdir), changes.base, counts)


def _update(res: Resources, plan: Plan, **fields) -> Manifest:
    manifest = res.registry.load(plan.alias, plan.version)
    for key, value in fields.items():
        current = getattr(manifest, key)
        setattr(manifest, key, {**current, **value} if isinstance(current, dict) else value)
    return res.registry.save(manifest)


def _base_table(res: Resources, plan: Plan, name: str) -> Path | None:
    """A table of the base version that this build may carry rows from, or None: the base must
    have been parsed by the same parser version (and the table must exist)."""
    if plan.base is None:
        return None
    base = res.registry.load(plan.alias, plan.base)
    path = res.registry.version_dir(plan.alias, plan.base) / name
    if base is None or base.parser_version != PARSER_VERSION or not path.is_file():
        return None
    # Its stored text was guarded by another policy (or none): parse again, never carry it.
    if base.guardrails.get("policy") != res.settings.guardrails.fingerprint:
        return None
    if name == "chunks.parquet" and base.chunker.get("fingerprint") != res.chunker.fingerprint:
        return None
    return path


def parse(res: Resources, plan: Plan, source: str, snap: Snapshot) -> dict:
    """Write the version's documents table. Documents whose content hash equals their row in the
    base version's table are carried from it; only the others are read and parsed (in a worker
    process under the configured time and memory limits)."""
    started = time.perf_counter()
    config = res.settings
    base = _base_table(res, plan, "documents.parquet")
    carry: dict[str, dict] = {}
    if base is not None:
        before = content_hashes(base)
        carry = {o.doc_id: {"uri": o.uri, "size": o.size, "modified": o.modified, "mime": o.mime}
                 for o in snap.objects if before.get(o.doc_id) == o.content_hash}
    todo = replace(snap, objects=tuple(o for o in snap.objects if o.doc_id not in carry))
    result = parse_snapshot(open_source(source, config.source, config.spool_folder), todo,
                            plan.parsed_path if carry else plan.documents_path, limits=config.parsing,
                            spool=Spool(config.spool_folder, config.source.spool_max_bytes),
                            max_chars=config.gates.quality.max_document_chars, guardrails=config.guardrails)
    if carry:
        carry_rows(base, carry, plan.parsed_path, plan.documents_path, DOCUMENTS_SCHEMA)
    else:
        plan.parsed_path.unlink(missing_ok=True)  # a stale one would make chunk() carry chunks
    quarantined = [asdict(q) for q in result.quarantined]  # the snapshot's refusals included
    documents = result.documents + len(carry)
    guarded = result.guarded
    if carry:  # the carried documents' findings, as the base (same policy) recorded them
        base_record = res.registry.load(plan.alias, plan.base).guardrails
        guarded = [d for d in base_record.get("documents", []) if d["path"] in carry] + guarded
    _update(res, plan, guardrails=guardrails_record(config.guardrails.fingerprint, guarded),
            quarantined=quarantined,
            counts={"objects": len(snap.objects) + len(snap.refused), "documents": documents,
                    "quarantined": len(quarantined)},
            changes={"documents_parsed": len(todo.objects), "documents_carried": len(carry)},
            timings={"parse_s": round(time.perf_counter() - started, 3)})
    _start_quality(res, plan, "documents")
    return {"documents": documents, "characters": result.characters, "quarantined": quarantined,
            "parsed": len(todo.objects), "carried": len(carry)}


def guardrails_record(policy: str, documents: list[dict]) -> dict:
    """The manifest's guardrails record: the policy's fingerprint, the findings of each document
    that had any (:meth:`GuardReport.as_dict`), and their totals per detector and action, and per
    outcome. Counts and names only, never a detected value."""
    totals: dict[str, dict[str, int]] = {}
    outcomes: dict[str, int] = {}
    for doc in documents:
        outcomes[doc["outcome"]] = outcomes.get(doc["outcome"], 0) + 1
        for c in doc["counts"]:
            per = totals.setdefault(c["detector"], {})
            per[c["action"]] = per.get(c["action"], 0) + c["count"]
    return {"policy": policy, "totals": totals, "outcomes": outcomes, "documents": documents}


def chunk(res: Resources, plan: Plan, confirm_budget: bool = False) -> dict:
    """Write the version's chunks table. When the parse step carried documents from the base and
    the chunker fingerprint is the base's, their chunk rows are carried too (identical by
    construction, ids included); only the documents parsed in this run are chunked. The stats
    say how many distinct chunk texts the embedding cache lacks (``uncached``): how big the
    embedding step will be.

    Then the embedding budget (``guardrails.budget``): the texts and tokens the cache lacks are
    estimated and recorded (manifest ``embedding.estimate``); above a limit, and unless
    ``confirm_budget``, :class:`~indexgate.errors.BudgetHeld` stops the sync before embedding, with
    the estimate and the command that confirms it."""
    started = time.perf_counter()
    base = _base_table(res, plan, "chunks.parquet")
    carried_docs = doc_ids(plan.documents_path) - doc_ids(plan.parsed_path) if plan.parsed_path.is_file() else set()
    carried = 0
    if base is not None and carried_docs:
        fresh = plan.chunks_path.with_name("chunks.fresh.parquet")
        chunk_table(plan.parsed_path, res.chunker, fresh, batch=res.settings.batch_size)
        carried = carry_rows(base, dict.fromkeys(carried_docs, {}), fresh, plan.chunks_path, CHUNKS_SCHEMA,
                             batch=res.settings.batch_size)
        fresh.unlink()
    else:
        chunk_table(plan.documents_path, res.chunker, plan.chunks_path, batch=res.settings.batch_size)
    table = pq.read_table(plan.chunks_path, columns=["n_tokens", "text_hash"])
    tokens = table.column("n_tokens")
    res.cache.refresh()  # vectors other processes (embedding workers) cached meanwhile
    missing = set(res.cache.missing(table.column("text_hash").to_pylist()))
    uncached = len(missing)
    # Tokens of each distinct text the cache lacks (a text embeds once, however many chunks share it).
    todo = dict(zip(table.column("text_hash").to_pylist(), tokens.to_pylist()))
    uncached_tokens = sum(int(n or 0) for h, n in todo.items() if h in missing)
    decision = check_budget(uncached, uncached_tokens, _budget(res.settings),
                            command=f"indexgate sync --source {res.registry.load(plan.alias, plan.version).source}"
                                    f" --alias {plan.alias} {CONFIRM_FLAG}")
    stats = {"chunks": len(tokens), "tokens": int(pc.sum(tokens).as_py() or 0), "carried": carried,
             "uncached": uncached, "uncached_tokens": uncached_tokens, "estimated_cost": round(decision.cost, 6)}
    estimate = {"texts": uncached, "tokens": uncached_tokens, "cost": round(decision.cost, 6),
                "held": decision.held and not confirm_budget, "confirmed": decision.held and confirm_budget}
    _update(res, plan, counts={"chunks": stats["chunks"], "chunk_tokens": stats["tokens"]},
            changes={"chunks_carried": carried}, embedding={"estimate": estimate},
            timings={"chunk_s": round(time.perf_counter() - started, 3)})
    if decision.held and not confirm_budget:
        raise BudgetHeld(decision.message)
    if decision.held:
        log.warning("budget exceeded, confirmed with %s: %s", CONFIRM_FLAG, decision.message)
    _start_quality(res, plan, "chunks")
    return stats


def _budget(settings: Settings) -> EmbeddingBudget:
    """The embedding budget, priced at the report's price unless the budget names its own."""
    budget = settings.guardrails.budget
    if budget.price_per_million_tokens:
        return budget
    return budget.model_copy(update={"price_per_million_tokens": settings.report.price_per_million_tokens})


def embed(res: Resources, plan: Plan) -> dict:
    """Embed, in this process, every chunk whose text the cache lacks (see :func:`plan_embedding`
    for the same work fanned out); then start the embeddings quality suite in the worker."""
    stats = embed_chunks(plan.chunks_path, res.embedder, res.cache, batch=res.settings.batch_size)
    for worker in (stats.workers or {}).values():  # this process: as the fan-out's tasks report it
        worker["models_loaded"] = models_loaded()
    _update(res, plan, embedding=_accounted(res, stats), timings={"embed_s": round(stats.seconds, 3)})
    _start_quality(res, plan, "embeddings")
    return stats.as_dict()


def _accounted(res: Resources, stats: EmbedStats) -> dict:
    """The embedding stats with their estimated cost, priced as the report prices it."""
    return {**stats.as_dict(), "estimated_cost": embedding_accounting(
        stats.as_dict(), res.settings.report.price_per_million_tokens)["estimated_cost"]}


def plan_embedding(res: Resources, plan: Plan) -> EmbeddingPlan:
    """The batches of the version's chunks whose texts the cache lacks (``settings.batch_size``
    texts each; none when everything is cached), for :func:`indexgate.embedding.batch.embed_batch`
    to run wherever the model and the cache folder are; then :func:`record_embedding`."""
    res.cache.refresh()
    return plan_batches(plan.chunks_path, res.cache, res.settings.batch_size)


def record_embedding(res: Resources, plan: Plan, todo: EmbeddingPlan, results: list[BatchResult]) -> dict:
    """Check that every planned text is now in the cache as this process sees it (batches that
    ran elsewhere wrote it to the shared cache folder), record the embedding stats and start the
    embeddings quality suite in the worker.

    Raises :class:`~indexgate.errors.EmbeddingError` naming the folder when a planned vector is not
    there: the workers wrote to a cache folder this process does not see (not shared)."""
    res.cache.refresh()
    lost = [h for b in todo.batches for h in b.text_hashes if h not in res.cache]
    if lost:
        raise EmbeddingError(f"{len(lost)} embedded texts are missing from the embedding cache {res.cache.dir}"
                         f" after their batches finished (first {lost[0][:12]}): the embedding workers must"
                         " write to this same folder (a shared cache_dir; docs/scaling.md)")
    stats = EmbedStats.combine(todo.chunks, results, time.time() - todo.started)
    _update(res, plan, embedding=_accounted(res, stats), timings={"embed_s": round(stats.seconds, 3)})
    _start_quality(res, plan, "embeddings")
    return stats.as_dict()


def load(res: Resources, plan: Plan) -> int:
    """Create the shadow collection (if needed) and upsert every chunk into it. A shadow left by
    an interrupted run is read back first: if it matches the chunks table (see
    :func:`indexgate.lifecycle.recovery.verify_shadow`) only the points it lacks are upserted,
    otherwise it is dropped and rebuilt. Otherwise, where the store can copy a shard, the new version starts
    as a copy of the live one trimmed to its unchanged points (:func:`copy_unchanged`) and only
    the others are upserted."""
    started = time.perf_counter()
    present: frozenset[str] = frozenset()
    if res.store.exists(plan.collection):
        check = verify_shadow(res.store, plan.collection, expected_ids(plan.chunks_path), res.embedder.dimension)
        if check.ok:
            present = check.present
        else:
            log.warning("dropping shadow %s: it does not match its chunks table (%s)", plan.collection, check.reason)
            res.store.drop(plan.collection)
    manifest = res.registry.load(plan.alias, plan.version)
    groups = {d["doc_id"]: d.get("groups", []) for d in manifest.documents}
    copied: frozenset[str] = frozenset()
    base = res.registry.load(plan.alias, plan.base) if plan.base else None
    base_chunks = res.registry.version_dir(plan.alias, plan.base) / "chunks.parquet" if base else None
    if not present and base is not None and base.embedder == manifest.embedder and base_chunks.is_file():
        # Start from a copy of the live version's shard and write only what changed.
        copied = copy_unchanged(res.store, plan.collection, collection_name(plan.alias, plan.base), base_chunks,
                                plan.chunks_path, res.embedder.dimension, res.registry.installation_id,
                                plan.version, {d["doc_id"]: d.get("groups", []) for d in base.documents}, groups)
    res.store.create(plan.collection, res.embedder.dimension, owner=res.registry.installation_id)
    written = load_chunks(res.store, plan.collection, plan.chunks_path, res.cache, plan.version,
                          batch=res.settings.batch_size, skip=present | copied, groups=groups)
    # Built: sealed (indexed if large, closed), so the gates read what readers will be served.
    res.store.seal(plan.collection)
    per_doc = pc.value_counts(pq.read_table(plan.chunks_path, columns=["doc_id"]).column(0)).to_pylist()
    chunks = {row["values"]: row["counts"] for row in per_doc}
    _update(res, plan, counts={"points_written": written, "points_resumed": len(present), "points_copied": len(copied)},
            timings={"load_s": round(time.perf_counter() - started, 3)},
            quality={"access_groups": group_counts(manifest.documents, chunks)})
    return written


def _quality_job(res: Resources, plan: Plan) -> dict:
    """The arguments of the version's data-quality suites (see :mod:`indexgate.quality`)."""
    return {"documents": plan.documents_path, "chunks": plan.chunks_path, "cache": res.cache,
            "dimension": res.embedder.dimension, "normalized": res.embedder.fingerprint.normalize,
            "max_tokens": res.embedder.tokenizer.max_tokens, "config": res.settings.gates.quality,
            "folder": Path(plan.workdir), "templates": res.settings.templates_cache_dir,
            "source_empty": res.registry.load(plan.alias, plan.version).counts.get("objects", 0) == 0}


def _quality_on(res: Resources) -> bool:
    return res.settings.gates.mode("quality") != "off"


def _start_quality(res: Resources, plan: Plan, suite: str) -> None:
    """The table of ``suite`` is final: start that quality suite in the worker, to run while the
    sync goes on (:func:`check_quality` collects the checks)."""
    if _quality_on(res):
        start_validation(**_quality_job(res, plan), suites=(suite,))


def check_quality(res: Resources, plan: Plan) -> list[GateResult]:
    """Great Expectations suites on the version's documents, chunks and embeddings. Returns with
    the checks; their Data Docs, in the version's work folder, may still be being written by the
    quality worker (:func:`indexgate.quality.wait_data_docs`; the HTML report waits for them)."""
    if not _quality_on(res):
        _update(res, plan, quality={"suites": {}})  # a rerun must not show an earlier run's checks
        return []
    result = validate_version(**_quality_job(res, plan), wait_docs=False,
                              timeout=res.settings.lifecycle.quality_wait_s)
    _update(res, plan, quality={"suites": result.as_dict()}, timings={"quality_s": round(result.waited, 3)})
    return result.gates()


def check_integrity(res: Resources, plan: Plan) -> list[GateResult]:
    """Integrity, and the access labels: every point's groups (read back from the store) are its
    document's, and no document is unlabelled unless ``access.allow_unlabelled``."""
    manifest = res.registry.load(plan.alias, plan.version)
    access = res.settings.access
    return gate_checks.integrity(res.store, plan.collection, plan.chunks_path, res.embedder.dimension,
                                 documents=plan.documents_path, version=plan.version) + [
        gate_checks.access_labels(res.store, plan.collection, manifest.documents,
                                  allow_unlabelled=access is not None and access.allow_unlabelled)]


def check_guardrails(res: Resources, plan: Plan) -> list[GateResult]:
    """The shadow's stored payloads, read back and scanned: no redact or block finding left."""
    if res.settings.gates.mode("guardrails") == "off":
        return []
    return [gate_checks.guardrails(res.store, plan.collection, res.settings.guardrails)]


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
    of a stored document by placeholders: :func:`in_stored_offsets` maps the spans into the
    stored (redacted) text of a version, where its chunks' offsets are, before scoring it."""
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
    """The embedder whose vectors the live version holds: this run's, or (after a model change)
    the live version's own, loaded from the config its manifest recorded and accepted only if its
    fingerprint is the recorded one. Returns (embedder, None) or (None, why not)."""
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
    _update(res, plan, metrics=shadow.as_dict(), timings={"evaluate_s": round(shadow.seconds, 3)},
            quality={"live": live_record, "comparisons": [c.as_dict() for c in comparisons],
                     "audit": [s.as_dict() for s in suspects], "access_audit": hidden})
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


def validate(res: Resources, plan: Plan, golden: str | None = None) -> list[GateResult]:
    """Every gate of the shadow before the decision: integrity (read back from the store), the
    quarantine share, the data-quality suites and, with a golden set, relevance (with the
    regression test against the live version and the golden-set audit) and query latency."""
    gates = (check_integrity(res, plan) + check_guardrails(res, plan) + check_quarantine(res, plan)
             + check_quality(res, plan))
    if golden:
        gates += check_relevance(res, plan, golden) + check_latency(res, plan, golden)
    return gates


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
    return Outcome(plan.alias, plan.version, action, reason, live, table, plan.changes)


def unchanged(res: Resources, plan: Plan) -> Outcome:
    reason = f"source unchanged: version {plan.version} is already live; nothing embedded, no new collection"
    return Outcome(plan.alias, plan.version, "unchanged", reason, plan.live, changes=plan.changes)


# -- scratch builds (evaluation): a throw-away index that no alias ever points at ------------

def scratch_settings(settings: Settings) -> Settings:
    """Settings for a throw-away build: manifests and embedded Qdrant in a new temporary folder,
    the embedding cache and download spool shared with ``settings`` (nothing is embedded or
    downloaded twice), and no data-quality suites (nothing gates a scratch build, so none is
    started in the quality worker)."""
    home = Path(tempfile.mkdtemp(prefix="indexgate-scratch-"))
    gates = settings.gates.model_copy(update={"modes": {**settings.gates.modes, "quality": "off"}})
    return settings.model_copy(update={"home": home, "qdrant_path": home / "qdrant",
                                       "cache_dir": settings.embedding_cache_dir, "gates": gates,
                                       "source": settings.source.model_copy(update={"spool_dir": settings.spool_folder})})


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
