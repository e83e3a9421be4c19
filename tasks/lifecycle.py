"""Tasks around the life of versions: start-up reconciliation, the smoke check after a
promotion, garbage collection."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from indexgate import sync
from indexgate.lifecycle import recovery, retention, smoke
from indexgate.resources import resources
from indexgate.settings import Settings
from indexgate_tasks.runs import worth_retrying
from indexgate_tasks.promote import _by


@task(name="reconcile_alias", retries=1, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def reconcile_alias(settings: Settings, alias: str, golden: str | None = None) -> dict:
    report = recovery.reconcile(resources(settings), alias, golden)
    for note in report.notes:
        get_run_logger().warning(note)
    return report.as_dict()


@task(name="smoke_check", retries=1, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def smoke_check(settings: Settings, plan: sync.Plan, outcome: sync.Outcome, golden: str | None) -> sync.Outcome:
    checked = smoke.after_promotion(resources(settings), plan, outcome, golden, by=_by())
    if checked.action == "rolled_back":
        get_run_logger().warning(checked.reason)
    return checked


@task(name="collect_garbage", retries=1, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def collect_garbage(settings: Settings, alias: str, keep: tuple[str, ...] = ()) -> dict:
    collected = retention.gc(resources(settings), alias, keep)
    get_run_logger().info("gc %s: removed %d versions %s, kept %s", alias, len(collected.removed),
                          list(collected.removed), collected.kept)
    return collected.as_dict()
