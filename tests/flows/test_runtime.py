"""How flows run: flow-run heartbeats off against Prefect's temporary API (nothing outlives the
process to read them), on against a server; the temporary API writes task runs in batches, and
loses none of them when the command exits."""

from __future__ import annotations

import os
import sqlite3

import pytest
from prefect import flow
from prefect.context import SyncClientContext
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from indexgate_flows.runtime import TEMPORARY_API, flow_runs
from processes import Run

# The task runs of a sync that builds a version from a small corpus (fewer new texts than a batch:
# one embedding task, no fan-out).
SYNC_TASKS = ["check_inputs", "reconcile_alias", "snapshot_source", "plan_version", "parse_documents",
              "chunk_documents", "embed_chunks", "load_shadow",
              "validate_shadow", "promote_version", "smoke_check", "publish_report", "collect_garbage"]


@flow
def heartbeat_setting() -> int | None:
    return get_current_settings().flows.heartbeat_frequency


def test_heartbeats_stay_on_against_a_server():
    # The session's test harness is a server with an API URL, as `make serve` would be.
    assert get_current_settings().api.url
    default = get_current_settings().flows.heartbeat_frequency
    assert default is not None
    with flow_runs():
        assert heartbeat_setting() == default


def test_no_heartbeats_against_the_temporary_api():
    with temporary_settings(updates={PREFECT_API_URL: None}), flow_runs():
        assert get_current_settings().flows.heartbeat_frequency is None
        assert all(os.environ[key] == value for key, value in TEMPORARY_API.items())
    assert get_current_settings().flows.heartbeat_frequency is not None  # only inside the block
    # a server this process starts later (a `make serve` in a test) keeps Prefect's own settings
    assert not set(TEMPORARY_API) & set(os.environ)


def test_the_flows_of_a_block_share_one_api_client():
    @flow
    def client():
        return SyncClientContext.get().client

    with flow_runs():
        first, second = client(), client()  # both kept alive: an id could be reused, an object not
    assert first is second


@pytest.mark.slow
def test_a_cli_sync_on_the_temporary_api_records_every_task_run(corpus, tmp_path):
    """Batched, the task runs reach the database by the server's last flush as the command exits.
    (A 30-task flow whose process exited at once kept only 10 to 25 of its runs with Prefect's
    default of one transaction per event; all 30 batched.)"""
    work = tmp_path / "cli"
    run = Run(["sync", "--source", str(corpus), "--alias", "recorded", "--state-dir", str(tmp_path / "state")],
              work, env={"PREFECT_API_URL": None, "INDEXGATE_PREFECT": "always"})  # a flow with no server: the temporary API
    assert run.finish() == 0, run.stderr()[-3000:]
    db = sqlite3.connect(work / "prefect-home" / "prefect.db")
    [(flow_run, state)] = db.execute("select id, state_type from flow_run").fetchall()
    assert state == "COMPLETED"
    recorded = db.execute("select name, state_type from task_run where flow_run_id = ?", (flow_run,)).fetchall()
    assert sorted(name.rsplit("-", 1)[0] for name, _ in recorded) == sorted(SYNC_TASKS)
    assert {state for _, state in recorded} == {"COMPLETED"}
