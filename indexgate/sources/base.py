"""The source interface: list what is there (with content hashes), read one object."""

from __future__ import annotations

from typing import Protocol

from indexgate.models import Snapshot


class Source(Protocol):
    uri: str

    def snapshot(self) -> Snapshot:
        """Every object with its sha256. Raises SourceError if the listing is incomplete:
        a partial listing must never be mistaken for deletions."""

    def read(self, doc_id: str) -> bytes:
        """The raw bytes of one object of the snapshot."""
