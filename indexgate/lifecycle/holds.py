"""Operator decisions that hold: a version rolled back from stays withdrawn until released.

``indexgate rollback`` records the version it moved away from as withdrawn (``Event.withdrawn``
in the alias history). A later sync may have inputs that would build that same version again:
the same source content, chunker, embedder and parser give the same version id. Such a sync is
held before anything is built, with the command that releases it. A sync whose inputs changed
builds another version and is not held.

A hold ends when ``indexgate release`` records a ``release`` event for the version, or when an
operator points the alias at the version again (``indexgate rollback --to``).
"""

from __future__ import annotations

from indexgate.errors import RegistryError, VersionHeld
from indexgate.lifecycle.registry import Event, Registry


def holds(registry: Registry, alias: str) -> dict[str, Event]:
    """The versions of ``alias`` held now, each with the rollback event that withdrew it."""
    held: dict[str, Event] = {}
    for event in registry.history(alias):
        if event.withdrawn:
            held[event.withdrawn] = event
        if event.released:
            held.pop(event.released, None)
        if event.to_version:  # served again by an operator's decision (or a recorded move)
            held.pop(event.to_version, None)
    return held


def release_command(alias: str, version: str) -> str:
    return f"indexgate release --alias {alias} {version}"


def check_not_held(registry: Registry, alias: str, version: str) -> None:
    """Raise :class:`VersionHeld` when ``version`` of ``alias`` is withdrawn; the message says
    who withdrew it, when, and the exact command that releases it."""
    event = holds(registry, alias).get(version)
    if event is None:
        return
    raise VersionHeld(
        f"sync held: it would build version {version} of {alias!r} again, which was rolled back from"
        f" at {event.at} by {event.by} (the source, chunker, embedder and parser are unchanged since);"
        f" nothing was built. Change the source, or release the version with: {release_command(alias, version)}"
    )


def release(registry: Registry, alias: str, version: str, by: str) -> Event:
    """Lift the hold on ``version``; records who and when in the alias history. Raises
    :class:`RegistryError` naming the held versions when ``version`` is not held."""
    held = holds(registry, alias)
    if version not in held:
        names = ", ".join(sorted(held)) or "none"
        raise RegistryError(f"version {version} of {alias!r} is not held (held versions: {names})")
    event = Event(action="release", alias=alias, from_version=None, to_version=None, by=by, released=version,
                  reason=f"released the hold set by the rollback at {held[version].at}")
    registry.record(event)
    return event
