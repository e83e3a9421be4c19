"""What a run tells the people watching it: its name holds alias and version, bad inputs fail
before anything is built, and failed or rejected runs POST to the configured webhook (a real
loopback receiver); a successful run sends nothing."""

import asyncio

import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import ParameterTypeError

from indexgate_flows.rollback import rollback
from indexgate_flows.sync import sync
from indexgate.errors import ConfigError, SourceError


def _run_name(state) -> str:
    async def read():
        async with get_client() as client:
            return (await client.read_flow_run(state.state_details.flow_run_id)).name
    return asyncio.run(read())


@pytest.fixture
def notified(webhook, monkeypatch):
    monkeypatch.setenv("INDEXGATE_NOTIFY__WEBHOOK_URL", webhook.url)
    return webhook


def test_runs_are_named_and_only_rejections_and_failures_notify(corpus, golden, state, tmp_path, notified):
    done = sync(source=str(corpus), alias="hooked", golden=str(golden), state_dir=state, return_state=True)
    first = done.result()
    assert first["action"] == "promoted"
    assert _run_name(done) == f"sync-hooked-v{first['version']}"
    assert notified.posts == []  # hooks run before the call returns: nothing was sent

    # (still longer than the golden span into it: a span past its document's end is an error)
    (corpus / "ops/backups.md").write_text("# Backup runbook\n\nBackups now run twice a day, at 02:00 and 14:00 UTC,"
                                           " and are kept for 35 days in both regions.\n")
    strict = tmp_path / "strict.yaml"
    strict.write_text("gates:\n  min_span_precision: 1.0\n")
    second = sync(source=str(corpus), alias="hooked", golden=str(golden), config=str(strict), state_dir=state)
    assert second["action"] == "rejected"
    (post,) = notified.wait(1)
    assert post["alias"] == "hooked" and post["version"] == second["version"] and post["outcome"] == "rejected"
    assert post["reason"] == second["reason"] and "span_precision" in post["reason"]
    assert post["live"] == first["version"] and post["flow"] == "sync" and post["run"] == f"sync-hooked-v{second['version']}"


def test_a_missing_source_fails_before_anything_is_built_and_notifies(tmp_path, state, notified):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(SourceError, match=f"source folder not found or not a folder: {missing}"):
        sync(source=str(missing), alias="nothing", state_dir=state)
    assert not (tmp_path / "state").exists()  # no lock, no manifest, no Qdrant folder
    (post,) = notified.wait(1)
    assert post["outcome"] == "failed" and post["alias"] == "nothing" and post["version"] is None
    assert str(missing) in post["reason"] and post["run"] == "sync-nothing"


def test_rollback_of_an_unknown_alias_fails_at_once_with_the_known_ones(corpus, state, notified):
    sync(source=str(corpus), alias="known", state_dir=state)
    with pytest.raises(ConfigError, match="unknown alias 'unknown' in .*: known aliases are known"):
        rollback(alias="unknown", state_dir=state)
    (post,) = notified.wait(1)
    assert post["flow"] == "rollback" and post["outcome"] == "failed" and "unknown alias 'unknown'" in post["reason"]


def test_parameters_are_validated_against_their_types(corpus, state):
    with pytest.raises(ParameterTypeError, match="alias"):
        sync(source=str(corpus), alias="bad alias", state_dir=state)
    with pytest.raises(ParameterTypeError, match="to"):
        rollback(alias="docs", to="not-a-version", state_dir=state)
