"""Start-up reconciliation of the manifests with the store, for runs that died (SIGKILL, power
loss) where no clean-up hook could run.

The caller holds the alias's sync lock (:func:`indexgate.lifecycle.locking.sync_lock`). So no
other build of the alias is running, and every manifest still in state ``building`` belongs to
a run that is gone. :func:`reconcile` does three things.

- It finishes the records of an alias move whose process died between the alias call and the
  records. (The alias then serves a version whose manifest is not ``live``.) It smoke-checks a
  version recovered this way, since the dead run never checked it. It moves the alias back if
  the check fails.
- It drops orphan collections: a ``<alias>__<version>`` with no manifest that this installation
  created. The installation's id (:attr:`indexgate.lifecycle.registry.Registry.installation_id`)
  is recorded in the collection. It never drops the alias's target, nor another installation's
  collection (on a shared server).
- It checks the shadow of every unfinished build against its chunks table. The vector size must
  match. The point ids read back must be a subset of the expected ones. The exact count must
  equal the number of ids read back. A shadow that does not match is dropped, so a resumed build
  never trusts a damaged collection. A matching shadow is kept: the rerun upserts only the points
  it lacks.

Unfinished builds whose inputs never come back are removed later by :func:`indexgate.lifecycle.retention.gc`.

The embedded store writes an alias as one fsynced file renamed over the old one
(:mod:`indexgate.store.edge`). So a crash leaves the old target or the new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from indexgate.lifecycle import smoke
from indexgate.lifecycle.locking import alias_lock
from indexgate.lifecycle.promotion import live_version, record_move
from indexgate.lifecycle.registry import Event
from indexgate.resources import Resources
from indexgate.store.base import VectorStore
from indexgate.lifecycle.versioning import SEPARATOR, version_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShadowCheck:
    """A shadow collection compared with the chunks table it is being built from."""

    ok: bool
    present: frozenset[str]
    reason: str = ""


def expected_ids(chunks: Path) -> set[str]:
    return set(pq.read_table(chunks, columns=["point_id"]).column(0).to_pylist())


def verify_shadow(store: VectorStore, collection: str, expected: set[str], dimension: int) -> ShadowCheck:
    """Read the shadow back and check it can be resumed:

    - the vector size is right;
    - every point it holds is one the chunks table holds;
    - the exact count equals the number of ids read back."""
    size = store.vector_size(collection)
    if size != dimension:
        return ShadowCheck(False, frozenset(), f"vector size {size}, expected {dimension}")
    present = frozenset(store.iter_ids(collection))
    extra = present - expected
    if extra:
        return ShadowCheck(False, present, f"{len(extra)} points not in the chunks table (first: {sorted(extra)[0]})")
    count = store.count(collection)
    if count != len(present):
        return ShadowCheck(False, present, f"count {count} but {len(present)} ids read back")
    return ShadowCheck(True, present)


@dataclass(frozen=True)
class Recovery:
    """What :func:`reconcile` found and did."""

    alias: str
    live: str | None
    recorded: dict | None = None           # the alias move it recorded for a dead run, if any
    smoke: dict | None = None              # the smoke check of a version recovered that way
    dropped: tuple[str, ...] = ()          # collections removed
    resumable: tuple[str, ...] = ()        # unfinished builds kept for a rerun to resume
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {"alias": self.alias, "live": self.live, "recorded": self.recorded, "smoke": self.smoke,
                "dropped": list(self.dropped), "resumable": list(self.resumable), "notes": list(self.notes)}


def _finish_move(res: Resources, alias: str, live: str) -> Event | None:
    """Record an alias move whose run died after the alias call (the caller holds the alias
    lock): the alias serves ``live`` but its manifest does not say so."""
    registry = res.registry
    manifest = registry.load(alias, live)
    if manifest is None or manifest.state == "live":
        return None
    stale = [m for m in registry.versions(alias) if m.state == "live" and m.version != live]
    # Moves only: a release event moves nothing.
    last = next((e for e in reversed(registry.history(alias)) if e.action != "release"), None)
    for m in stale[:-1]:
        m.state = "retired"
        registry.save(m)
    if last is not None and last.to_version == live:
        # The history has the move; only the manifests are behind.
        for m in stale[-1:]:
            m.state = "retired"
            registry.save(m)
        manifest.state, manifest.promoted_at = "live", last.at
        manifest.history.append(last)
        registry.save(manifest)
        return last
    action = "promote" if manifest.state in ("building", "built") else "rollback"
    previous = stale[-1].version if stale else (last.to_version if last else None)
    event = Event(action=action, alias=alias, from_version=previous, to_version=live, by="recovery",
                  reason="the run that moved the alias died before recording it")
    record_move(registry, event)
    return event


def reconcile(res: Resources, alias: str, golden: str | None = None) -> Recovery:
    """Bring the manifests and the store of ``alias`` back in line after a dead run. Idempotent;
    never drops the collection the alias points at. The caller holds the alias's sync lock."""
    store, registry = res.store, res.registry
    dropped, resumable, notes = [], [], []
    recorded = smoke_result = None
    with alias_lock(registry, alias):
        live = live_version(store, alias)
        event = _finish_move(res, alias, live) if live else None
        target = store.alias_target(alias)
        for name in store.collections():
            version = version_of(name, alias)
            if version is None or SEPARATOR in version or name == target:
                continue
            if registry.load(alias, version) is None:
                owner = store.owner(name)
                if owner != registry.installation_id:
                    # Another installation's (a shared server), or made before owners were
                    # recorded: a manifest elsewhere may name it, so it stays.
                    notes.append(f"left {name}: no manifest here, but created by"
                                 f" {'installation ' + owner if owner else 'an unknown installation'}")
                    continue
                store.drop(name)
                dropped.append(name)
                notes.append(f"dropped {name}: a collection of {alias!r} this installation created, with no"
                             " manifest (orphan shadow)")
        for manifest in registry.versions(alias):
            if manifest.state != "building" or manifest.version == live:
                continue
            resumable.append(manifest.version)
            chunks = registry.version_dir(alias, manifest.version) / "chunks.parquet"
            if not store.exists(manifest.collection):
                continue
            check = (verify_shadow(store, manifest.collection, expected_ids(chunks), res.embedder.dimension)
                     if chunks.is_file() else ShadowCheck(False, frozenset(), "no chunks table to check it against"))
            if not check.ok:
                store.drop(manifest.collection)
                dropped.append(manifest.collection)
                notes.append(f"dropped {manifest.collection}: does not match its manifest ({check.reason})")
    if event is not None:
        recorded = event.model_dump()
        notes.append(f"recorded the {event.action} of {live} (from {event.from_version}) that a dead run made")
        if event.action == "promote":  # the dead run never smoke-checked it
            verdict = smoke.verify_promotion(res, alias, live, event.from_version, golden, by="recovery")
            smoke_result = {"passed": verdict.passed, "reason": verdict.reason}
            live = verdict.live
    for note in notes:
        log.warning("reconcile %s: %s", alias, note)
    return Recovery(alias, live, recorded, smoke_result, tuple(dropped), tuple(resumable), tuple(notes))
