"""Issue 20: test doubles are out of a user's reach. The fake embedder and the pause points work
only in processes where the tests installed them (tests/doubles), never from a config file or an
environment variable."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from cli_runs import indexgate, one_error_line
from indexgate_test_doubles import pause_env, without_doubles


@pytest.mark.parametrize("how", ["config", "environment"])
def test_kind_fake_in_a_users_config_is_one_error_naming_the_valid_kinds(tmp_path, how):
    config = tmp_path / "indexgate.yaml"
    config.write_text("embedder: {kind: fake, model: fake}\n" if how == "config" else "{}\n")
    extra = {"INDEXGATE_EMBEDDER__KIND": "fake"} if how == "environment" else {}
    result = indexgate(tmp_path, "status", "--alias", "docs", "--state-dir", tmp_path / "state",
                       "--config", config, PYTHONPATH=without_doubles(), **extra)
    assert one_error_line(result).endswith("embedder.kind: unknown embedder kind 'fake'; valid: sentence-transformers")


def test_the_tests_own_processes_accept_kind_fake(tmp_path):
    """The same command where the tests' doubles are on the path: the kind is known."""
    config = tmp_path / "indexgate.yaml"
    config.write_text("embedder: {kind: fake, model: fake}\n")
    result = indexgate(tmp_path, "status", "--alias", "docs", "--state-dir", tmp_path / "state", "--config", config)
    assert result.code == 0, result.err[-3000:]


CHECKPOINT = "from indexgate.testhook import checkpoint; checkpoint('plan'); print('went on')"


def _checkpoint(tmp_path, pythonpath: str) -> subprocess.Popen:
    """A process that reaches ``checkpoint('plan')`` with the old and the tests' pause variables set."""
    env = {**os.environ, **pause_env("plan", tmp_path), "PYTHONPATH": pythonpath,
           "INDEXGATE_TEST_PAUSE_AT": "plan", "INDEXGATE_TEST_PAUSE_DIR": str(tmp_path)}
    return subprocess.Popen([sys.executable, "-c", CHECKPOINT], env=env, stdout=subprocess.PIPE, text=True)


def test_no_environment_variable_switches_a_pause_point_on(tmp_path):
    """Without the tests' handler in the process, the variables do nothing."""
    proc = _checkpoint(tmp_path, without_doubles())
    assert proc.communicate(timeout=60)[0].strip() == "went on"
    assert not (tmp_path / "plan.reached").exists()


def test_the_tests_handler_pauses_there(tmp_path):
    """The same process with the tests' doubles on its path stops at the point until resumed."""
    proc = _checkpoint(tmp_path, os.environ["PYTHONPATH"])
    deadline = time.monotonic() + 60
    while not (tmp_path / "plan.reached").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "never paused"
        time.sleep(0.02)
    assert proc.poll() is None  # held at the point
    (tmp_path / "plan.resume").touch()
    assert proc.communicate(timeout=60)[0].strip() == "went on"
