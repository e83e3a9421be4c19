"""The plumbing shared by IndexGate's long-lived worker processes (parsing, quality).

Each worker is one child process fed over a pipe, one message at a time. The child is started
with ``spawn``, never ``fork``: the parent has threads (Prefect, tokenizers, Qdrant), and
forking a threaded process can deadlock the child.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess


def spawn(target: Callable, args: tuple, name: str) -> tuple[BaseProcess, Connection]:
    """Start ``target(child_end, *args)`` in a spawned daemon process; return it and the
    parent's end of the pipe (the parent's copy of the child's end is closed, so the parent
    sees EOF once the child is gone)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args), name=name, daemon=True)
    process.start()
    child.close()
    return process, parent


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
