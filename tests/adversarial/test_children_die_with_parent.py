"""Issue 19, item 7: after `kill -9` of `indexgate sync`, its children (Prefect's temporary API
server when the sync runs as a flow, the parse and quality workers) are gone within seconds, not
minutes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_runs import environment
from indexgate_test_doubles import pause_env


def _parents() -> dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    found[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return found


def _descendants(pid: int) -> set[int]:
    parents, found, todo = _parents(), set(), [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found.update(children)
        todo.extend(children)
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(gone)"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("prefect", ["always", "never"])
def test_sigkill_of_sync_leaves_no_child_behind(tmp_path, prefect):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"d{i}.md").write_text(f"# Doc {i}\n\nSome text about topic {i}, long enough to chunk.\n")
    env = environment(tmp_path, INDEXGATE_PREFECT=prefect, **pause_env("embed", tmp_path))
    proc = subprocess.Popen([str(Path(sys.executable).with_name("indexgate")), "sync", "--source", str(docs),
                             "--alias", "a", "--state-dir", str(tmp_path / "state")], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "embed.reached").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
            time.sleep(0.1)
        children = _descendants(proc.pid)
        commands = {pid: _command(pid) for pid in children}
        # The temporary API server: only a flow has one.
        assert any("uvicorn" in c for c in commands.values()) == (prefect == "always"), commands
        assert any("multiprocessing" in c for c in commands.values()), commands  # the parse worker
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 15
        while any(map(_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {pid: commands[pid] for pid in children if _alive(pid)}
    finally:
        for pid in _descendants(proc.pid) | (children if "children" in locals() else set()):
            if _alive(pid):  # only what this test started, by pid
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    assert not left, f"still running {time.monotonic() - deadline + 15:.0f} s after the SIGKILL: {left}"
