"""Issue 19, item 1: a model folder that is not a model, a state folder that is a file, and a disk
that fills up after the promotion each end with one `indexgate: error:` line saying what and
where; after a promotion, the outcome (the alias moved) is printed before the error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_runs import environment, indexgate, one_error_line
from indexgate_test_doubles import pause_env


@pytest.fixture
def docs(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Backups\n\nBackups run every night at 02:00 UTC.\n")
    return tmp_path / "docs"


def test_a_folder_that_is_not_a_model(tmp_path, docs):
    (tmp_path / "not-a-model").mkdir()
    (tmp_path / "not-a-model" / "README.md").write_text("my notes\n")
    (tmp_path / "config.yaml").write_text(f"embedder: {{model: {tmp_path / 'not-a-model'}}}\n")
    result = indexgate(tmp_path, "sync", "--source", docs, "--alias", "a", "--config", "config.yaml",
                       "--state-dir", "state")
    line = one_error_line(result)
    assert f"embedding model folder {tmp_path / 'not-a-model'} is not a sentence-transformers model" in line
    assert not result.prefect_started


@pytest.mark.parametrize("state_dir", ["a-file", "a-file/state"])
def test_a_state_dir_that_is_a_file(tmp_path, docs, state_dir):
    (tmp_path / "a-file").write_text("not a folder\n")
    for command in (["sync", "--source", docs, "--alias", "a"], ["status", "--alias", "a"]):
        line = one_error_line(indexgate(tmp_path, *command, "--state-dir", state_dir))
        assert f"state folder {state_dir} is not a folder" in line and str(tmp_path) in line


def _mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")


def test_disk_full_after_the_promotion_prints_the_outcome_then_one_error(tmp_path, docs):
    """The state folder is a real, tiny tmpfs; the test fills it while the sync sits right after
    its promotion was recorded, so every later write of the run meets ENOSPC."""
    state = tmp_path / "state"
    _mount_tmpfs(state, "64m")
    try:
        env = environment(tmp_path, **pause_env("promoted", tmp_path))
        proc = subprocess.Popen([str(Path(sys.executable).with_name("indexgate")), "sync", "--source", str(docs),
                                 "--alias", "a", "--state-dir", str(state)], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while not (tmp_path / "promoted.reached").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        with open(state / "filler", "wb") as fh:  # until the kernel says the device is full
            try:
                while True:
                    fh.write(b"\0" * (1 << 20))
                    fh.flush()
            except OSError:
                pass
        (tmp_path / "promoted.resume").touch()
        out, err = proc.communicate(timeout=300)
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)
    assert proc.returncode == 1, err[-3000:]
    assert out.startswith("alias a: promoted version "), out
    assert "live version: " in out
    last = err.strip().splitlines()[-1]
    assert last.startswith("indexgate: error: No space left on device: ") and str(state) in last, err[-3000:]


def test_moves_before_a_failure_are_printed_as_json_with_json(tmp_path, capsys):
    """`--json` scripts get one JSON object (not text) naming the live version after a failure."""
    import argparse
    import json

    from indexgate.cli.commands import alias_moves
    from indexgate.cli.output import print_moves
    from indexgate.lifecycle.registry import Event, Registry

    registry = Registry(tmp_path / "state")
    registry.record(Event(action="promote", alias="a", from_version=None, to_version="v1", by="test"))
    registry.record(Event(action="promote", alias="a", from_version="v1", to_version="v2", by="test"))
    args = argparse.Namespace(alias="a", state_dir=str(tmp_path / "state"), config=None, policy=None, json=True)
    print_moves("a", alias_moves(args)[1:], as_json=True)
    printed = json.loads(capsys.readouterr().out)
    assert printed["failed"] is True and printed["live"] == "v2" and len(printed["moves"]) == 1
    print_moves("a", alias_moves(args)[2:], as_json=False)
    assert capsys.readouterr().out == ""  # nothing moved during the run: nothing to say
