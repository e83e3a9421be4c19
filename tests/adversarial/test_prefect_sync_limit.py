"""Issue 19, item 8: against a Prefect server, one sync per alias is enforced by a Prefect global
concurrency limit named per alias (created if missing), so it holds across machines, not only
where the lock file's folder is shared. Runs on Prefect's own test harness (a real API server)."""

import pytest
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.testing.utilities import prefect_test_harness

from indexgate_flows.runtime import one_sync_per_alias, sync_limit_name
from indexgate_flows.sync import sync
from indexgate.errors import AliasBusy


@pytest.fixture(scope="module", autouse=True)
def server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_a_sync_is_refused_while_another_machine_syncs_the_alias(tmp_path, write_corpus, monkeypatch):
    monkeypatch.setenv("INDEXGATE_EMBEDDER__KIND", "fake")
    monkeypatch.setenv("INDEXGATE_EMBEDDER__MODEL", "fake")
    root = write_corpus({"a.txt": "Backups run nightly at two.\n", "b.txt": "Leave is 28 days a year.\n"})
    # "Another machine": a sync of the same alias holding the limit, with its own state folder
    # (its lock file is not the one this sync takes).
    with one_sync_per_alias("docs", wait_s=0):
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(sync_limit_name("docs"))
        assert (limit.limit, limit.active_slots) == (1, 1)  # created with one slot, and held
        with pytest.raises(AliasBusy, match="another sync holds the Prefect concurrency limit 'indexgate-sync-docs'"):
            sync(source=str(root), alias="docs", state_dir=str(tmp_path / "this-machine"))
        # another alias is not held up
        assert sync(source=str(root), alias="other", state_dir=str(tmp_path / "this-machine"))["action"] == "promoted"
    # once the other sync is done, this one runs
    assert sync(source=str(root), alias="docs", state_dir=str(tmp_path / "this-machine"))["action"] == "promoted"
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(sync_limit_name("docs")).active_slots == 0


def test_an_existing_limit_is_used_as_it_is(tmp_path):
    with one_sync_per_alias("kb", wait_s=0):
        pass
    with concurrency(sync_limit_name("kb"), occupy=1, strict=True, timeout_seconds=10):
        with pytest.raises(AliasBusy):
            with one_sync_per_alias("kb", wait_s=0):
                pass
