"""Issue 19, item 5: errors that cannot succeed on retry (missing or refused credentials, access
denied) are not retried; a transient one (an endpoint that does not answer) still is. Real tasks
on Prefect's test harness against moto's S3 server with IAM enforced."""

from __future__ import annotations

import socket
import time

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.testing.utilities import prefect_test_harness

from indexgate.settings import load_settings
from indexgate_tasks.build import snapshot_source


@pytest.fixture(scope="module")
def prefect_api():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@flow
def snapshot_once(source: str, settings) -> str:
    state = snapshot_source(source, settings, return_state=True)
    return str(state.state_details.task_run_id)


def _runs(source: str, settings) -> tuple[int, str]:
    """(how many times the snapshot task ran, its final message)."""
    task_run = snapshot_once(source, settings)
    # The server records task runs from their events, a moment after the flow returns: wait for
    # the final state (a read at once could find no run, or a run not yet finished).
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            try:
                run = client.read_task_run(task_run)
                if run.state is not None and run.state.is_final():
                    return run.run_count, run.state.message or ""
            except ObjectNotFound:
                pass
            assert time.monotonic() < deadline, f"task run {task_run} was not recorded as finished within 60 s"
            time.sleep(0.2)


@pytest.fixture
def s3_settings(tmp_path, s3_server, monkeypatch):
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)

    def settings(keys: dict | None, endpoint: str = s3_server.endpoint):
        if keys:
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
        return load_settings(home=str(tmp_path / "state"), source={"s3": {
            "endpoint_url": endpoint, "region": "us-east-1", "max_attempts": 1, "connect_timeout_s": 2}})

    return settings


def test_refusals_are_not_retried(prefect_api, s3_server, s3_settings):
    bucket = s3_server.bucket({"kb/a.md": b"# A\n\nText.\n"})
    no_list = s3_server.user("no-list-no-retry", [{"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "*"}])
    cases = {
        "missing credentials": (None, "Unable to locate credentials"),
        "refused credentials": ({**s3_server.reader_keys, "SecretAccessKey": "wrong"}, "SignatureDoesNotMatch"),
        "access denied": (no_list, "AccessDenied"),
    }
    for case, (keys, said) in cases.items():
        count, message = _runs(f"s3://{bucket}/kb", s3_settings(keys))
        assert said in message, (case, message)
        assert count == 1, f"{case}: ran {count} times"


def test_a_transient_error_is_still_retried(prefect_api, s3_server, s3_settings):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    count, message = _runs("s3://bucket/kb", s3_settings(s3_server.reader_keys, f"http://127.0.0.1:{port}"))
    assert "Could not connect" in message and count == 3  # the task's 2 retries
