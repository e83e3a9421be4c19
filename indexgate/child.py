"""The plumbing shared by IndexGate's long-lived worker processes (parsing, quality).

Each worker is one child process fed over a pipe, one message at a time. The child is started
with ``spawn``, never ``fork``: the parent has threads (Prefect, tokenizers, Qdrant), and
forking a threaded process can deadlock the child.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess


def spawn(target: Callable, args: tuple, name: str) -> tuple[BaseProcess, Connection]:
    """Start ``target(child_end, *args)`` in a spawned daemon process.

    Returns the process and the parent's end of the pipe. The parent's copy of the child's end is
    closed, so the parent sees EOF once the child is gone. The child is :func:`guard`-ed: it dies
    with this process."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args), name=name, daemon=True)
    process.start()
    child.close()
    guard(process.pid)
    return process, parent


# The guardian: a small process (``python -m indexgate.child``) that blocks reading a pipe from
# this one. The kernel closes the pipe when this process ends, however it ends. That includes
# SIGKILL and the OOM killer, when no handler, finally block or atexit hook runs. The guardian
# then ends every process it was told of. A process is named by pid and start time, so a pid
# reused since is never signalled.
_guardian: subprocess.Popen | None = None
_guardian_lock = threading.Lock()


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); None
    when it is gone or has ended (a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


def guard(pid: int) -> bool:
    """Have process ``pid`` (a child of this one) terminated when this process ends, even by
    SIGKILL: SIGTERM at once, SIGKILL 5 s later if it is still there. Linux only (it reads
    /proc); elsewhere a no-op. Returns whether the process is guarded."""
    global _guardian
    start = _start_time(pid)
    if start is None:
        return False
    with _guardian_lock:
        if _guardian is None or _guardian.poll() is not None:
            # Its own session: a Ctrl-C or a terminal hang-up aimed at this process's group
            # does not end it before it did its work.
            _guardian = subprocess.Popen([sys.executable, "-m", "indexgate.child"], stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, start_new_session=True, text=True)
        _guardian.stdin.write(f"{pid} {start}\n")
        _guardian.stdin.flush()
    return True


def _signal(pids: list[int], started: dict[int, str], sig: int) -> list[int]:
    """Send ``sig`` to each process still running as itself; return those."""
    alive = []
    for pid in pids:
        if _start_time(pid) == started[pid]:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:  # ended meanwhile
                pass
    return alive


def _guardian_main() -> None:
    """The guardian's body: read ``pid start-time`` lines until EOF, then end those processes."""
    import signal
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    started: dict[int, str] = {}
    for line in sys.stdin:
        pid, start = line.split()
        started[int(pid)] = start
    alive = _signal(list(started), started, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _start_time(pid) == started[pid]]
    _signal(alive, started, signal.SIGKILL)


def ignore_interrupts() -> None:
    """In the child, first thing: Ctrl-C is the parent's to handle (it stops the child)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def messages(conn: Connection) -> Iterator:
    """In the child: each message the parent sends, until it sends ``None`` or the pipe closes."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        yield message
        del message  # not kept alive through the next recv (a parsed file's bytes can be large)


def how_ended(process: BaseProcess) -> str:
    """How a joined process ended, for error messages: ``signal 9``, ``exit code 1``."""
    code = process.exitcode
    return f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"


if __name__ == "__main__":
    _guardian_main()
