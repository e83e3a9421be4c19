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

from collections.abc import Callable
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


def _build_planned(res: Resources, planned: Plan, source: str, snap: Snapshot, *, confirm_budget: bool,
                   upto_load: bool) -> None:
    """The build steps after the plan, in order: parse, chunk, embed and (with ``upto_load``) load."""
    parse(res, planned, source, snap)
    chunk(res, planned, confirm_budget)
    embed(res, planned)
    if upto_load:
        load(res, planned)


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
             confirm_budget: bool = False) -> tuple[Plan, Outcome]:
    """A whole sync in this process, without Prefect, in the order of :data:`SYNC_STEPS`.

    Holds the alias's sync lock, as the flow does. Reconciles what a dead run left. Builds the
    version, validates it (:func:`~indexgate.sync.checks.validate`: the gates the policy and
    ``golden`` call for) and concludes. A promoted version is smoke-checked through the alias.
    Ends by collecting old versions. That drops this run's shadow if it was rejected or rolled
    back, unless ``lifecycle.keep_rejected`` (the flow's transaction drops it earlier, the same way).
    Returns (plan, outcome). The report is not written (:mod:`indexgate.reporting`).
    """
    source = str(source)
    golden = str(golden) if golden else None
    with sync_lock(res.settings.home, alias, res.settings.lifecycle.wait_s):
        recovery.reconcile(res, alias, golden)
        snap = snapshot(source, res.settings)
        planned = plan(res, alias, snap, allow_mass_delete, allow_empty)
        if planned.action == "noop":
            outcome = unchanged(res, planned)
        else:
            _build_planned(res, planned, source, snap, confirm_budget=confirm_budget, upto_load=True)
            gates = validate(res, planned, golden)
            outcome = smoke.after_promotion(res, planned, conclude(res, planned, gates, by), golden, by)
        retention.gc(res, alias, (planned.version,))
    return planned, outcome
