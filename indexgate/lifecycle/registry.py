"""Manifests and alias history on disk, under the state directory.

Layout::

    <home>/aliases/<alias>/history.jsonl                 promotions and rollbacks, appended
    <home>/aliases/<alias>/versions/<version>/manifest.json
    <home>/aliases/<alias>/versions/<version>/documents.parquet, chunks.parquet

Manifests are written whole to a temporary file and renamed, so a reader never sees half of one.
The live version is what the Qdrant alias points at; manifests record what was decided.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from indexgate.errors import writing
from indexgate.lifecycle.versioning import validate_alias

State = Literal["building", "built", "rejected", "live", "retired"]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Event(BaseModel):
    """One change of where an alias points, or one operator decision about a version.

    ``withdrawn``: the version an operator rolled back from; a sync that would build it again is
    held (see :mod:`indexgate.lifecycle.holds`). A ``release`` event lifts that hold on ``released`` and
    moves nothing (both versions None)."""

    at: str = Field(default_factory=now)
    action: Literal["promote", "rollback", "release"]
    alias: str
    from_version: str | None
    to_version: str | None  # None: the alias was removed (the first version it served failed its smoke check)
    by: str
    reason: str = ""
    withdrawn: str | None = None
    released: str | None = None


class Manifest(BaseModel):
    alias: str
    version: str
    collection: str
    state: State = "building"
    created_at: str = Field(default_factory=now)
    updated_at: str = Field(default_factory=now)
    promoted_at: str | None = None
    source: str
    snapshot_hash: str
    documents: list[dict[str, Any]] = []
    quarantined: list[dict[str, str]] = []
    chunker: dict[str, Any]
    embedder: dict[str, Any]
    # indexgate.parsing.PARSER_VERSION that parsed the documents (None: before it was recorded).
    parser_version: int | None = None
    counts: dict[str, int] = {}
    # The source against the version live when this one was planned (``base``): added, changed,
    # unchanged and deleted documents. Also how many documents and chunks were carried from the
    # base's tables instead of being parsed and chunked again.
    changes: dict[str, Any] = {}
    embedding: dict[str, Any] = {}
    timings: dict[str, float] = {}
    gates: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {}
    decision: dict[str, Any] = {}
    # Evidence behind the gates beyond the golden metrics: data-quality checks and Data Docs,
    # the live version compared with and the comparison, latency, golden-set audit.
    quality: dict[str, Any] = {}
    # Guardrails (issue 22): the policy's fingerprint, findings per document, totals per detector
    # and action, and per outcome. Counts and names only, never a detected value.
    guardrails: dict[str, Any] = {}
    history: list[Event] = []


class Registry:
    def __init__(self, home: Path):
        self.home = Path(home)

    @property
    def installation_id(self) -> str:
        """This installation's id (``<home>/installation-id``), made on first use. Written into
        every collection it creates, so start-up recovery drops only its own orphans."""
        path = self.home / "installation-id"
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            pass
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.home / f".installation-id.{os.getpid()}.tmp"
        tmp.write_text(uuid.uuid4().hex, encoding="utf-8")
        try:
            os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's id
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text(encoding="utf-8").strip()

    def alias_dir(self, alias: str) -> Path:
        return self.home / "aliases" / validate_alias(alias)

    def version_dir(self, alias: str, version: str) -> Path:
        return self.alias_dir(alias) / "versions" / version

    def load(self, alias: str, version: str) -> Manifest | None:
        path = self.version_dir(alias, version) / "manifest.json"
        if not path.is_file():
            return None
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, manifest: Manifest) -> Manifest:
        manifest.updated_at = now()
        folder = self.version_dir(manifest.alias, manifest.version)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".manifest.{os.getpid()}.tmp"
        with writing(folder / "manifest.json"):
            tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
            tmp.replace(folder / "manifest.json")
        return manifest

    def versions(self, alias: str) -> list[Manifest]:
        """Every version with a manifest, oldest first."""
        root = self.alias_dir(alias) / "versions"
        found = [self.load(alias, p.name) for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        return sorted((m for m in found if m), key=lambda m: (m.created_at, m.version))

    def aliases(self) -> list[str]:
        root = self.home / "aliases"
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def record(self, event: Event) -> None:
        """Append an event to the alias history (an append-only log, one JSON object a line)."""
        folder = self.alias_dir(event.alias)
        folder.mkdir(parents=True, exist_ok=True)
        with writing(folder / "history.jsonl"), open(folder / "history.jsonl", "a", encoding="utf-8") as fh:
            fh.write(event.model_dump_json() + "\n")

    def history(self, alias: str) -> list[Event]:
        path = self.alias_dir(alias) / "history.jsonl"
        if not path.is_file():
            return []
        return [Event.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
