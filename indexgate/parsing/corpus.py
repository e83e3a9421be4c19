"""Parse every object of a snapshot into a documents table; bad files are quarantined."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from indexgate.errors import ParseError
from indexgate.hashing import sha256_bytes
from indexgate.models import Quarantined, Snapshot, SourceObject
from indexgate.parsing.worker import shared_parser
from indexgate.settings import ParsingConfig
from indexgate.sources.base import Source
from indexgate.sources.spool import Spool
from indexgate.tables import write_rows

log = logging.getLogger(__name__)

SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("uri", pa.string()), ("content_hash", pa.string()), ("size", pa.int64()),
    ("modified", pa.string()), ("mime", pa.string()), ("text", pa.large_string()),
    # Offset in text where each page starts (page 1 first); null for formats without pages.
    ("pages", pa.list_(pa.int64())),
])


@dataclass
class ParseResult:
    documents: int = 0
    characters: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)


def read_verified(source: Source, obj: SourceObject, spool: Spool | None = None) -> bytes:
    """The bytes of ``obj`` exactly as the snapshot hashed them: from the spool when it holds
    them, else from the source. Raises ParseError (kind ``changed``) when the source now holds
    other bytes: the version id promises the snapshot's content, so different content is never
    parsed into it (the next sync takes the new content)."""
    data = spool.get(obj.content_hash) if spool is not None else None
    if data is None or sha256_bytes(data) != obj.content_hash:
        data = source.read(obj.doc_id)
        if sha256_bytes(data) != obj.content_hash:
            raise ParseError("changed since the snapshot was taken (sha256 differs); the next sync takes it",
                             "changed")
    return data


def parse_snapshot(source: Source, snapshot: Snapshot, out: Path, limits: ParsingConfig | None = None,
                   spool: Spool | None = None, batch: int = 64, max_chars: int | None = None) -> ParseResult:
    """Write ``out`` (Parquet, one row per parsed document, snapshot order).

    Every object is either a row or a quarantine entry with its reason, nothing is dropped
    silently: the snapshot's refusals (unsafe paths, files over the size limit, access denied)
    come first, then every file that cannot be read or parsed. Parsing runs in a worker process
    under the time and memory limits of ``limits``; the run goes on past any bad file. A document
    whose text is longer than ``max_chars`` characters is quarantined (kind ``too_large``) before
    its text is kept: one oversized file costs itself, never the version, and nothing downstream
    (chunking, embedding) ever holds it.
    """
    result = ParseResult(quarantined=list(snapshot.refused))

    def rows(parser):
        for obj in snapshot.objects:
            try:
                parsed = parser.parse(obj.doc_id, read_verified(source, obj, spool), obj.mime)
                if max_chars is not None and len(parsed.text) > max_chars:
                    raise ParseError(f"document over the size limit: {len(parsed.text):,} characters of text"
                                     f" > gates.quality.max_document_chars {max_chars:,}", "too_large")
            except ParseError as exc:
                result.quarantined.append(Quarantined(obj.doc_id, str(exc), exc.kind))
                log.warning("quarantined %s: %s", obj.doc_id, exc)
                continue
            except OSError as exc:
                result.quarantined.append(Quarantined(obj.doc_id, f"unreadable: {exc.strerror or exc}", "unreadable"))
                log.warning("quarantined %s: %s", obj.doc_id, exc)
                continue
            result.documents += 1
            result.characters += len(parsed.text)
            yield {"doc_id": obj.doc_id, "uri": obj.uri, "content_hash": obj.content_hash,
                   "size": obj.size, "modified": obj.modified, "mime": obj.mime, "text": parsed.text,
                   "pages": list(parsed.pages) or None}

    with shared_parser(limits) as parser:
        write_rows(out, SCHEMA, rows(parser), batch)
    return result


def iter_documents(path: Path, batch: int = 64) -> Iterator[dict]:
    """Rows of a documents table, read a batch at a time."""
    for record_batch in pq.ParquetFile(path).iter_batches(batch_size=batch):
        yield from record_batch.to_pylist()
