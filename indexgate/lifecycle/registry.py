"""Manifests and alias history on disk, under the state directory.

Layout::

    <home>/aliases/<alias>/history.jsonl                 promotions and rollbacks, appended
    <home>/aliases/<alias>/versions/<version>/manifest.json
    <home>/aliases/<alias>/versions/<version>/documents.parquet, chunks.parquet

Manifests are written whole to a temporary file and renamed, so a reader never sees half of one.
The live version is what the Qdrant alias points at; manifests record what was decided.

A process parses each content of a manifest file once (:class:`_Parsed`). At 10,000 documents a
manifest is 2.3 MB of JSON, and a sync reads it about 36 times.
"""

from __future__ import annotations

import copy
import os
import threading
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter
from pydantic_core import to_json

from indexgate.errors import RegistryError, writing
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


# The fields a caller may change in place (``manifest.history.append``). Each load hands out
# its own copy of these containers; their items are shared and never changed in place.
_CONTAINERS = ("documents", "quarantined", "chunker", "embedder", "counts", "changes", "embedding", "timings",
               "gates", "metrics", "decision", "quality", "guardrails", "history")


_DOCUMENTS = TypeAdapter(list[dict[str, Any]])


def _handed_out(manifest: Manifest) -> Manifest:
    """A copy of a parsed manifest that its caller may change: its own top-level containers."""
    return manifest.model_copy(update={name: copy.copy(getattr(manifest, name)) for name in _CONTAINERS})


def _documents_json(documents: list[dict[str, Any]]) -> bytes:
    """The manifest file's ``documents``: one document a line."""
    if not documents:
        return b"[]"
    return b"[\n    " + b",\n    ".join(to_json(d) for d in documents) + b"\n  ]"


def _encoded(manifest: Manifest, before: tuple[Manifest, bytes | None] | None) -> tuple[bytes, Manifest, bytes]:
    """The bytes of ``manifest``'s file, what parsing them gives, and its documents' JSON.

    A sync changes a version's 10,000 documents only when it plans it. When they are the very
    items of the manifest parsed or written ``before`` (a load, then a save), they are neither
    encoded nor parsed again: that manifest's (and their JSON, once made) are used."""
    head = manifest.model_dump_json(indent=2, exclude={"documents"})
    docs = manifest.documents
    if before is not None and len(before[0].documents) == len(docs) and all(
            a is b for a, b in zip(before[0].documents, docs)):
        documents, docs_json = before[0].documents, before[1] or _documents_json(before[0].documents)
    else:
        docs_json = _documents_json(docs)
        documents = _DOCUMENTS.validate_json(docs_json)
    read = Manifest.model_validate_json(head)
    read.documents = documents
    if not head.endswith("\n}"):  # the documents go in before the closing brace; never write a broken file
        raise RegistryError(f"manifest of {manifest.alias}/{manifest.version}: unexpected JSON from pydantic")
    return head[:-2].encode("utf-8") + b',\n  "documents": ' + docs_json + b"\n}", read, docs_json


class _Parsed:
    """The last few manifests this process parsed or wrote, by path and by the file's bytes.

    A load reads the file and compares its bytes with those the entry was parsed from (or
    written as): equal bytes parse to an equal manifest, so nothing can be stale, whoever wrote
    the file and however (a rename, in place, within one timestamp tick). Reading and comparing
    2.3 MB takes about 1 ms; parsing them 20-60 ms. Bounded: at most ``keep`` manifests."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        # path -> (the file's bytes, the manifest they parse to, its documents' JSON if this process wrote it)
        self.entries: OrderedDict[str, tuple[bytes, Manifest, bytes | None]] = OrderedDict()
        self.lock = threading.Lock()
        self.parses = 0  # how many files were parsed (for tests)

    def get(self, path: Path, data: bytes) -> Manifest | None:
        with self.lock:
            entry = self.entries.get(str(path))
            if entry is None or entry[0] != data:
                return None
            self.entries.move_to_end(str(path))
            return entry[1]

    def put(self, path: Path, data: bytes, manifest: Manifest, documents_json: bytes | None = None) -> None:
        with self.lock:
            self.entries[str(path)] = (data, manifest, documents_json)
            self.entries.move_to_end(str(path))
            while len(self.entries) > self.keep:
                self.entries.popitem(last=False)

    def last(self, path: Path) -> tuple[Manifest, bytes | None] | None:
        """The manifest last parsed or written at ``path``, whatever the file holds now, and
        its documents' JSON if this process wrote it."""
        with self.lock:
            entry = self.entries.get(str(path))
            return entry[1:] if entry else None


_parsed = _Parsed()


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
        """The version's manifest as its file holds it now, or None if it has none.

        The caller gets its own copy and may change it. The file is parsed only when this process
        has not parsed or written these bytes at this path yet."""
        path = self.version_dir(alias, version) / "manifest.json"
        if not path.is_file():
            return None
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # removed since (gc)
            return None
        parsed = _parsed.get(path, data)
        if parsed is None:
            parsed = Manifest.model_validate_json(data)
            _parsed.parses += 1
            _parsed.put(path, data, parsed)
        return _handed_out(parsed)

    def save(self, manifest: Manifest) -> Manifest:
        """Write the manifest whole: to a temporary file, then renamed over the old one."""
        manifest.updated_at = now()
        folder = self.version_dir(manifest.alias, manifest.version)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".manifest.{os.getpid()}.{threading.get_ident()}.tmp"
        path = folder / "manifest.json"
        data, read, documents_json = _encoded(manifest, _parsed.last(path))
        with writing(path):
            tmp.write_bytes(data)
            tmp.replace(path)
        # What was written is what a load of these bytes would parse.
        _parsed.put(path, data, read, documents_json)
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
