"""What the tests add to IndexGate, in each of their processes: the ``fake`` embedder kind and
the pause points' handler.

``install()`` runs in the pytest process (tests/conftest.py) and, through ``sitecustomize.py`` in
this folder, in every Python process the tests start: the tests put this folder on PYTHONPATH.
A user's process never has this folder on its path, so neither can be switched on there.

A pause: with ``IGTEST_PAUSE_AT=<point>`` and ``IGTEST_PAUSE_DIR=<folder>`` in the environment
(read at each checkpoint), the first time the process reaches ``checkpoint(<point>)`` (once per
folder) it creates ``<folder>/<point>.reached``, then waits (up to 10 minutes) until
``<folder>/<point>.resume`` exists. A test can SIGKILL the process at that moment, or let it go
on. The names carry no INDEXGATE_ prefix: the settings refuse unknown INDEXGATE_ variables.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
PAUSE_AT, PAUSE_DIR = "IGTEST_PAUSE_AT", "IGTEST_PAUSE_DIR"


def pause_env(point: str, folder: Path | str) -> dict[str, str]:
    """The variables that hold a process at ``point``, with its files in ``folder``."""
    return {PAUSE_AT: point, PAUSE_DIR: str(folder)}


def pause(point: str) -> None:
    """The pause points' handler (indexgate.testhook.install_handler)."""
    if os.environ.get(PAUSE_AT) != point:
        return
    folder = Path(os.environ.get(PAUSE_DIR, "."))
    reached = folder / f"{point}.reached"
    if reached.exists():  # pause once per folder, not at every batch
        return
    reached.write_text(str(os.getpid()))
    deadline = time.monotonic() + 600
    while not (folder / f"{point}.resume").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def without_doubles(pythonpath: str | None = None) -> str:
    """``pythonpath`` (default: this process's PYTHONPATH) without this folder: a user's path."""
    paths = (os.environ.get("PYTHONPATH", "") if pythonpath is None else pythonpath).split(os.pathsep)
    return os.pathsep.join(p for p in paths if p and Path(p).resolve() != FOLDER)


def _fake(config):
    # Imported on first use: a process that never embeds does not load numpy for it.
    from fake_embedder import from_config

    return from_config(config)


def install() -> None:
    """Register ``embedder.kind: fake`` and the pause handler in this process, and put this
    folder on the PYTHONPATH its children inherit."""
    from indexgate.embedding.kinds import register_embedder
    from indexgate.testhook import install_handler

    register_embedder("fake", _fake)
    install_handler(pause)
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(FOLDER) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(FOLDER), *[p for p in paths if p]])
