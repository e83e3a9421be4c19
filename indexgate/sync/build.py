"""The build steps after the plan: parse, chunk, embed, load.

Every step is idempotent. Its outputs are keyed by the version id, which is derived from the
inputs. Running a step again (after a crash, or in a rerun) rewrites the same files and upserts
the same points. Nothing here writes to the live collection or moves an alias.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from indexgate.access import group_counts
from indexgate.chunking.corpus import SCHEMA as CHUNKS_SCHEMA
from indexgate.chunking.corpus import chunk_rows, chunk_table
from indexgate.embedding.batch import (
    BatchResult, EmbeddingPlan, EmbedStats, EmbedStream, VectorFeed, embed_chunks, plan_batches,
)
from indexgate.errors import BudgetHeld, EmbeddingError
from indexgate.guardrails import EmbeddingBudget, check_budget
from indexgate.guardrails.budget import CONFIRM_FLAG
from indexgate.lifecycle.recovery import expected_ids, verify_shadow
from indexgate.lifecycle.registry import Manifest
from indexgate.lifecycle.versioning import collection_name
from indexgate.models import Plan, Snapshot
from indexgate.parsing import PARSER_VERSION
from indexgate.parsing.corpus import SCHEMA as DOCUMENTS_SCHEMA
from indexgate.parsing.corpus import parse_snapshot
from indexgate.quality import start_validation
from indexgate.reporting.summary import embedding_accounting
from indexgate.resources import Resources, models_loaded
from indexgate.settings import Settings
from indexgate.sources import Spool, open_source
from indexgate.sources.reuse import carry_rows, content_hashes, doc_ids
from indexgate.store.load import copy_unchanged, load_chunks
from indexgate.sync import planning
from indexgate.sync.planning import quality_on
from indexgate.tables import RowWriter

log = logging.getLogger(__name__)

# The overlapped build runs embed() and load() in two threads, and both record into the one
# manifest file: a read, a merge, a write. This lock keeps one thread's record from undoing the other's.
_manifest_lock = threading.Lock()


def update_manifest(res: Resources, plan: Plan, **fields):
    """:func:`indexgate.sync.planning.update_manifest`, one thread of this process at a time."""
    with _manifest_lock:
        return planning.update_manifest(res, plan, **fields)


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


class StreamedChunks:
    """The chunks of the documents that the parse step stores, cut and embedded while it runs
    (docs/design.md#stages-that-overlap).

    The parse step calls it with each documents-table row it writes: the text as stored, after
    the guardrails (a blocked or quarantined document never comes here). The row's chunks are
    written to a table of their own (``chunks.streamed.parquet``), and their texts go to an
    :class:`~indexgate.embedding.batch.EmbedStream`. The chunk step then takes that table instead
    of chunking the documents again (:func:`chunk`), and the embed step takes the stream's
    batches and embeds only what is left (:func:`embed`). ``first_uncached`` is called once, at
    the first text the cache lacks (the model's load ahead starts there)."""

    def __init__(self, res: Resources, plan: Plan, first_uncached: Callable[[], None] | None = None) -> None:
        self.chunker = res.chunker
        self.path = plan.chunks_path.with_name("chunks.streamed.parquet")
        self.path.unlink(missing_ok=True)  # a stale one (a crashed run) is never taken
        self._writer: RowWriter | None = RowWriter(self.path, CHUNKS_SCHEMA, res.settings.batch_size)
        self.embedding = EmbedStream(res.embedder, res.cache, res.settings.batch_size,  # its thread starts last
                                     first_uncached=first_uncached)

    def __call__(self, document: dict) -> None:
        rows = chunk_rows(document, self.chunker)
        for row in rows:
            self._writer.write(row)
        self.embedding.add(rows)

    def parsed(self) -> None:
        """The parse step stored every document: the table goes into place, the last texts to the embedder."""
        self._writer.close()
        self._writer = None
        self.embedding.close()

    def stop(self) -> None:
        """A step failed: the embedder ends after the batch at hand, and the table is dropped."""
        self.embedding.stop()
        if self._writer is not None:
            self._writer.discard()
            self._writer = None
        self.path.unlink(missing_ok=True)


def parse(res: Resources, plan: Plan, source: str, snap: Snapshot, streamed: StreamedChunks | None = None) -> dict:
    """Write the version's documents table.

    Documents whose content hash equals their row in the base version's table are carried from it.
    Only the others are read and parsed, in a worker process under the configured time and memory
    limits. With ``streamed``, each parsed document's chunks are written and embedded meanwhile
    (:class:`StreamedChunks`); a failure of its embedder stops the parse
    (:class:`~indexgate.embedding.batch.StageStopped`)."""
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
                            max_chars=config.gates.quality.max_document_chars, guardrails=config.guardrails,
                            on_document=streamed)
    if streamed is not None:
        streamed.parsed()
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
    saved = update_manifest(res, plan, guardrails=guardrails_record(config.guardrails.fingerprint, guarded),
            quarantined=quarantined,
            counts={"objects": len(snap.objects) + len(snap.refused), "documents": documents,
                    "quarantined": len(quarantined)},
            changes={"documents_parsed": len(todo.objects), "documents_carried": len(carry)},
            timings={"parse_s": round(time.perf_counter() - started, 3)})
    start_quality(res, plan, "documents", saved)
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


def chunk(res: Resources, plan: Plan, confirm_budget: bool = False, streamed: StreamedChunks | None = None) -> dict:
    """Write the version's chunks table.

    The parse step may carry documents from the base. If the chunker fingerprint is the base's,
    their chunk rows are carried too: identical by construction, ids included. Only the documents
    parsed in this run are chunked. The stats say how many distinct chunk texts the embedding
    cache lacks (``uncached``), which is how big the embedding step will be.

    Then comes the embedding budget (``guardrails.budget``). The texts and tokens the cache lacks
    are estimated and recorded (manifest ``embedding.estimate``). Above a limit, and unless
    ``confirm_budget``, :class:`~indexgate.errors.BudgetHeld` stops the sync before embedding. It
    gives the estimate and the command that confirms it.

    With ``streamed`` (the parse step chunked the documents it parsed, and their texts are being
    embedded), those chunk rows are taken as they are: nothing is chunked twice. The estimate
    still counts the texts the stream sent to the model as lacking: it is what the build embeds,
    whether the stream has done it yet or not. (A stream runs only where no budget can hold.)"""
    started = time.perf_counter()
    base = _base_table(res, plan, "chunks.parquet")
    carried_docs = doc_ids(plan.documents_path) - doc_ids(plan.parsed_path) if plan.parsed_path.is_file() else set()
    carried = 0
    if base is not None and carried_docs:
        fresh = plan.chunks_path.with_name("chunks.fresh.parquet")
        if streamed is not None:  # the chunks of the parsed documents: those of the parsed table
            streamed.path.replace(fresh)
        else:
            chunk_table(plan.parsed_path, res.chunker, fresh, batch=res.settings.batch_size)
        carried = carry_rows(base, dict.fromkeys(carried_docs, {}), fresh, plan.chunks_path, CHUNKS_SCHEMA)
        fresh.unlink()
    elif streamed is not None and not carried_docs:  # every document was parsed: the streamed chunks are all
        streamed.path.replace(plan.chunks_path)
    else:  # staged, or documents carried without base chunks to carry (another chunker): chunked whole
        chunk_table(plan.documents_path, res.chunker, plan.chunks_path, batch=res.settings.batch_size)
    if streamed is not None:
        streamed.path.unlink(missing_ok=True)
    table = pq.read_table(plan.chunks_path, columns=["n_tokens", "text_hash"])
    tokens = table.column("n_tokens")
    if streamed is None:  # (a stream's embedder looks at each batch, holding the cache's lock: not waited for)
        res.cache.refresh()  # vectors other processes (embedding workers) cached meanwhile
    missing = set(res.cache.missing(table.column("text_hash").to_pylist()))
    if streamed is not None:
        missing |= streamed.embedding.queued
    uncached = len(missing)
    # Tokens of each distinct text the cache lacks (a text embeds once, however many chunks share it).
    todo = dict(zip(table.column("text_hash").to_pylist(), tokens.to_pylist()))
    uncached_tokens = sum(int(n or 0) for h, n in todo.items() if h in missing)
    decision = check_budget(uncached, uncached_tokens, _budget(res.settings))
    if decision.held:  # the message names the command that confirms it (the source is in the manifest:
        # read only then, as a read of a 10,000-document manifest costs about 0.1 s)
        decision = check_budget(uncached, uncached_tokens, _budget(res.settings),
                                command=f"indexgate sync --source {res.registry.load(plan.alias, plan.version).source}"
                                        f" --alias {plan.alias} {CONFIRM_FLAG}")
    stats = {"chunks": len(tokens), "tokens": int(pc.sum(tokens).as_py() or 0), "carried": carried,
             "uncached": uncached, "uncached_tokens": uncached_tokens, "estimated_cost": round(decision.cost, 6)}
    estimate = {"texts": uncached, "tokens": uncached_tokens, "cost": round(decision.cost, 6),
                "held": decision.held and not confirm_budget, "confirmed": decision.held and confirm_budget}
    saved = update_manifest(res, plan, counts={"chunks": stats["chunks"], "chunk_tokens": stats["tokens"]},
            changes={"chunks_carried": carried}, embedding={"estimate": estimate},
            timings={"chunk_s": round(time.perf_counter() - started, 3)})
    if decision.held and not confirm_budget:
        raise BudgetHeld(decision.message)
    if decision.held:
        log.warning("budget exceeded, confirmed with %s: %s", CONFIRM_FLAG, decision.message)
    start_quality(res, plan, "chunks", saved)
    return stats


def _budget(settings: Settings) -> EmbeddingBudget:
    """The embedding budget, priced at the report's price unless the budget names its own."""
    budget = settings.guardrails.budget
    if budget.price_per_million_tokens:
        return budget
    return budget.model_copy(update={"price_per_million_tokens": settings.report.price_per_million_tokens})


def embed(res: Resources, plan: Plan, feed: VectorFeed | None = None, streamed: StreamedChunks | None = None) -> dict:
    """Embed, in this process, every chunk whose text the cache lacks (see :func:`plan_embedding`
    for the same work fanned out); then start the embeddings quality suite in the worker.

    With a ``feed``, :func:`load` runs meanwhile in another thread: each cached batch is
    announced to it (:class:`~indexgate.embedding.batch.VectorFeed`), and a failed load stops
    the embedding after the batch at hand. With ``streamed``, the texts were embedded while the
    parse step ran: this waits for that embedder (and raises its error), then embeds what is
    left, if anything. The result is the same either way; the manifest's ``embed_streamed_s``
    is the streamed batches' seconds."""
    earlier = streamed.embedding.results() if streamed is not None else []
    stats = embed_chunks(plan.chunks_path, res.embedder, res.cache, batch=res.settings.batch_size,
                         after_batch=None if feed is None else feed.fed, earlier=earlier)
    for worker in (stats.workers or {}).values():  # this process: as the fan-out's tasks report it
        worker["models_loaded"] = models_loaded()
    timings = {"embed_s": round(stats.seconds, 3)}
    if streamed is not None:
        timings["embed_streamed_s"] = round(sum(r.seconds for r in earlier), 3)
    saved = update_manifest(res, plan, embedding=_accounted(res, stats), timings=timings)
    start_quality(res, plan, "embeddings", saved)
    return stats.as_dict()


def _accounted(res: Resources, stats: EmbedStats) -> dict:
    """The embedding stats with their estimated cost, priced as the report prices it."""
    return {**stats.as_dict(), "estimated_cost": embedding_accounting(
        stats.as_dict(), res.settings.report.price_per_million_tokens)["estimated_cost"]}


def plan_embedding(res: Resources, plan: Plan) -> EmbeddingPlan:
    """The batches of the version's chunks whose texts the cache lacks.

    Each holds ``settings.batch_size`` texts. There are none when everything is cached.
    :func:`indexgate.embedding.batch.embed_batch` runs them wherever the model and the cache
    folder are. Then :func:`record_embedding` follows."""
    res.cache.refresh()
    return plan_batches(plan.chunks_path, res.cache, res.settings.batch_size)


def record_embedding(res: Resources, plan: Plan, todo: EmbeddingPlan, results: list[BatchResult]) -> dict:
    """Check that every planned text is now in the cache as this process sees it.

    Batches that ran elsewhere wrote their texts to the shared cache folder. Then record the
    embedding stats, and start the embeddings quality suite in the worker.

    Raises :class:`~indexgate.errors.EmbeddingError` naming the folder when a planned vector is not
    there: the workers wrote to a cache folder this process does not see (not shared)."""
    res.cache.refresh()
    lost = [h for b in todo.batches for h in b.text_hashes if h not in res.cache]
    if lost:
        raise EmbeddingError(f"{len(lost)} embedded texts are missing from the embedding cache {res.cache.dir}"
                         f" after their batches finished (first {lost[0][:12]}): the embedding workers must"
                         " write to this same folder (a shared cache_dir; docs/scaling.md)")
    stats = EmbedStats.combine(todo.chunks, results, time.time() - todo.started)
    saved = update_manifest(res, plan, embedding=_accounted(res, stats), timings={"embed_s": round(stats.seconds, 3)})
    start_quality(res, plan, "embeddings", saved)
    return stats.as_dict()


def load(res: Resources, plan: Plan, feed: VectorFeed | None = None) -> int:
    """Create the shadow collection (if needed) and upsert every chunk into it.

    A shadow left by an interrupted run is read back first. If it matches the chunks table (see
    :func:`indexgate.lifecycle.recovery.verify_shadow`), only the points it lacks are upserted.
    Otherwise it is dropped and rebuilt. Where the store can copy a shard, a new version starts as
    a copy of the live one trimmed to its unchanged points (:func:`copy_unchanged`). Only the
    other points are upserted then.

    With a ``feed``, :func:`embed` runs meanwhile in another thread. The copy and the points
    whose vectors are cached go ahead; a point whose vector is not cached yet waits for it
    (:meth:`~indexgate.embedding.batch.VectorFeed.vectors`). The manifest's ``load_s`` is then
    the busy time, without those waits (``load_waited_s``)."""
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
    res.store.create(plan.collection, res.embedder.dimension, owner=res.registry.installation_id,
                     labels={"version": plan.version})
    written = load_chunks(res.store, plan.collection, plan.chunks_path, res.cache, plan.version,
                          batch=res.settings.batch_size, skip=present | copied, groups=groups,
                          vectors=None if feed is None else feed.vectors)
    # Built: sealed (indexed if large, closed), so the gates read what readers will be served.
    res.store.seal(plan.collection)
    waited = 0.0 if feed is None else feed.waited_s
    per_doc = pc.value_counts(pq.read_table(plan.chunks_path, columns=["doc_id"]).column(0)).to_pylist()
    chunks = {row["values"]: row["counts"] for row in per_doc}
    update_manifest(res, plan,
                    counts={"points_written": written, "points_resumed": len(present), "points_copied": len(copied)},
                    timings={"load_s": round(time.perf_counter() - started - waited, 3),
                             **({"load_waited_s": round(waited, 3)} if feed is not None else {})},
                    quality={"access_groups": group_counts(manifest.documents, chunks)})
    return written


def quality_job(res: Resources, plan: Plan, manifest: Manifest | None = None) -> dict:
    """The arguments of the version's data-quality suites (see :mod:`indexgate.quality`).
    ``manifest``: the version's manifest as just saved, if the caller has it (else it is read)."""
    manifest = manifest if manifest is not None else res.registry.load(plan.alias, plan.version)
    return {"documents": plan.documents_path, "chunks": plan.chunks_path, "cache": res.cache,
            "dimension": res.embedder.dimension, "normalized": res.embedder.fingerprint.normalize,
            "max_tokens": res.embedder.tokenizer.max_tokens, "config": res.settings.gates.quality,
            "folder": Path(plan.workdir),
            "source_empty": manifest.counts.get("objects", 0) == 0}


def start_quality(res: Resources, plan: Plan, suite: str, manifest: Manifest | None = None) -> None:
    """The table of ``suite`` is final: start that quality suite in the worker, to run while the
    sync goes on (:func:`check_quality` collects the checks). ``manifest``: as just saved by the
    step (each read of a 10,000-document manifest costs about 0.1 s)."""
    if quality_on(res.settings):
        start_validation(**quality_job(res, plan, manifest), suites=(suite,))
