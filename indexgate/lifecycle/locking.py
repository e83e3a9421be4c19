"""Per-alias locks, across processes and threads (``fcntl.flock`` on a file per lock).

Two locks per alias, in ``<home>/aliases/<alias>/``:

- ``.lock`` (:func:`alias_lock`): held for the few milliseconds of one alias move (promotion,
  rollback), its check that the alias still points where the caller expects, and the removal of
  collections by garbage collection. Promotions therefore never interleave.
- ``.sync.lock`` (:func:`sync_lock`): held for a whole sync (and by ``indexgate gc``), so two
  syncs of one alias never build, gate or collect at the same time. Syncs of different aliases
  hold different locks and run side by side.

``flock`` locks belong to an open file description. So two threads of one process exclude each
other as two processes do. The kernel releases a lock when its holder dies, even by SIGKILL. So
a crashed run never leaves an alias locked.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from indexgate.errors import AliasBusy, StoreError
from indexgate.lifecycle.registry import Registry, now


def _acquire(path: Path, wait_s: float, busy) -> object:
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    deadline = time.monotonic() + max(wait_s, 0.0)
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip()
                fh.close()
                raise busy(holder) from None
            time.sleep(0.05)


@contextmanager
def alias_lock(registry: Registry, alias: str, timeout: float = 60.0):
    """Exclusive lock for moving (or collecting the collections of) ``alias``."""
    def busy(_holder: str) -> StoreError:
        return StoreError(f"alias {alias!r} is locked by another IndexGate run for over {timeout:g} s; try again later")

    fh = _acquire(registry.alias_dir(alias) / ".lock", timeout, busy)
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


@contextmanager
def sync_lock(home: Path, alias: str, wait_s: float = 0.0, what: str = "sync"):
    """Exclusive lock for one sync (or gc) of ``alias``: waits up to ``wait_s`` seconds for a
    running one to finish, then raises :class:`AliasBusy` naming the holder (pid, what, since)."""
    def busy(holder: str) -> AliasBusy:
        try:
            info = json.loads(holder)
            who = f"{info['what']} by pid {info['pid']} since {info['since']}"
        except (ValueError, KeyError, TypeError):
            who = "another run"
        waited = f"waited {wait_s:g} s" if wait_s > 0 else "not waiting (lifecycle.wait_s is 0)"
        return AliasBusy(f"alias {alias!r} is busy: {who}; {waited}. Run again when it has finished,"
                         f" or set INDEXGATE_LIFECYCLE__WAIT_S to wait for it")

    fh = _acquire(Registry(home).alias_dir(alias) / ".sync.lock", wait_s, busy)
    try:
        # Who holds it, for the message of a run that finds it busy (informative only: the lock
        # itself is the flock, which the kernel drops when this process dies).
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "what": what, "since": now()}))
        fh.flush()
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
