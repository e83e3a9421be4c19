"""The real `indexgate` command in a subprocess, with its own Prefect home and no Prefect API
URL: a run that reaches a flow starts Prefect's temporary server (and leaves a database in that
home); a run refused up front never does."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INDEXGATE = str(Path(sys.executable).with_name("indexgate"))


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str
    prefect_home: Path

    @property
    def prefect_started(self) -> bool:
        """Whether Prefect's temporary server ran (it creates its database on start)."""
        return (self.prefect_home / "prefect.db").exists()


def environment(tmp_path: Path, **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_API", "INDEXGATE_"))}
    return {**env, "PREFECT_HOME": str(tmp_path / "prefect-home"), **extra}


def indexgate(tmp_path: Path, *argv: str, timeout: float = 300, **extra: str) -> Result:
    done = subprocess.run([INDEXGATE, *map(str, argv)], env=environment(tmp_path, **extra), cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr, tmp_path / "prefect-home")


def one_error_line(result: Result) -> str:
    """The single line a refused command prints: nothing else on stderr, no traceback."""
    lines = result.err.strip().splitlines()
    assert result.code == 1, (result.code, result.err[-3000:])
    assert len(lines) == 1 and lines[0].startswith("indexgate: error: "), result.err[-3000:]
    return lines[0]
