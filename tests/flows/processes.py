"""Run the real `indexgate` command in a subprocess against the session's Prefect test server,
optionally held at a pause point (indexgate/testhook.py, tests/doubles/indexgate_test_doubles.py) so a test can SIGKILL it there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from prefect.settings import get_current_settings
from indexgate_test_doubles import pause_env

INDEXGATE = str(Path(sys.executable).with_name("indexgate"))


class Run:
    def __init__(self, argv: list[str], workdir: Path, pause: str | None = None, env: dict | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.pause_dir = workdir
        self.pause = pause
        n = len(list(workdir.glob("run-*.out")))
        self.out, self.err = workdir / f"run-{n}.out", workdir / f"run-{n}.err"
        # env: extra variables; None unsets one (PREFECT_API_URL: the command's own temporary API)
        full = {key: value for key, value in {
            **os.environ, "PREFECT_API_URL": get_current_settings().api.url or "",
            "PREFECT_HOME": str(workdir / "prefect-home"), **(env or {})}.items() if value is not None}
        if pause:
            full.update(pause_env(pause, workdir))
            (workdir / f"{pause}.reached").unlink(missing_ok=True)
            (workdir / f"{pause}.resume").unlink(missing_ok=True)
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen([INDEXGATE, *argv], env=full, stdout=out, stderr=err)

    def stderr(self) -> str:
        return self.err.read_text()

    def stdout(self) -> str:
        return self.out.read_text()

    def wait_paused(self, timeout: float = 300) -> None:
        """Block until the process sits at its pause point (fail if it ends first)."""
        reached = self.pause_dir / f"{self.pause}.reached"
        deadline = time.monotonic() + timeout
        while not reached.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"exited ({self.proc.returncode}) before {self.pause}:\n{self.stderr()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"never reached {self.pause}:\n{self.stderr()[-3000:]}")
            time.sleep(0.05)

    def resume(self) -> None:
        (self.pause_dir / f"{self.pause}.resume").touch()

    def kill(self) -> None:
        """SIGKILL: no finally block, no hook, no atexit runs."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def finish(self, timeout: float = 600) -> int:
        return self.proc.wait(timeout)
