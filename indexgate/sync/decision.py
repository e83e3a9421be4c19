"""The decision: promote the shadow, or leave the alias where it is and record why."""

from __future__ import annotations

import logging
from dataclasses import asdict

from indexgate import gates as gate_checks
from indexgate.errors import AliasConflict
from indexgate.lifecycle.promotion import live_version, promote
from indexgate.models import GateResult, Outcome, Plan
from indexgate.resources import Resources
from indexgate.sync.planning import update_manifest

log = logging.getLogger(__name__)


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
    manifest = update_manifest(res, plan, gates=table, decision={"action": action, "reason": reason, "by": by},
                       quality={"baseline": plan.live})
    if action == "rejected":
        manifest.state = "rejected" if not decision.promote else "built"
        res.registry.save(manifest)
    log.info("%s: version %s of %s (%s)", action, plan.version, plan.alias, reason)
    return Outcome(plan.alias, plan.version, action, reason, live, table, plan.changes)


def unchanged(res: Resources, plan: Plan) -> Outcome:
    """The outcome of a no-op plan: the source is unchanged and its version already live."""
    reason = f"source unchanged: version {plan.version} is already live; nothing embedded, no new collection"
    return Outcome(plan.alias, plan.version, "unchanged", reason, plan.live, changes=plan.changes)
