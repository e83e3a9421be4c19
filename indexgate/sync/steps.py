"""The steps of a sync, defined once: the build, the validation, the decision, and a runner.

:data:`BUILD_STEPS` is the ordered build: snapshot, plan, parse, chunk, embed, load.
:data:`SYNC_STEPS` is a whole sync: reconcile, the build, validate, conclude, smoke check, gc.
Each entry is (name, library function).

The sync flow (``flows/sync.py``) runs one Prefect task per entry, in this order.
``tests/unit/test_flow_steps.py`` fails when the flow and these lists drift apart.

Everything else that builds runs the steps through :func:`build_shadow` or :func:`run_sync`:
the tests, the evaluation, the chunking experiment and the benchmark. A change to the sync is
a change here, and so a change everywhere.

Those two overlap stages by default (docs/design.md#stages-that-overlap): the model loads while
parse and chunk run, the parsed documents' chunks are embedded while parsing goes on
(:class:`~indexgate.sync.build.StreamedChunks`), and embed and load run at once
(:func:`_embed_and_load`). They call the same step functions as the flow, so the version is the
same (``tests/unit/test_overlap.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from indexgate.embedding.batch import StageStopped, VectorFeed
from indexgate.lifecycle import recovery, retention, smoke
from indexgate.lifecycle.locking import sync_lock
from indexgate.models import Outcome, Plan, Snapshot
from indexgate.resources import Resources
from indexgate.sync.build import StreamedChunks, chunk, embed, load, parse, update_manifest
from indexgate.sync.checks import validate
from indexgate.sync.decision import conclude, unchanged
from indexgate.sync.planning import plan, snapshot

log = logging.getLogger(__name__)

BUILD_STEPS: tuple[tuple[str, Callable], ...] = (
    ("snapshot", snapshot), ("plan", plan), ("parse", parse), ("chunk", chunk), ("embed", embed), ("load", load),
)
SYNC_STEPS: tuple[tuple[str, Callable], ...] = (
    ("reconcile", recovery.reconcile), *BUILD_STEPS, ("validate", validate), ("conclude", conclude),
    ("smoke_check", smoke.after_promotion), ("gc", retention.gc),
)


@dataclass(frozen=True)
class SyncRun:
    """What :func:`run_sync` did. Unpacks as ``(plan, outcome)``.

    ``recovery`` is what the start-up reconciliation found and did (``Recovery.as_dict()``).
    ``seconds`` is the wall-clock time of each step of :data:`SYNC_STEPS` that ran. Where embed and
    load overlapped, ``embed`` and ``load`` are their busy seconds (the load's without its waits
    for vectors) and ``embed_load_wall`` is the wall-clock time of the two together.
    ``model_load_overlapped``: the embedding model's load, run beside parse and chunk."""

    plan: Plan
    outcome: Outcome
    recovery: dict = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        return iter((self.plan, self.outcome))


class _Stopwatch:
    """Calls steps and adds up the seconds each took (for :attr:`SyncRun.seconds`); then calls
    ``after(name, seconds)``, if given."""

    def __init__(self, after: Callable[[str, float], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.after = after

    def __call__(self, name: str, step: Callable, *args):
        started = time.perf_counter()
        try:
            return step(*args)
        finally:
            self.record(name, time.perf_counter() - started)

    def record(self, name: str, took: float) -> None:
        """Add ``took`` seconds to step ``name`` (a step timed elsewhere: :func:`_embed_and_load`)."""
        self.seconds[name] = round(self.seconds.get(name, 0.0) + took, 3)
        if self.after is not None:
            self.after(name, took)


def _build_planned(res: Resources, planned: Plan, source: str, snap: Snapshot, *, confirm_budget: bool,
                   upto_load: bool, overlap: bool, timed: _Stopwatch) -> None:
    """The build steps after the plan: parse, chunk, embed and (with ``upto_load``) load.

    With ``overlap``, the model loads ahead and the parsed documents' chunks are embedded while
    parsing goes on, where :func:`_embeds_ahead` allows; embed and load run at once (with
    ``upto_load``, :func:`_embed_and_load`). A failure of any step stops the streamed embedder
    after its batch at hand; a failure of that embedder stops the parse, and its error is raised.
    Otherwise each step starts when the one before it ended, as the flow runs them."""
    warming = _warm_model(res, planned, confirm_budget) if overlap else None
    # The parse step's new chunks are embedded while it parses, when nothing can hold the sync
    # before embedding: the same condition as the model's load ahead. The model starts loading
    # when the stream meets the first text the cache lacks.
    streamed = StreamedChunks(res, planned, warming.begin if warming is not None else None) \
        if overlap and _embeds_ahead(res, planned, confirm_budget) else None
    try:
        try:
            timed("parse", parse, res, planned, source, snap, streamed)
        except StageStopped:
            if streamed is not None and streamed.embedding.error is not None:
                raise streamed.embedding.error from None  # the embedder failed first: its error
            raise
        timed("chunk", chunk, res, planned, confirm_budget, streamed)
        if upto_load and overlap:
            _embed_and_load(res, planned, timed, streamed)  # the load need not wait for the model: no join before
        else:
            timed("embed", embed, res, planned, None, streamed)
            if upto_load:
                timed("load", load, res, planned)
    except BaseException:
        if streamed is not None:
            streamed.stop()  # its embedder ends after the batch at hand
        raise
    if streamed is not None:
        timed.seconds[STREAMED] = round(sum(r.seconds for r in streamed.embedding.results()), 3)
    if warming is not None and warming.began:  # ran beside parse and chunk (and the load): in no step's wall time
        warming.join()  # done: the embed step waited for the model
        timed.seconds[MODEL_LOAD] = round(warming.seconds, 3)
        update_manifest(res, planned, timings={f"{MODEL_LOAD}_s": round(warming.seconds, 3)})


# The key of SyncRun.seconds for the embedding model's load, run beside parse and chunk.
MODEL_LOAD = "model_load_overlapped"
# The key of SyncRun.seconds for the seconds of the batches embedded while the parse step ran.
STREAMED = "embed_streamed"


class _ModelWarmUp(threading.Thread):
    """Loads the embedding model in the background (``load()``), once :meth:`begin` is called.
    It embeds nothing."""

    def __init__(self, load: Callable[[], None]) -> None:
        super().__init__(name="indexgate-model-load")
        self.load = load
        self.seconds = 0.0
        self.began = False

    def begin(self) -> None:
        """Start the load; idempotent."""
        if not self.began:
            self.began = True
            self.start()

    def run(self) -> None:
        started = time.perf_counter()
        try:
            self.load()
        except Exception as exc:  # the embed step loads again and raises it where it belongs
            log.debug("loading the embedding model ahead failed: %s", exc)
        finally:
            self.seconds = time.perf_counter() - started


def _warm_model(res: Resources, planned: Plan, confirm_budget: bool) -> _ModelWarmUp | None:
    """A loader of the embedding model, to run while parse and chunk go on, when the embed step
    may need it; None otherwise. The parse step's stream starts it at the first chunk text the
    cache lacks (:class:`~indexgate.sync.build.StreamedChunks`).

    The model's load is most of a small sync's embed step. With a budget limit (and no
    confirmation) the sync may be held after chunking, so the model is not loaded ahead then
    (:func:`_embeds_ahead`). It is not loaded ahead either when no document is new or changed
    (deletions only), nor when it is loaded already (the thread then returns at once). A build
    whose chunk texts are all cached never starts it: at 10,000 documents that was 0.4-0.6 s of
    CPU, on 2 cores shared with the parse and quality workers."""
    load = getattr(res.embedder, "load", None)  # an embedder whose weights load on first use has it
    if load is None or not _embeds_ahead(res, planned, confirm_budget):
        return None
    return _ModelWarmUp(load)


def _embeds_ahead(res: Resources, planned: Plan, confirm_budget: bool) -> bool:
    """Whether the build may prepare embedding before the chunk step's estimate: some document
    is new or changed, and no budget limit can hold the sync after chunking (none is set, or
    the sync is confirmed)."""
    budget = res.settings.guardrails.budget
    limited = any(v is not None for v in (budget.max_texts, budget.max_tokens, budget.max_cost))
    new = planned.base is None or planned.changes.get("added", 0) + planned.changes.get("changed", 0) > 0
    return new and not (limited and not confirm_budget)


# The key of SyncRun.seconds (and, with "_s", of the manifest's timings) for the wall-clock time
# of embed and load run at once. "embed" and "load" are then each step's busy seconds.
OVERLAPPED = "embed_load_wall"


def _embed_and_load(res: Resources, planned: Plan, timed: _Stopwatch, streamed: StreamedChunks | None = None) -> None:
    """Embed in a second thread while this one loads (the embedder releases the GIL).

    The load copies the unchanged points and upserts the cached ones at once. A point whose
    vector is not cached yet waits for the embedder (:class:`VectorFeed`). The two steps are the
    staged run's step functions: the tables, points and counts are the same as staged.

    A failure of either step stops the other at its next batch, and this raises that failure.
    Nothing half-done is lost: the cache gains only whole batches, and the shadow is verified
    and finished by a rerun (:func:`~indexgate.sync.build.load`).

    Times (``timed``, recorded in this thread once both ended, embed first): ``embed`` is the
    embedding step's seconds, ``load`` the load's minus its waits for vectors, and
    ``embed_load_wall`` the wall-clock time of both (also the manifest's ``embed_load_wall_s``)."""
    feed = VectorFeed(res.cache)
    if streamed is not None:  # batches the stream still embeds wake the loader too
        streamed.embedding.after_batch = feed.fed
    started = time.perf_counter()
    took = {"embed": 0.0, "load": 0.0}

    def embedding() -> None:
        try:
            embed(res, planned, feed, streamed)
        except BaseException as exc:
            feed.close(exc)
            raise
        finally:
            took["embed"] = time.perf_counter() - started
        feed.close()

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="indexgate-embed") as pool:
            embedded = pool.submit(embedding)
            try:
                load(res, planned, feed)
            except StageStopped:
                embedded.result()  # the embedder failed: raise its error
                raise  # not reached: the feed stops the load only after an error of the embedder
            except BaseException as exc:
                feed.close(exc)  # the embedder stops after its batch at hand
                wait([embedded])
                raise
            finally:
                took["load"] = time.perf_counter() - started - feed.waited_s
            embedded.result()
    finally:
        wall = time.perf_counter() - started
        timed.record("embed", took["embed"])
        timed.record("load", took["load"])
        timed.seconds[OVERLAPPED] = round(wall, 3)
    update_manifest(res, planned, timings={f"{OVERLAPPED}_s": round(wall, 3)})


def build_shadow(res: Resources, alias: str, source: str | Path, *, snap: Snapshot | None = None,
                 load: bool = True, allow_mass_delete: bool = False, allow_empty: bool = False,
                 confirm_budget: bool = False, overlap: bool = True) -> Plan:
    """Run the build steps of one version of ``alias`` from ``source``.

    Snapshots the source (unless ``snap`` is given) and plans the version. A no-op plan stops
    there. Otherwise parses, chunks, embeds and, with ``load``, loads the shadow collection.
    No gate runs and the alias is untouched. Returns the plan. ``overlap``: embed and load run at
    once (:func:`_embed_and_load`); without it, one after the other, as the flow runs them.
    Raises what the steps raise: a held or refused plan, a budget held before embedding.
    """
    source = str(source)
    snap = snap if snap is not None else snapshot(source, res.settings)
    planned = plan(res, alias, snap, allow_mass_delete, allow_empty)
    if planned.action == "build":
        _build_planned(res, planned, source, snap, confirm_budget=confirm_budget, upto_load=load, overlap=overlap,
                       timed=_Stopwatch())
    return planned


def run_sync(res: Resources, alias: str, source: str | Path, golden: str | Path | None = None, *,
             by: str = "run_sync", allow_mass_delete: bool = False, allow_empty: bool = False,
             confirm_budget: bool = False, after_step: Callable[[str, float], None] | None = None,
             overlap: bool = True) -> SyncRun:
    """A whole sync in this process, without Prefect, in the order of :data:`SYNC_STEPS`.

    Holds the alias's sync lock, as the flow does. Reconciles what a dead run left. Builds the
    version, validates it (:func:`~indexgate.sync.checks.validate`: the gates the policy and
    ``golden`` call for) and concludes. A promoted version is smoke-checked through the alias.
    Ends by collecting old versions. That drops this run's shadow if it was rejected or rolled
    back, unless ``lifecycle.keep_rejected`` (the flow's transaction drops it earlier, the same way).
    Returns a :class:`SyncRun` (it unpacks as ``(plan, outcome)``). The report is not written
    (:mod:`indexgate.reporting`). ``after_step(name, seconds)`` is called after each step (a
    benchmark reads the process's memory there). With ``overlap`` (the default), embed and load
    run at once (:func:`_embed_and_load`), with the same result as one after the other.
    """
    source = str(source)
    golden = str(golden) if golden else None
    timed = _Stopwatch(after_step)
    with sync_lock(res.settings.home, alias, res.settings.lifecycle.wait_s):
        recovered = timed("reconcile", recovery.reconcile, res, alias, golden)
        snap = timed("snapshot", snapshot, source, res.settings)
        planned = timed("plan", plan, res, alias, snap, allow_mass_delete, allow_empty)
        if planned.action == "noop":
            outcome = timed("unchanged", unchanged, res, planned)
        else:
            _build_planned(res, planned, source, snap, confirm_budget=confirm_budget, upto_load=True,
                           overlap=overlap, timed=timed)
            gates = timed("validate", validate, res, planned, golden)
            concluded = timed("conclude", conclude, res, planned, gates, by)
            outcome = timed("smoke_check", smoke.after_promotion, res, planned, concluded, golden, by)
        timed("gc", retention.gc, res, alias, (planned.version,))
    return SyncRun(planned, outcome, recovered.as_dict(), timed.seconds)
