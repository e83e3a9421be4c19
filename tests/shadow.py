"""The sync flow's build steps as library calls, for tests that need a built shadow without Prefect."""

from __future__ import annotations

from pathlib import Path

from indexgate import sync
from indexgate.resources import Resources


def build_shadow(res: Resources, alias: str, root: Path | str, *, load: bool = True,
                 allow_mass_delete: bool = False) -> sync.Plan:
    """Snapshot ``root`` (read and labelled by the settings, as the flow does), plan a version of
    ``alias`` and, unless the plan is a no-op, parse, chunk and embed it and (with ``load``) load
    it into its shadow collection. Returns the plan; no gate has run and the alias is untouched."""
    snap = sync.snapshot(str(root), res.settings)
    plan = sync.plan(res, alias, snap, allow_mass_delete)
    if plan.action == "noop":
        return plan
    sync.parse(res, plan, str(root), snap)
    sync.chunk(res, plan)
    sync.embed(res, plan)
    if load:
        sync.load(res, plan)
    return plan


def sync_version(res: Resources, root: Path | str, alias: str = "docs",
                  allow_mass_delete: bool = False) -> tuple[sync.Plan, sync.Outcome]:
    """:func:`build_shadow`, then the integrity and quarantine gates and the decision: a version
    promoted or rejected as a sync without a golden set would. Returns (plan, outcome)."""
    plan = build_shadow(res, alias, root, allow_mass_delete=allow_mass_delete)
    if plan.action == "noop":
        return plan, sync.unchanged(res, plan)
    gates = sync.check_integrity(res, plan) + sync.check_quarantine(res, plan)
    return plan, sync.conclude(res, plan, gates, by="test")
