"""Artifacts handed off to the background writer (indexgate_tasks.runs.write_later): written in the task's
run context, in order, all there once finish_writes returns; a failed write fails the waiting
task; one run never waits for, or fails on, another run's writes; a run that fails before it
waits still has its writes made before the call returns (its failure hook waits for them)."""

import time

import pytest
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from indexgate_tasks.runs import HOOKS, finish_writes, write_later


class WriteRefused(RuntimeError):
    pass


def refuse(**_):
    raise WriteRefused("the API refused the artifact")


@task(cache_policy=NO_CACHE)
def hand_off(key: str, n: int, failing: bool = False) -> str:
    for i in range(n):
        write_later(create_markdown_artifact, markdown=f"# part {i}", key=key, description=f"part {i}")
    if failing:
        write_later(refuse)
    return str(get_run_context().task_run.id)


@task(cache_policy=NO_CACHE)
def wait_for_writes() -> None:
    finish_writes()


@flow
def publish(key: str, n: int, failing: bool = False, wait: bool = True) -> str:
    task_run = hand_off(key, n, failing)
    if wait:
        wait_for_writes()
    return task_run


def test_handed_off_artifacts_are_all_written_in_order_when_the_run_waits(artifacts):
    task_run = publish("handed-off", 3)
    written = artifacts("handed-off")  # newest first
    assert [a.description for a in written] == ["part 2", "part 1", "part 0"]
    assert {str(a.task_run_id) for a in written} == {task_run}  # the context of the task that handed them off


def test_a_failed_write_fails_the_task_that_waits_for_it(artifacts):
    with pytest.raises(WriteRefused, match="the API refused the artifact"):
        publish("before-refusal", 1, failing=True)
    assert len(artifacts("before-refusal")) == 1  # the writes before it were made


def test_a_run_waits_only_for_its_own_writes(artifacts):
    publish("left-behind", 0, failing=True, wait=False)  # never waited for: its error stays with that run
    task_run = publish("own-writes", 1)  # finish_writes here does not raise the other run's error
    [written] = artifacts("own-writes")  # and it waited for this run's own write
    assert (written.description, str(written.task_run_id)) == ("part 0", task_run)


def slow_markdown(**kwargs):
    time.sleep(4.0)  # still pending when the flow fails, unless something waits for it
    create_markdown_artifact(**kwargs)


@task(cache_policy=NO_CACHE)
def hand_off_slowly(key: str) -> None:
    write_later(slow_markdown, markdown="# written late", key=key, description="late")


@flow(**HOOKS)
def fail_after_hand_off(key: str) -> None:
    hand_off_slowly(key)
    raise RuntimeError("the run failed before its report")


def test_a_failed_run_s_hook_waits_for_its_pending_writes(artifacts):
    with pytest.raises(RuntimeError, match="failed before its report"):
        fail_after_hand_off("failed-run-write")
    assert [a.description for a in artifacts("failed-run-write")] == ["late"]
