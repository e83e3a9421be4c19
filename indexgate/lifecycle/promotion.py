"""Pointing an alias at a version: promotion and rollback.

Guarantees:

- the alias moves in one atomic store call. On Qdrant Edge that is a pointer file renamed over
  the old one. On a server it is one ``update_collection_aliases`` call. So readers of the alias
  see the old collection or the new one, never neither;
- under a per-alias lock, the alias is first checked to still point where the caller's gates
  compared against. If another run moved it meanwhile, nothing is changed (AliasConflict);
- only a collection that is ready to serve is promoted: sealed on Edge, green on a server;
- a version its gates rejected is never promoted;
- the alias is read back after the call. The manifests and the alias history record the move.

A process killed between the alias call and the records leaves the alias moved but unrecorded:
:func:`indexgate.lifecycle.recovery.reconcile` finishes the records at the start of the next sync.
"""

from __future__ import annotations

from indexgate.errors import AliasConflict, StoreError
from indexgate.lifecycle.locking import alias_lock
from indexgate.lifecycle.registry import Event, Registry, now
from indexgate.store.base import VectorStore
from indexgate.testhook import checkpoint
from indexgate.lifecycle.versioning import collection_name, version_of

__all__ = ["alias_lock", "live_version", "previous_version", "promote", "revert", "rollback"]


def live_version(store: VectorStore, alias: str) -> str | None:
    """The version the alias serves now, read from the store."""
    return version_of(store.alias_target(alias), alias)


def _move(store: VectorStore, registry: Registry, alias: str, to_version: str, expected: str | None,
          action: str, by: str, reason: str, withdraw: bool = False) -> Event:
    with alias_lock(registry, alias):
        current = live_version(store, alias)
        if current == to_version and action == "promote":
            # Already done (a retried call whose first attempt moved the alias): idempotent. If that
            # attempt died before recording the move, record it now.
            history = [e for e in registry.history(alias) if e.to_version == to_version]
            if history:
                return history[-1]
            event = Event(action=action, alias=alias, from_version=expected, to_version=to_version, by=by,
                          reason=reason)
            record_move(registry, event)
            return event
        if current != expected:
            raise AliasConflict(
                f"alias {alias!r} now points at {current or 'nothing'}, not {expected or 'nothing'} as when this"
                f" run started (another run moved it); leaving it untouched"
            )
        target = collection_name(alias, to_version)
        if not store.exists(target):
            raise StoreError(f"collection {target} does not exist; cannot point {alias!r} at it")
        manifest = registry.load(alias, to_version)
        if action == "promote" and manifest is not None and manifest.state == "rejected":
            raise StoreError(f"version {to_version} of {alias!r} was rejected; refusing to promote it")
        store.wait_ready(target)
        store.point_alias(alias, target)
        checkpoint("swap")
        if store.alias_target(alias) != target:
            raise StoreError(f"alias {alias!r} does not point at {target} after the swap; check the store")
        event = Event(action=action, alias=alias, from_version=current, to_version=to_version, by=by, reason=reason,
                      withdrawn=current if withdraw else None)
        record_move(registry, event)
        # Pause points for tests (indexgate/testhook.py): the move is recorded in history and manifests.
        checkpoint("promoted" if action == "promote" else "rolled_back")
        return event


def record_move(registry: Registry, event: Event) -> None:
    """Append the move to the alias history and update the two manifests it concerns."""
    registry.record(event)
    for version, state in ((event.from_version, "retired"), (event.to_version, "live")):
        manifest = registry.load(event.alias, version) if version else None
        if manifest is not None:
            manifest.state = state
            manifest.history.append(event)
            if state == "live":
                manifest.promoted_at = event.at
            registry.save(manifest)


def promote(store: VectorStore, registry: Registry, alias: str, version: str, expected_live: str | None,
            by: str, reason: str = "") -> Event:
    """Point ``alias`` at ``version`` if it still serves ``expected_live``."""
    return _move(store, registry, alias, version, expected_live, "promote", by, reason)


def previous_version(store: VectorStore, registry: Registry, alias: str, current: str | None) -> str | None:
    """The version promoted before the current one.

    It steps back through promotions, so two rollbacks go two releases back. It skips versions
    whose collection no longer exists. It also skips versions rejected after their promotion (a
    failed smoke check)."""
    promoted = [e.to_version for e in registry.history(alias) if e.action == "promote"]
    if current in promoted:
        promoted = promoted[: len(promoted) - 1 - promoted[::-1].index(current)]
    for version in reversed(promoted):
        manifest = registry.load(alias, version)
        if manifest is not None and manifest.state in ("rejected", "building"):
            continue
        if version != current and store.exists(collection_name(alias, version)):
            return version
    return None


def rollback(store: VectorStore, registry: Registry, alias: str, to: str | None = None,
             by: str = "cli") -> Event:
    """Point ``alias`` back at the previous promoted version, or at ``to``, if it is retained and
    was not rejected by its gates. The version rolled back from is withdrawn: a sync that would
    build it again is held until released (:mod:`indexgate.lifecycle.holds`)."""
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
                 reason=f"rollback from {current} requested at {now()}", withdraw=True)


def revert(store: VectorStore, registry: Registry, alias: str, failed: str, to: str | None, by: str,
           reason: str) -> Event:
    """Undo the promotion of ``failed``, only if the alias still serves ``failed``.

    The alias is pointed back at ``to``. When ``failed`` was the first version the alias ever
    served, the alias is removed instead: serving nothing is safer than serving a version that
    failed its check."""
    if to is not None:
        return _move(store, registry, alias, to, failed, "rollback", by, reason)
    with alias_lock(registry, alias):
        current = live_version(store, alias)
        if current != failed:
            raise AliasConflict(f"alias {alias!r} now points at {current or 'nothing'}, not {failed}; leaving it untouched")
        store.delete_alias(alias)
        if store.alias_target(alias) is not None:
            raise StoreError(f"alias {alias!r} still exists after its deletion; check the store")
        event = Event(action="rollback", alias=alias, from_version=failed, to_version=None, by=by, reason=reason)
        record_move(registry, event)
        return event
