"""Pause points for crash and concurrency tests. Inert unless a handler was installed in the process.

The library calls :func:`checkpoint` at points where a crash must leave a consistent state.
It does nothing, unless code running in the same process installed a handler with
:func:`install_handler`. No environment variable or config file switches it on.
Only the tests install one (``tests/doubles/indexgate_test_doubles.py``).

Points:

- ``plan``: version planned, nothing built;
- ``embed``: after each batch of new vectors is cached;
- ``load``: after each batch of points is upserted into the shadow;
- ``swap``: right after the alias call, before history and manifests record it;
- ``promoted`` and ``rolled_back``: the move recorded in history and manifests;
- ``pointer`` (embedded store): the alias's new pointer file written and synced, not yet renamed
  over the old one;
- ``drop`` (embedded store): a dropped shard renamed into ``shards/.trash-*``, not yet deleted;
- ``optimize`` (embedded store): sealing a shard of ``exact_below`` points or more, just before
  Edge's optimize() quantizes it and builds its graph;
- ``copy`` and ``copied`` (embedded store): a copy of the live shard with its stale points
  deleted; then trimmed and relabelled, not yet renamed into place.
"""

from __future__ import annotations

from collections.abc import Callable

_handler: Callable[[str], None] | None = None


def install_handler(handler: Callable[[str], None] | None) -> None:
    """Call ``handler(point)`` at every checkpoint of this process from now on; ``None`` removes it."""
    global _handler
    _handler = handler


def checkpoint(point: str) -> None:
    """Hand ``point`` to the installed handler, if any. Without one: nothing."""
    handler = _handler
    if handler is not None:
        handler(point)
