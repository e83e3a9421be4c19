"""Pointing an alias at a version: promotion and rollback.

Guarantees:
- the alias moves in ONE ``update_collection_aliases`` call, so readers of the alias see the old
  collection or the new one, never neither;
- under a per-alias lock, the alias is first checked to still point where the caller's gates
  compared against: if another run moved it meanwhile, nothing is changed (AliasConflict);
- the alias is read back after the call; the manifests and the alias history record the move.
"""

from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager

from indexgate.errors import AliasConflict, StoreError
from indexgate.registry import Event, Registry, now
from indexgate.store.qdrant import VectorStore
from indexgate.versioning import collection_name, version_of


@contextmanager
def alias_lock(registry: Registry, alias: str, timeout: float = 60.0):
    """An exclusive advisory lock on the alias, across processes (released if the holder dies)."""
    folder = registry.alias_dir(alias)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(f"alias {alias!r} is locked by another IndexGate run; try again later") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def live_version(store: VectorStore, alias: str) -> str | None:
    """The version the alias serves now, read from the store."""
    return version_of(store.alias_target(alias), alias)


def _move(store: VectorStore, registry: Registry, alias: str, to_version: str, expected: str | None,
          action: str, by: str, reason: str) -> Event:
    with alias_lock(registry, alias):
        current = live_version(store, alias)
        if current == to_version and action == "promote":
            # Already done (a retried call whose first attempt succeeded): idempotent.
            history = [e for e in registry.history(alias) if e.to_version == to_version]
            if history:
                return history[-1]
        if current != expected:
            raise AliasConflict(
                f"alias {alias!r} now points at {current or 'nothing'}, not {expected or 'nothing'} as when this"
                f" run started (another run moved it); leaving it untouched"
            )
        target = collection_name(alias, to_version)
        if not store.exists(target):
            raise StoreError(f"collection {target} does not exist; cannot point {alias!r} at it")
        store.point_alias(alias, target)
        if store.alias_target(alias) != target:
            raise StoreError(f"alias {alias!r} does not point at {target} after the swap; check the store")
        event = Event(action=action, alias=alias, from_version=current, to_version=to_version, by=by, reason=reason)
        registry.record(event)
        for version, state in ((current, "retired"), (to_version, "live")):
            manifest = registry.load(alias, version) if version else None
            if manifest is not None:
                manifest.state = state
                manifest.history.append(event)
                if state == "live":
                    manifest.promoted_at = event.at
                registry.save(manifest)
        return event


def promote(store: VectorStore, registry: Registry, alias: str, version: str, expected_live: str | None,
            by: str, reason: str = "") -> Event:
    """Point ``alias`` at ``version`` if it still serves ``expected_live``."""
    return _move(store, registry, alias, version, expected_live, "promote", by, reason)


def previous_version(store: VectorStore, registry: Registry, alias: str, current: str | None) -> str | None:
    """The version promoted before the current one (stepping back through promotions, so two
    rollbacks go two releases back), skipping versions whose collection no longer exists."""
    promoted = [e.to_version for e in registry.history(alias) if e.action == "promote"]
    if current in promoted:
        promoted = promoted[: len(promoted) - 1 - promoted[::-1].index(current)]
    for version in reversed(promoted):
        if version != current and store.exists(collection_name(alias, version)):
            return version
    return None


def rollback(store: VectorStore, registry: Registry, alias: str, to: str | None = None,
             by: str = "cli") -> Event:
    """Point ``alias`` back at the previous promoted version, or at ``to``, if it is retained and
    was not rejected by its gates."""
    current = live_version(store, alias)
    target = to or previous_version(store, registry, alias, current)
    if target is None:
        raise StoreError(f"alias {alias!r} has no earlier retained version to roll back to")
    if target == current:
        raise StoreError(f"alias {alias!r} already serves version {target}")
    manifest = registry.load(alias, target)
    if manifest is not None and manifest.state in ("rejected", "building"):
        raise StoreError(f"version {target} is {manifest.state}; refusing to serve it")
    if not store.exists(collection_name(alias, target)):
        raise StoreError(f"version {target} of {alias!r} is not retained (no collection {collection_name(alias, target)})")
    return _move(store, registry, alias, target, current, "rollback", by,
                 reason=f"rollback from {current} requested at {now()}")
