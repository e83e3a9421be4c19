"""What changed between a source snapshot and the version an alias serves, and the guard that
holds a sync which would delete most of it.

Documents are matched by ``doc_id`` and compared by ``content_hash`` (sha256 of the raw bytes).
The four sets below partition the snapshot's objects plus the base's documents. Nothing is
counted twice, and nothing is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from indexgate.errors import MassDeleteHeld
from indexgate.models import Snapshot


@dataclass(frozen=True)
class Changes:
    """A snapshot against a base version (``base`` None: there is none; everything is added)."""

    base: str | None
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    deleted: tuple[str, ...]

    def counts(self) -> dict[str, Any]:
        return {"base": self.base, "added": len(self.added), "changed": len(self.changed),
                "unchanged": len(self.unchanged), "deleted": len(self.deleted)}


def diff(snapshot: Snapshot, base: str | None, base_documents: Iterable[Mapping[str, Any]]) -> Changes:
    """Compare ``snapshot`` with the documents (``doc_id``, ``content_hash``) of version ``base``."""
    before = {d["doc_id"]: d["content_hash"] for d in base_documents}
    added, changed, unchanged = [], [], []
    for obj in snapshot.objects:
        old = before.get(obj.doc_id)
        (added if old is None else unchanged if old == obj.content_hash else changed).append(obj.doc_id)
    now = {obj.doc_id for obj in snapshot.objects}
    deleted = sorted(doc for doc in before if doc not in now)
    return Changes(base, tuple(added), tuple(changed), tuple(unchanged), tuple(deleted))


def check_deletions(changes: Changes, live_documents: int | None, snapshot_size: int, max_share: float,
                    allowed: bool, confirm: str) -> None:
    """Raise :class:`MassDeleteHeld` when the sync would delete more than ``max_share`` of the
    ``live_documents`` the alias serves, unless ``allowed``. ``live_documents`` None means the live
    version's manifest is missing: then only an empty snapshot is known to delete everything.
    ``confirm`` is the command that repeats the sync with the confirmation."""
    if allowed:
        return
    if live_documents is None:
        deleted, total = (1, 1) if snapshot_size == 0 else (0, 1)
        what = "every document (the source is empty)"
    else:
        deleted, total = len(changes.deleted), live_documents
        what = f"{deleted} of the {total} documents"
    if total and deleted / total > max_share:
        raise MassDeleteHeld(
            f"sync held: it would delete {what} that the live version {changes.base} serves"
            f" ({deleted / total:.0%}, more than gates.max_delete_share = {max_share:.0%}); nothing was built."
            f" An emptied or half-readable source is usually a mistake. If the deletions are intended,"
            f" confirm with: {confirm}"
        )
