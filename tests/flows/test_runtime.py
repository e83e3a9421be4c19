"""Flow-run heartbeats: off against Prefect's temporary API (nothing outlives the process to read
them), on against a server."""

from __future__ import annotations

from prefect import flow
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from flows.runtime import flow_runs


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
    assert get_current_settings().flows.heartbeat_frequency is not None  # only inside the block
