"""Data that crosses module boundaries. Frozen: once made, never changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class SourceObject:
    """One file of a source snapshot. ``doc_id`` is its path relative to the source root."""

    doc_id: str
    uri: str
    content_hash: str
    size: int
    modified: str
    mime: str
    etag: str = ""  # the object store's ETag (S3), for cheap change detection; "" for files
    # The groups that may read it (indexgate.access); () before labelling, or when none may.
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """What a source held at one moment: every object with its content hash, and every object
    that was found but refused while listing (unsafe path, over the size limit, access denied)."""

    source: str
    objects: tuple[SourceObject, ...]
    hash: str
    refused: tuple[Quarantined, ...] = ()


@dataclass(frozen=True)
class Quarantined:
    """A file that could not be used, and why. It is listed in the manifest, never dropped.

    ``kind`` is a stable code for tools and reports. The quarantine table in docs/sources.md says
    when each applies. The codes:

    - ``unsafe_path``;
    - ``too_large``: bytes over ``source.max_file_bytes``, or parsed text over
      ``gates.quality.max_document_chars``;
    - ``access_denied``, ``empty``, ``no_text``, ``binary``, ``undecodable``, ``corrupt``,
      ``encrypted``, ``unsupported``, ``timeout``, ``memory``, ``crashed``, ``parser_error``,
      ``changed``, ``unreadable``;
    - ``guardrail``: a finding of a ``block`` detector of the guardrails policy;
    - ``access``: its access labels could not be read (docs/access.md).

    ``reason`` says what happened in words.
    """

    doc_id: str
    reason: str
    kind: str = "unreadable"


@dataclass(frozen=True)
class Document:
    doc_id: str
    uri: str
    content_hash: str
    size: int
    modified: str
    mime: str
    text: str
    title: str = ""


@dataclass(frozen=True)
class Chunk:
    """A span ``text == document.text[start:end]`` of one document."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    n_tokens: int
    text_hash: str             # sha256 of the text the embedder sees: embed_prefix + text
    section: str | None = None  # heading path ("Guide > Install"), for heading-aware chunkers
    embed_prefix: str | None = None  # put before ``text`` when embedding (the heading path)


@dataclass(frozen=True)
class GateResult:
    """One measured gate: its value against its threshold, and whether failing it blocks."""

    name: str
    passed: bool
    value: float | int | str | None
    threshold: float | int | str | None
    blocking: bool = True
    detail: str = ""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    failed: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Plan:
    """What this run will build, decided before any work: the version id and where it goes."""

    alias: str
    version: str
    collection: str
    live: str | None
    action: Literal["noop", "build"]
    workdir: str
    # The live version this one was diffed against (None: no live version, or its manifest is
    # gone), and the counts of that diff.
    base: str | None = None
    changes: dict = field(default_factory=dict)

    @property
    def documents_path(self) -> Path:
        return Path(self.workdir) / "documents.parquet"

    @property
    def chunks_path(self) -> Path:
        return Path(self.workdir) / "chunks.parquet"

    @property
    def parsed_path(self) -> Path:
        """Documents parsed by this run when others were carried from the base (else absent)."""
        return Path(self.workdir) / "parsed.parquet"


@dataclass(frozen=True)
class Outcome:
    """How a sync ended: promoted, rejected (alias left where it was), rolled back (promoted, then
    moved back because the smoke check through the alias failed), or unchanged."""

    alias: str
    version: str
    action: Literal["promoted", "rejected", "rolled_back", "unchanged"]
    reason: str
    live: str | None
    gates: list[dict] = field(default_factory=list)
    # added/changed/unchanged/deleted documents against the version that was live (see Plan).
    changes: dict = field(default_factory=dict)
