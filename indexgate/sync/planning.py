"""The first two steps of a sync: list the source, then plan the version.

The plan is decided before any work: the version id (derived from the inputs), where the
version goes, and what changed against the live version. Also the one helper every later step
uses to record its results in the version's manifest.
"""

from __future__ import annotations

import logging

from indexgate.access import label_snapshot, relabelled
from indexgate.errors import EmptySource
from indexgate.lifecycle.holds import check_not_held
from indexgate.lifecycle.promotion import live_version
from indexgate.lifecycle.registry import Manifest
from indexgate.lifecycle.versioning import collection_name, validate_alias, version_id
from indexgate.models import Plan, Snapshot
from indexgate.parsing import PARSER_VERSION
from indexgate.parsing.worker import libraries as parser_libraries
from indexgate.parsing.worker import warm_up as warm_up_parser
from indexgate.preflight import check_state_outside_source
from indexgate.quality import warm_up as warm_up_quality
from indexgate.resources import Resources
from indexgate.settings import Settings
from indexgate.sources import open_source
from indexgate.sources.changes import check_deletions, diff
from indexgate.testhook import checkpoint

log = logging.getLogger(__name__)


def snapshot(source: str, settings: Settings | None = None) -> Snapshot:
    """List (and hash) the source; with settings, by its source config, spooling downloads.
    With settings, a state folder inside a folder source is refused (ConfigError): the snapshot
    would hold the run's own reports, and differ at every sync. Every object is labelled with
    the groups that may read it (:mod:`indexgate.access`). With settings whose policy runs the
    data-quality suites, the quality worker is started first (:func:`indexgate.quality.warm_up`)."""
    if settings is None:
        opened = open_source(source)
        return label_snapshot(opened.snapshot(), opened, None)
    check_state_outside_source(settings.home, source)
    if quality_on(settings):
        # Great Expectations' import (2 s of CPU) overlaps the listing and hashing too: most
        # snapshots lead to a build. One that does not stops the worker unused, mid-import.
        warm_up_quality(settings.lifecycle.quality_nice)
    opened = open_source(source, settings.source, settings.spool_folder)
    return label_snapshot(opened.snapshot(), opened, settings.access)


def plan(res: Resources, alias: str, snap: Snapshot, allow_mass_delete: bool = False,
         allow_empty: bool = False) -> Plan:
    """Derive the version id, compare it with what the alias serves (read from the store), and
    diff the snapshot against the live version's documents.

    Raises, before anything is written:

    - :class:`~indexgate.errors.MassDeleteHeld` when the sync would delete more than
      ``gates.max_delete_share`` of the live documents and ``allow_mass_delete`` is false;
    - :class:`~indexgate.errors.VersionHeld` when the version is one an operator rolled back
      from and has not released (:mod:`indexgate.lifecycle.holds`);
    - :class:`~indexgate.errors.EmptySource` when the alias serves nothing, the source holds no
      document, and neither ``allow_empty`` nor ``lifecycle.allow_empty`` allows an empty index.

    Otherwise starts (or resumes) the version's manifest in state ``building`` unless it is
    already live.
    """
    validate_alias(alias)
    version = version_id(snap.hash, res.chunker.fingerprint, res.embedder.fingerprint.id, PARSER_VERSION,
                         guardrails=res.settings.guardrails.fingerprint)
    live = live_version(res.store, alias)
    workdir = res.registry.version_dir(alias, version)
    collection = collection_name(alias, version)
    if version == live:
        log.info("version %s of %s is already live: nothing to do", version, alias)
        changes = {"base": live, "added": 0, "changed": 0, "unchanged": len(snap.objects), "deleted": 0,
                   "relabelled": 0}
        return Plan(alias, version, collection, live, "noop", str(workdir), live, changes)
    check_not_held(res.registry, alias, version)
    if live is None and not snap.objects and not (allow_empty or res.settings.lifecycle.allow_empty):
        refused = f" ({len(snap.refused)} files refused while listing)" if snap.refused else ""
        raise EmptySource(
            f"sync refused: source {snap.source} holds no documents{refused} and alias {alias!r} serves"
            f" nothing yet, so it would go live with an empty index; nothing was built. If an empty index"
            f" is intended, run: indexgate sync --source {snap.source} --alias {alias} --allow-empty"
            f" (or set INDEXGATE_LIFECYCLE__ALLOW_EMPTY=true)")
    base = res.registry.load(alias, live) if live else None
    if live and base is None:
        log.warning("live version %s of %s has no manifest: every document counts as added", live, alias)
    changes = diff(snap, base.version if base else None, base.documents if base else ())
    counts = changes.counts()
    # Same content, other groups: its own kind of change (re-labelled, never re-embedded).
    counts["relabelled"] = len(relabelled(snap, base.documents if base else ()))
    counts["unchanged"] -= counts["relabelled"]
    if live:
        check_deletions(changes, len(base.documents) if base else None, len(snap.objects),
                        res.settings.gates.max_delete_share, allow_mass_delete,
                        confirm=f"indexgate sync --source {snap.source} --alias {alias} --allow-mass-delete")
    manifest = res.registry.load(alias, version)
    if manifest is None:
        manifest = Manifest(
            alias=alias, version=version, collection=collection, source=snap.source,
            snapshot_hash=snap.hash, chunker=res.chunker.describe(),
            # The config too, so a later version built by another model can load this one's to
            # embed the golden queries for the regression gate (see score_live).
            embedder={**res.embedder.fingerprint.as_dict(), "config": res.settings.embedder.model_dump(mode="json")},
            parser_version=PARSER_VERSION,
            guardrails={"policy": res.settings.guardrails.fingerprint},
            documents=[{"doc_id": o.doc_id, "content_hash": o.content_hash, "size": o.size, "mime": o.mime,
                        "modified": o.modified, "groups": list(o.groups),
                        **({"etag": o.etag} if o.etag else {})} for o in snap.objects],
        )
    else:
        log.info("resuming version %s of %s (was %s)", version, alias, manifest.state)
    manifest.state = "building"
    manifest.changes = counts
    res.registry.save(manifest)
    if quality_on(res.settings):
        # Started by snapshot(source, settings) already; this covers a snapshot taken without
        # settings. A running worker is kept (warm_up is idempotent).
        warm_up_quality(res.settings.lifecycle.quality_nice)
    if counts.get("added") or counts.get("changed"):
        # Its start overlaps the rest of planning and the carry of unchanged rows. It imports the
        # libraries of the files to parse only: for Markdown, 0.2 s instead of 1.2 s.
        todo = {*changes.added, *changes.changed}
        needed = parser_libraries((o.doc_id, o.mime) for o in snap.objects if o.doc_id in todo)
        warm_up_parser(res.settings.parsing, needed)
    log.info("%s against %s: %s", alias, changes.base or "nothing",
             ", ".join(f"{k} {v}" for k, v in counts.items() if k != "base"))
    checkpoint("plan")
    return Plan(alias, version, collection, live, "build", str(workdir), changes.base, counts)


def update_manifest(res: Resources, plan: Plan, **fields) -> Manifest:
    """Merge ``fields`` into the version's manifest (dicts key by key) and save it."""
    manifest = res.registry.load(plan.alias, plan.version)
    for key, value in fields.items():
        current = getattr(manifest, key)
        setattr(manifest, key, {**current, **value} if isinstance(current, dict) else value)
    return res.registry.save(manifest)


def quality_on(settings: Settings) -> bool:
    """Whether the policy runs the data-quality suites at all."""
    return settings.gates.mode("quality") != "off"
