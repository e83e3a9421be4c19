"""The sync flow's build steps as library calls, for tests that need a built shadow without Prefect."""

from __future__ import annotations

from pathlib import Path

from indexgate import sync
from indexgate.resources import Resources


def build_shadow(res: Resources, alias: str, root: Path | str, *, load: bool = True) -> sync.Plan:
    """Snapshot ``root``, plan a version of ``alias`` and, unless the plan is a no-op, parse,
    chunk and embed it and (with ``load``) load it into its shadow collection. Returns the plan;
    no gate has run and the alias is untouched."""
    snap = sync.snapshot(str(root))
    plan = sync.plan(res, alias, snap)
    if plan.action == "noop":
        return plan
    sync.parse(res, plan, str(root), snap)
    sync.chunk(res, plan)
    sync.embed(res, plan)
    if load:
        sync.load(res, plan)
    return plan
