"""A pause point for crash and concurrency tests. Does nothing unless a test asks for it.

With ``INDEXGATE_TEST_PAUSE_AT=<point>`` and ``INDEXGATE_TEST_PAUSE_DIR=<folder>`` in the
environment, the first time a run reaches (once per folder) ``checkpoint(<point>)`` it creates
``<folder>/<point>.reached`` and then waits (up to 10 minutes) until ``<folder>/<point>.resume``
exists. A test can SIGKILL the process at that exact moment, or let it go on.

Points: ``plan`` (version planned, nothing built), ``embed`` (after each batch of new vectors
is cached), ``load`` (after each batch of points is upserted into the shadow), ``swap`` (right
after the alias call, before history and manifests record it), ``pointer`` (embedded store: the
alias's new pointer file written and synced, not yet renamed over the old one), ``drop``
(embedded store: a dropped shard renamed into ``shards/.trash-*``, not yet deleted), ``optimize``
(embedded store: sealing a shard of ``exact_below`` points or more, just before Edge's optimize()
quantizes it and builds its graph), ``copy`` and ``copied`` (embedded store: a copy of the live
shard with its stale points deleted; then trimmed and relabelled, not yet renamed into place).
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def checkpoint(point: str) -> None:
    if os.environ.get("INDEXGATE_TEST_PAUSE_AT") != point:
        return
    folder = Path(os.environ.get("INDEXGATE_TEST_PAUSE_DIR", "."))
    reached = folder / f"{point}.reached"
    if reached.exists():  # pause once per folder, not at every batch
        return
    reached.write_text(str(os.getpid()))
    deadline = time.monotonic() + 600
    while not (folder / f"{point}.resume").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
