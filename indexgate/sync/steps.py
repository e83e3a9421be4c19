"""The steps of a sync, defined once: the build, the validation, the decision, and a runner.

:data:`BUILD_STEPS` is the ordered build: snapshot, plan, parse, chunk, embed, load.
:data:`SYNC_STEPS` is a whole sync: reconcile, the build, validate, conclude, smoke check, gc.
Each entry is (name, library function).

The sync flow (``flows/sync.py``) runs one Prefect task per entry, in this order.
``tests/unit/test_flow_steps.py`` fails when the flow and these lists drift apart.

Everything else that builds runs the steps through :func:`build_shadow` or :func:`run_sync`:
the tests, the evaluation, the chunking experiment and the benchmark. A change to the sync is
a change here, and so a change everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexgate.lifecycle import recovery, retention, smoke
from indexgate.lifecycle.locking import sync_lock
from indexgate.models import Outcome, Plan, Snapshot
from indexgate.resources import Resources
from indexgate.sync.build import chunk, embed, load, parse
from indexgate.sync.checks import validate
from indexgate.sync.decision import conclude, unchanged
from indexgate.sync.planning import plan, snapshot

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
    ``seconds`` is the wall-clock time of each step of :data:`SYNC_STEPS` that ran, in their order."""

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
            took = time.perf_counter() - started
            self.seconds[name] = round(self.seconds.get(name, 0.0) + took, 3)
            if self.after is not None:
                self.after(name, took)


def _untimed(name: str, step: Callable, *args):
    return step(*args)


def _build_planned(res: Resources, planned: Plan, source: str, snap: Snapshot, *, confirm_budget: bool,
                   upto_load: bool, timed: Callable = _untimed) -> None:
    """The build steps after the plan, in order: parse, chunk, embed and (with ``upto_load``) load."""
    timed("parse", parse, res, planned, source, snap)
    timed("chunk", chunk, res, planned, confirm_budget)
    timed("embed", embed, res, planned)
    if upto_load:
        timed("load", load, res, planned)


def build_shadow(res: Resources, alias: str, source: str | Path, *, snap: Snapshot | None = None,
                 load: bool = True, allow_mass_delete: bool = False, allow_empty: bool = False,
                 confirm_budget: bool = False) -> Plan:
    """Run the build steps of one version of ``alias`` from ``source``.

    Snapshots the source (unless ``snap`` is given) and plans the version. A no-op plan stops
    there. Otherwise parses, chunks, embeds and, with ``load``, loads the shadow collection.
    No gate runs and the alias is untouched. Returns the plan.
    Raises what the steps raise: a held or refused plan, a budget held before embedding.
    """
    source = str(source)
    snap = snap if snap is not None else snapshot(source, res.settings)
    planned = plan(res, alias, snap, allow_mass_delete, allow_empty)
    if planned.action == "build":
        _build_planned(res, planned, source, snap, confirm_budget=confirm_budget, upto_load=load)
    return planned


def run_sync(res: Resources, alias: str, source: str | Path, golden: str | Path | None = None, *,
             by: str = "run_sync", allow_mass_delete: bool = False, allow_empty: bool = False,
             confirm_budget: bool = False, after_step: Callable[[str, float], None] | None = None) -> SyncRun:
    """A whole sync in this process, without Prefect, in the order of :data:`SYNC_STEPS`.

    Holds the alias's sync lock, as the flow does. Reconciles what a dead run left. Builds the
    version, validates it (:func:`~indexgate.sync.checks.validate`: the gates the policy and
    ``golden`` call for) and concludes. A promoted version is smoke-checked through the alias.
    Ends by collecting old versions. That drops this run's shadow if it was rejected or rolled
    back, unless ``lifecycle.keep_rejected`` (the flow's transaction drops it earlier, the same way).
    Returns a :class:`SyncRun` (it unpacks as ``(plan, outcome)``). The report is not written
    (:mod:`indexgate.reporting`). ``after_step(name, seconds)`` is called after each step (a
    benchmark reads the process's memory there).
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
            _build_planned(res, planned, source, snap, confirm_budget=confirm_budget, upto_load=True, timed=timed)
            gates = timed("validate", validate, res, planned, golden)
            concluded = timed("conclude", conclude, res, planned, gates, by)
            outcome = timed("smoke_check", smoke.after_promotion, res, planned, concluded, golden, by)
        timed("gc", retention.gc, res, alias, (planned.version,))
    return SyncRun(planned, outcome, recovered.as_dict(), timed.seconds)
