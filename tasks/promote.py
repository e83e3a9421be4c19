"""Tasks that move (or deliberately do not move) an alias."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from indexgate import sync
from indexgate.lifecycle import promotion
from indexgate.models import GateResult
from indexgate.lifecycle.registry import Event
from indexgate.resources import resources
from indexgate.settings import Settings
from indexgate_tasks.runs import worth_retrying


def _by() -> str:
    return f"prefect flow run {flow_run.name or flow_run.id or 'unknown'}"


@task(name="promote_version", retries=2, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def promote_version(settings: Settings, plan: sync.Plan, gates: list[GateResult]) -> sync.Outcome:
    outcome = sync.conclude(resources(settings), plan, gates, by=_by())
    get_run_logger().info("%s version %s: %s", outcome.action, outcome.version, outcome.reason)
    return outcome


@task(name="keep_unchanged", cache_policy=NO_CACHE)
def keep_unchanged(settings: Settings, plan: sync.Plan) -> sync.Outcome:
    outcome = sync.unchanged(resources(settings), plan)
    get_run_logger().info(outcome.reason)
    return outcome


@task(name="rollback_alias", retries=2, retry_delay_seconds=2, retry_condition_fn=worth_retrying,
      cache_policy=NO_CACHE)
def rollback_alias(settings: Settings, alias: str, to: str | None = None) -> Event:
    res = resources(settings)
    event = promotion.rollback(res.store, res.registry, alias, to=to, by=_by())
    get_run_logger().info("alias %s rolled back from %s to %s", alias, event.from_version, event.to_version)
    return event
