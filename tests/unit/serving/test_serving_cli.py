"""`indexgate search` and `indexgate serve-api` on the real packaged model: the search checks the
alias before loading a model; serve-api binds loopback, needs its key, follows its alias."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from indexgate import resources
from indexgate.cli import EXIT_ERROR, EXIT_OK, main
from indexgate.settings import load_settings
from indexgate.sync import run_sync
from serving_corpus import DOCS

INDEXGATE = str(Path(sys.executable).with_name("indexgate"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.adversarial  # issue 19: also run by `pytest -m adversarial`
def test_search_of_a_missing_alias_fails_in_one_line_before_loading_a_model(capsys, tmp_path):
    loaded = resources.models_loaded()
    # Default settings: the packaged model, which the old command loaded before looking.
    code, out, err = run(capsys, "search", "--alias", "nothing", "x", "--state-dir", str(tmp_path / "s"))
    assert code == EXIT_ERROR and out == ""
    assert err == "indexgate: error: alias 'nothing' does not exist; run `indexgate sync --alias nothing` first\n"
    assert resources.models_loaded() == loaded


@pytest.fixture(scope="module")
def real_state(tmp_path_factory):
    """A state dir whose alias ``docs`` serves one version built by the real packaged model."""
    root = tmp_path_factory.mktemp("corpus")
    for name, text in DOCS.items():
        (root / name).write_text(text)
    state = tmp_path_factory.mktemp("state")
    settings = load_settings(home=str(state))
    res = resources.resources(settings)
    _, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted"
    resources.reset()  # embedded Qdrant: let the other processes open the folder
    return state, outcome.version


def test_search_answers_from_the_live_version_and_bounds_k(capsys, real_state):
    state, version = real_state
    code, out, _ = run(capsys, "search", "--alias", "docs", "when are backups taken", "-k", "2", "--state-dir",
                       str(state))
    assert code == EXIT_OK and out.startswith("1. backups.md [0:62] score ") and f"(version {version})" in out
    code, _, err = run(capsys, "search", "--alias", "docs", "backups", "-k", "101", "--state-dir", str(state))
    assert code == EXIT_ERROR and err == "indexgate: error: k must be a whole number from 1 to 100 (api.max_k), not 101\n"


class ServeApi:
    """`indexgate serve-api` in a subprocess on a free loopback port (port 0), read from its log."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen([INDEXGATE, "serve-api", *argv, "--port", "0"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log = []
        deadline = time.monotonic() + 120
        for line in self.proc.stdout:
            self.log.append(line)
            if m := re.search(r"Uvicorn running on (http://\S+)", line):
                self.url = m.group(1)
                return
            if time.monotonic() > deadline:
                break
        self.stop()
        raise AssertionError("serve-api did not start:\n" + "".join(self.log))

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return "".join(self.log) + (self.proc.stdout.read() if self.proc.stdout else "")


def test_serve_api_on_loopback_with_a_key_from_the_environment(real_state):
    state, version = real_state
    env = {**os.environ, "SEARCH_KEY": "k-123", "INDEXGATE_API__KEY": "another"}
    server = ServeApi(["--alias", "docs", "--state-dir", str(state), "--api-key-env", "SEARCH_KEY"], env)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert f"alias docs: serving version {version}" in "".join(server.log)
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.get("/health").json() == {"alias": "docs", "status": "ok", "live_version": version,
                                                  "detail": ""}
            assert http.post("/search", json={"query": "backups"}, headers={"X-API-Key": "another"}).status_code == 401
            body = http.post("/search", json={"query": "how long must a password be", "k": 1},
                             headers={"X-API-Key": "k-123"}).json()
            assert body["version"] == version and body["hits"][0]["doc_id"] == "passwords.md"
            assert http.get("/openapi.json").json()["info"]["title"] == "IndexGate search: docs"
    finally:
        server.stop()


def test_serve_api_refuses_an_unset_key_variable_in_one_line(capsys, tmp_path):
    os.environ.pop("IG_NO_SUCH_KEY", None)
    code, _, err = run(capsys, "serve-api", "--alias", "docs", "--api-key-env", "IG_NO_SUCH_KEY",
                       "--state-dir", str(tmp_path))
    assert code == EXIT_ERROR
    assert err == "indexgate: error: --api-key-env IG_NO_SUCH_KEY: that environment variable is not set or empty\n"


def test_serve_api_takes_its_key_from_the_settings_and_serves_a_model_free_version(fake_settings, write_corpus):
    # Built by the fake embedder: the server loads what the manifest pins, no model.
    _, outcome = run_sync(resources.resources(fake_settings), "docs", write_corpus(DOCS))
    env = {**os.environ, "INDEXGATE_API__KEY": "from-settings"}
    server = ServeApi(["--alias", "docs", "--state-dir", str(fake_settings.home)], env)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.post("/search", json={"query": "backups"}).status_code == 401
            body = http.post("/search", json={"query": "backups run every night", "k": 1},
                             headers={"X-API-Key": "from-settings"}).json()
            assert body["version"] == outcome.version and body["hits"][0]["doc_id"] == "backups.md"
    finally:
        server.stop()
