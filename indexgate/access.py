"""Access labels: which groups may read each document ("security trimming"; docs/access.md).

Guarantees:

- every document of a labelled snapshot carries its groups (``SourceObject.groups``). The
  snapshot hash covers them, so a change of labels alone is a new version;
- with no ``access:`` section every document is labelled :data:`PUBLIC`, and every caller is in it;
- with one, a document gets the first of these that exists:

  1. the groups of its sidecar (``name.ext.access.yaml``);
  2. its S3 tag;
  3. the most specific matching rule;
  4. ``default`` (``deny``: no group);

- a malformed sidecar or unreadable tag set never falls back to a wider label. The document is
  refused (quarantined, kind ``access``) with the reason;
- a caller with no groups reads nothing (:func:`caller_groups` returns ``()``).
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import yaml

from indexgate.errors import IndexGateError
from indexgate.hashing import stable_hash
from indexgate.models import Quarantined, Snapshot, SourceObject
from indexgate.settings import AccessConfig, AccessRule, Settings

log = logging.getLogger(__name__)

PUBLIC = "public"
SIDECAR_SUFFIX = ".access.yaml"
DENY = "deny"


class AccessError(IndexGateError):
    """One document's labels cannot be read; it is quarantined with this reason."""


def _specificity(pattern: str) -> tuple[int, int]:
    """Longer literal text first, then fewer wildcards: ``hr/payroll/**`` beats ``hr/**``."""
    wild = sum(pattern.count(c) for c in "*?[")
    return (len(pattern) - wild, -wild)


def rule_groups(doc_id: str, rules: Sequence[AccessRule]) -> tuple[str, ...] | None:
    """The groups of the most specific rule whose glob matches ``doc_id`` (``*`` also matches
    ``/``; the first of equally specific rules wins), or None when none matches."""
    matching = [r for r in rules if fnmatch.fnmatchcase(doc_id, r.path)]
    if not matching:
        return None
    best = max(matching, key=lambda r: _specificity(r.path))  # max keeps the first of equals
    return tuple(best.groups)


def parse_groups(value: object, where: str) -> tuple[str, ...]:
    """A list of group names (or a string of them separated by commas or spaces); raises AccessError naming ``where``."""
    if isinstance(value, str):  # S3 tag values allow no comma: spaces separate there
        value = [g for g in re.split(r"[,\s]+", value) if g]
    if not isinstance(value, list) or not value:
        raise AccessError(f"{where}: groups must be a non-empty list of names, not {value!r}")
    groups = []
    for g in value:
        if not isinstance(g, str) or not g.strip() or "," in g:
            raise AccessError(f"{where}: {g!r} is not a group name")
        groups.append(g.strip())
    return tuple(sorted(set(groups)))


def _sidecar(data: bytes, where: str) -> tuple[str, ...]:
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AccessError(f"malformed access sidecar {where}: {first}") from None
    if not isinstance(doc, dict) or set(doc) != {"groups"}:
        raise AccessError(f"malformed access sidecar {where}: expected exactly one key, groups:, not {doc!r}")
    return parse_groups(doc["groups"], f"access sidecar {where}")


def label_snapshot(snap: Snapshot, source: object, config: AccessConfig | None) -> Snapshot:
    """The snapshot with every object's groups set and its hash covering them.

    Sidecars are taken out of the objects when configured as a label source. A document whose
    sidecar or tags cannot be read is moved to the refusals with the reason."""
    if config is None:
        objects = [replace(o, groups=(PUBLIC,)) for o in snap.objects]
        return _rehash(snap, objects, list(snap.refused))
    use_sidecars = "sidecar" in config.sources
    sidecars = {o.doc_id: o for o in snap.objects if use_sidecars and o.doc_id.endswith(SIDECAR_SUFFIX)}
    tags = getattr(source, "object_tags", None) if "s3_tags" in config.sources else None
    default = () if config.default == DENY else (config.default,)
    objects, refused = [], list(snap.refused)
    for obj in snap.objects:
        if obj.doc_id in sidecars:
            continue
        try:
            groups = None
            if (side := sidecars.get(obj.doc_id + SIDECAR_SUFFIX)) is not None:
                groups = _sidecar(source.read(side.doc_id), side.doc_id)
            if groups is None and tags is not None:
                value = tags(obj.doc_id).get(config.s3_tag)
                if value is not None:
                    groups = parse_groups(value, f"S3 tag {config.s3_tag!r} of {obj.doc_id}")
            if groups is None and "rules" in config.sources:
                groups = rule_groups(obj.doc_id, config.rules)
        except (IndexGateError, OSError) as exc:
            refused.append(Quarantined(obj.doc_id, str(exc), "access"))
            log.warning("quarantined %s: %s", obj.doc_id, exc)
            continue
        objects.append(replace(obj, groups=groups if groups is not None else default))
    return _rehash(snap, objects, refused)


def _rehash(snap: Snapshot, objects: list[SourceObject], refused: list[Quarantined]) -> Snapshot:
    refused = sorted(refused, key=lambda q: q.doc_id)
    digest = stable_hash({"snapshot": snap.hash, "access": [[o.doc_id, list(o.groups)] for o in objects],
                          "refused": [[q.doc_id, q.kind, q.reason] for q in refused]}, length=64)
    return replace(snap, objects=tuple(objects), refused=tuple(refused), hash=digest)


def relabelled(snap: Snapshot, base_documents: Iterable[Mapping]) -> list[str]:
    """Documents whose content is the base version's but whose groups are not."""
    before = {d["doc_id"]: d for d in base_documents}
    return [o.doc_id for o in snap.objects
            if (d := before.get(o.doc_id)) is not None and d.get("content_hash") == o.content_hash
            and tuple(d.get("groups") or ()) != o.groups]


def caller_groups(settings: Settings, groups: Iterable[str] | None) -> tuple[str, ...]:
    """The groups a search is filtered by: the caller's, plus :data:`PUBLIC` when no ``access:``
    section is configured. Empty: the caller reads nothing."""
    given = tuple(sorted({g.strip() for g in (groups or ()) if g and g.strip()}))
    if settings.access is None and PUBLIC not in given:
        given = (*given, PUBLIC)
    return given


def split_groups(text: str | None) -> tuple[str, ...]:
    """``"hr, board"`` -> ``("board", "hr")``; None or blank -> ``()``."""
    return tuple(sorted({g.strip() for g in (text or "").split(",") if g.strip()}))


def group_counts(documents: Iterable[Mapping], chunks_per_doc: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Documents and chunks per group (a document in two groups counts in both); ``""`` holds
    the documents no group may read."""
    out: dict[str, dict[str, int]] = {}
    for d in documents:
        for g in d.get("groups") or [""]:
            entry = out.setdefault(g, {"documents": 0, "chunks": 0})
            entry["documents"] += 1
            entry["chunks"] += chunks_per_doc.get(d["doc_id"], 0)
    return dict(sorted(out.items()))


def unreadable_evidence(queries: Iterable, documents: Iterable[Mapping],
                        default: tuple[str, ...] | None) -> list[dict]:
    """Golden queries whose evidence lies in a document their groups may not read.

    A query's groups are its own ``groups``, else ``default``. None means unfiltered, so nothing
    is flagged. Such a query can never be answered as asked. One entry per (query, document)."""
    readable = {d["doc_id"]: set(d.get("groups") or ()) for d in documents}
    flagged = []
    for q in queries:
        groups = q.groups if q.groups is not None else default
        if groups is None:
            continue
        evidence = {s.doc_id for s in q.relevant} | {d for d, grade in q.relevant_docs if grade > 0}
        for doc in sorted(evidence):
            if doc in readable and not readable[doc] & set(groups):
                flagged.append({"query_id": q.query_id, "doc_id": doc, "groups": list(groups),
                                "readers": sorted(readable[doc])})
    return flagged
