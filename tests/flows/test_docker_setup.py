"""docker/setup.sh, the compose stack's one-shot setup, run for real outside Docker: against the
session's Prefect server and an S3 HTTP endpoint (moto's server mode), as the setup container
would run it against prefect-server and MinIO."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.sorting import DeploymentSort
from prefect.settings import get_current_settings

ROOT = Path(__file__).resolve().parents[2]


def _moto_process() -> tuple[subprocess.Popen, int]:
    """moto's S3 server in a process of its own. An in-process one would share moto's state with the
    session's IAM-enforcing server (tests/conftest.py), so its set-up keys would be refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"moto's server did not start on port {port}")


def test_setup_creates_the_bucket_with_the_corpus_the_pool_and_every_deployment(tmp_path):
    server, port = _moto_process()
    host = "127.0.0.1"
    try:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               "PREFECT_API_URL": get_current_settings().api.url, "PREFECT_HOME": str(tmp_path / "prefect"),
               "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "setup",
               "AWS_SECRET_ACCESS_KEY": "setup-secret", "AWS_DEFAULT_REGION": "us-east-1",
               "INDEXGATE_BUCKET": "indexgate", "INDEXGATE_REPO": str(ROOT)}
        for _ in range(2):  # a rerun (the container restarted) must succeed too
            run = subprocess.run(["sh", str(ROOT / "docker" / "setup.sh")], env=env, capture_output=True,
                                 text=True, timeout=600)
            assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id="setup",
                          aws_secret_access_key="setup-secret", region_name="us-east-1")
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="indexgate", Prefix="corpus/")["Contents"]}
        corpus = ROOT / "data" / "corpus"
        assert keys == {f"corpus/{p.relative_to(corpus).as_posix()}" for p in corpus.rglob("*") if p.is_file()}
    finally:
        server.kill()
        server.wait()

    async def deployments():
        async with get_client() as client:
            pool = await client.read_work_pool("indexgate")
            found = await client.read_deployments(limit=200, offset=0, sort=DeploymentSort.NAME_ASC)
        return pool, {d.name: d for d in found}

    pool, found = asyncio.run(deployments())
    declared = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]
    assert pool.type == "process"
    assert {d["name"] for d in declared} <= set(found)
    assert all(found[d["name"]].work_pool_name == "indexgate" for d in declared)
