"""Which versions of an alias are kept, and garbage collection of the others.

Kept:

- the live version: what the alias points at, read from the store;
- the rollback target (:func:`indexgate.lifecycle.promotion.previous_version`);
- the last ``lifecycle.keep_promoted`` promoted versions besides the live one;
- the versions the caller names (the current run's);
- rejected versions, when ``lifecycle.keep_rejected`` is set.

Everything else is removed: its collection, its manifest and its work files. That includes
unfinished builds of dead runs and orphan collections this installation created. A rejected
version the caller names keeps its manifest, the report of why it was rejected. It loses its
collection unless ``keep_rejected`` is set. The alias history is never truncated. The embedding
cache is shared by all versions and never collected here.

The live collection and the rollback target are never removed. Both are read under the alias
lock, which every alias move takes. And the alias's own target is checked once more by name
before any drop. (Dropping a collection also deletes the aliases pointing at it.)
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass

from indexgate.lifecycle.locking import alias_lock
from indexgate.lifecycle.promotion import live_version, previous_version
from indexgate.quality.worker import settle as settle_quality
from indexgate.resources import Resources
from indexgate.lifecycle.versioning import SEPARATOR, collection_name, version_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Collected:
    """What :func:`gc` kept (version -> why) and removed."""

    alias: str
    live: str | None
    rollback_target: str | None
    kept: dict[str, str]
    removed: tuple[str, ...]          # versions whose collection, manifest and files were removed
    dropped: tuple[str, ...] = ()     # collections dropped whose manifest was kept
    cache_parts_merged: int = 0       # embedding cache parts merged into one (EmbeddingCache.compact)

    def as_dict(self) -> dict:
        return {"alias": self.alias, "live": self.live, "rollback_target": self.rollback_target,
                "kept": self.kept, "removed": list(self.removed), "dropped": list(self.dropped),
                "cache_parts_merged": self.cache_parts_merged}


def _recent_promotions(res: Resources, alias: str, live: str | None, n: int) -> list[str]:
    """The last ``n`` distinct versions promoted, most recent first, besides the live one and
    those rejected after promotion."""
    recent: list[str] = []
    for event in reversed(res.registry.history(alias)):
        v = event.to_version
        if event.action != "promote" or v == live or v in recent or v is None:
            continue
        manifest = res.registry.load(alias, v)
        if manifest is not None and manifest.state == "rejected":
            continue
        recent.append(v)
    return recent[:n]


def retained(res: Resources, alias: str, keep: Iterable[str] = ()) -> tuple[str | None, str | None, dict[str, str]]:
    """(live, rollback target, {version: why it is kept}) as of now."""
    config = res.settings.lifecycle
    live = live_version(res.store, alias)
    target = previous_version(res.store, res.registry, alias, live)
    why: dict[str, str] = {}
    for version in _recent_promotions(res, alias, live, config.keep_promoted):
        why[version] = f"one of the last {config.keep_promoted} promoted"
    for version in keep:
        why[version] = "this run's version"
    if config.keep_rejected:
        for m in res.registry.versions(alias):
            if m.state == "rejected":
                why[m.version] = "rejected (lifecycle.keep_rejected)"
    if target:
        why[target] = "rollback target"
    if live:
        why[live] = "live"
    return live, target, why


def _rejected(res: Resources, alias: str, version: str) -> bool:
    """Whether ``version`` was rejected and its collection is not to be kept."""
    manifest = res.registry.load(alias, version)
    return manifest is not None and manifest.state == "rejected" and not res.settings.lifecycle.keep_rejected


def discard_rejected_shadow(res: Resources, alias: str, version: str) -> bool:
    """Drop the collection of ``version`` if its gates (or smoke check) rejected it, unless
    ``lifecycle.keep_rejected`` is set. Keeps the manifest. Never drops what the alias serves.
    Returns whether a collection was dropped. Idempotent."""
    if not _rejected(res, alias, version):
        return False
    name = collection_name(alias, version)
    with alias_lock(res.registry, alias):
        if res.store.alias_target(alias) == name or not res.store.exists(name):
            return False
        res.store.drop(name)
    log.info("dropped the rejected shadow %s", name)
    return True


def gc(res: Resources, alias: str, keep: Iterable[str] = ()) -> Collected:
    """Remove every version of ``alias`` that is not retained (see the module docstring).

    Then compact the embedding cache (:meth:`~indexgate.embedding.cache.EmbeddingCache.compact`):
    the same vectors in fewer files. That is safe beside other builds, so it runs outside the
    alias lock.

    The caller holds the alias's sync lock (or knows no build of the alias runs), so an
    unfinished build found here belongs to a dead run. Idempotent."""
    keep = tuple(keep)
    registry, store = res.registry, res.store
    removed, dropped = [], []
    with alias_lock(registry, alias):
        live, target, why = retained(res, alias, keep)
        serving = store.alias_target(alias)
        manifests = {m.version for m in registry.versions(alias)}
        in_store = {v for v in (version_of(c, alias) for c in store.collections()) if v and SEPARATOR not in v}
        # A collection with no manifest here is collected only if this installation created it.
        foreign = {v for v in in_store - manifests
                   if store.owner(collection_name(alias, v)) != registry.installation_id}
        if foreign:
            log.info("gc %s: left %s: no manifest here and not created by this installation", alias, sorted(foreign))
        in_store -= foreign
        for version in sorted(manifests | in_store):
            name = collection_name(alias, version)
            if name == serving:
                continue
            if version in keep and _rejected(res, alias, version):
                if version in in_store:  # this run's rejected version: keep its report, not its collection
                    store.drop(name)
                    dropped.append(version)
                continue
            if version in why:
                continue
            if version in in_store:
                store.drop(name)
            settle_quality(registry.version_dir(alias, version))  # the quality worker writes there no more
            shutil.rmtree(registry.version_dir(alias, version), ignore_errors=True)
            removed.append(version)
    swept = store.sweep()
    if swept:
        log.info("gc: removed what dead processes left in the store: %s", swept)
    if removed or dropped:
        log.info("gc %s: removed %s; dropped the rejected shadow of %s", alias, removed or "nothing", dropped or "nothing")
    merged = res.cache.compact()
    if merged:
        log.info("gc: merged %d embedding cache parts into one", merged)
    return Collected(alias, live, target, why, tuple(removed), tuple(dropped), merged)
