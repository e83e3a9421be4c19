"""Tasks that build and check a shadow version."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.transactions import get_transaction

from indexgate import sync
from indexgate.lifecycle import retention
from indexgate.models import GateResult, Snapshot
from indexgate.resources import resources
from indexgate.settings import Settings
from indexgate_tasks.runs import worth_retrying


@task(name="snapshot_source", retries=2, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def snapshot_source(source: str, settings: Settings | None = None) -> Snapshot:
    snap = sync.snapshot(source, settings)
    get_run_logger().info("snapshot of %s: %d objects, %d refused, hash %s", snap.source, len(snap.objects),
                          len(snap.refused), snap.hash[:12])
    return snap


@task(name="plan_version", cache_policy=NO_CACHE)
def plan_version(settings: Settings, alias: str, snap: Snapshot, allow_mass_delete: bool = False,
                 allow_empty: bool = False) -> sync.Plan:
    plan = sync.plan(resources(settings), alias, snap, allow_mass_delete, allow_empty)
    get_run_logger().info("alias %s: live %s, candidate %s -> %s", alias, plan.live, plan.version, plan.action)
    return plan


@task(name="parse_documents", retries=1, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def parse_documents(settings: Settings, plan: sync.Plan, source: str, snap: Snapshot) -> dict:
    result = sync.parse(resources(settings), plan, source, snap)
    get_run_logger().info("%d documents (%d parsed, %d carried from version %s), quarantined %d", result["documents"],
                          result["parsed"], result["carried"], plan.base, len(result["quarantined"]))
    return result


@task(name="chunk_documents", cache_policy=NO_CACHE)
def chunk_documents(settings: Settings, plan: sync.Plan, confirm_budget: bool = False) -> dict:
    stats = sync.chunk(resources(settings), plan, confirm_budget)
    get_run_logger().info("%d chunks (%d carried), %d tokens, %d texts to embed", stats["chunks"], stats["carried"],
                          stats["tokens"], stats["uncached"])
    return stats


@task(name="embed_chunks", cache_policy=NO_CACHE)
def embed_chunks(settings: Settings, plan: sync.Plan) -> dict:
    stats = sync.embed(resources(settings), plan)
    get_run_logger().info("embedded %d chunks, reused %d from the cache", stats["embedded"], stats["reused"])
    return stats


@task(name="load_shadow", retries=2, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def load_shadow(settings: Settings, plan: sync.Plan) -> int:
    written = sync.load(resources(settings), plan)
    get_run_logger().info("loaded %d points into %s", written, plan.collection)
    if (txn := get_transaction()) is not None:
        txn.set("shadow", (settings, plan))  # for drop_rejected_shadow
    return written


@load_shadow.on_rollback
def drop_rejected_shadow(txn) -> None:
    """The sync's transaction rolled back (gates or smoke check rejected the version): drop the
    shadow unless ``lifecycle.keep_rejected``. Only a rejected version is dropped, so a rollback
    caused by an error leaves the shadow for the rerun to resume."""
    settings, plan = txn.get("shadow")
    retention.discard_rejected_shadow(resources(settings), plan.alias, plan.version)


@task(name="validate_shadow", retries=1, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def validate_shadow(settings: Settings, plan: sync.Plan, golden: str | None = None) -> list[GateResult]:
    """Every gate of the shadow, in one task (see :func:`indexgate.sync.validate`).

    The gates are integrity, guardrails, quarantine and data quality, plus relevance and latency
    with a golden set. Each check is a few library calls, cheaper than a task run of its own."""
    gates = sync.validate(resources(settings), plan, golden)
    failed = [g.name for g in gates if not g.passed]
    get_run_logger().info("%d gates measured, %d failed %s", len(gates), len(failed), failed or "")
    return gates


@task(name="build_scratch", cache_policy=NO_CACHE)
def build_scratch(settings: Settings, source: str, snap: Snapshot) -> tuple[Settings, sync.Plan]:
    """A throw-away build of the snapshot: the library's build steps (:func:`indexgate.sync.build_shadow`)
    in a scratch folder, under a fresh alias no application uses. Returns its settings and plan.
    A build that fails discards its scratch folder before it raises."""
    res, plan = sync.build_scratch(settings, source, snap)
    get_run_logger().info("scratch build %s of %s", plan.version, plan.alias)
    return res.settings, plan


@task(name="score_golden", cache_policy=NO_CACHE)
def score_golden(settings: Settings, plan: sync.Plan, golden: str) -> dict:
    res = resources(settings)
    return sync.scratch_report(res, plan, sync.score(res, plan, golden))


@task(name="discard_scratch", retries=1, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def discard_scratch(settings: Settings, plan: sync.Plan) -> None:
    sync.discard_scratch(resources(settings))
