"""The source interface: list what is there (with content hashes), read one object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from indexgate.hashing import stable_hash
from indexgate.models import Quarantined, Snapshot, SourceObject


class Source(Protocol):
    uri: str

    def snapshot(self) -> Snapshot:
        """Every object with its sha256, and every object refused while listing (with its
        reason). Raises SourceError if the listing is incomplete: a partial listing must never
        be mistaken for deletions."""

    def read(self, doc_id: str) -> bytes:
        """The raw bytes of one object of the snapshot. Raises ObjectUnreadable when that one
        object cannot be read (it is quarantined), SourceError when the source as a whole fails."""


def make_snapshot(uri: str, objects: Iterable[SourceObject], refused: Iterable[Quarantined] = ()) -> Snapshot:
    """A snapshot in doc id order, hashed over every (doc id, sha256) and every refusal.

    Refusals are part of the hash so that a newly refused object (or a changed reason) is a new
    version with an up-to-date quarantine list, not a silent no-op. A snapshot without refusals
    hashes exactly as before refusals existed, so existing versions keep their ids.
    """
    objects = tuple(sorted(objects, key=lambda o: o.doc_id))
    refused = tuple(sorted(refused, key=lambda q: q.doc_id))
    listing = [[o.doc_id, o.content_hash] for o in objects]
    if refused:
        digest = stable_hash({"objects": listing, "refused": [[q.doc_id, q.kind, q.reason] for q in refused]},
                             length=64)
    else:
        digest = stable_hash(listing, length=64)
    return Snapshot(source=uri, objects=objects, hash=digest, refused=refused)
