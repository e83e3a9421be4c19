"""Parse every object of a snapshot into a documents table; bad files are quarantined."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from indexgate.errors import ParseError
from indexgate.guardrails import GuardrailsPolicy, guard, to_redacted
from indexgate.hashing import sha256_bytes
from indexgate.models import Quarantined, Snapshot, SourceObject
from indexgate.parsing.worker import libraries, shared_parser
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
    # Guardrails: where each placeholder in text stands in the original document, as
    # [start, end, orig_start, orig_end]; null when nothing was redacted. Offsets only, no values.
    ("redactions", pa.list_(pa.list_(pa.int64()))),
])


@dataclass
class ParseResult:
    documents: int = 0
    characters: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    # Guardrail findings per document that had any (GuardReport.as_dict(): counts, never values).
    guarded: list[dict] = field(default_factory=list)


def read_verified(source: Source, obj: SourceObject, spool: Spool | None = None) -> bytes:
    """The bytes of ``obj`` exactly as the snapshot hashed them: from the spool when it holds
    them, else from the source.

    Raises ParseError (kind ``changed``) when the source now holds other bytes. The version id
    promises the snapshot's content, so different content is never parsed into it. The next sync
    takes the new content."""
    data = spool.get(obj.content_hash) if spool is not None else None
    if data is None or sha256_bytes(data) != obj.content_hash:
        data = source.read(obj.doc_id)
        if sha256_bytes(data) != obj.content_hash:
            raise ParseError("changed since the snapshot was taken (sha256 differs); the next sync takes it",
                             "changed")
    return data


def parse_snapshot(source: Source, snapshot: Snapshot, out: Path, limits: ParsingConfig | None = None,
                   spool: Spool | None = None, batch: int = 64, max_chars: int | None = None,
                   guardrails: GuardrailsPolicy | None = None,
                   on_document: Callable[[dict], None] | None = None) -> ParseResult:
    """Write ``out`` (Parquet, one row per parsed document, snapshot order).

    Every object is either a row or a quarantine entry with its reason. Nothing is dropped
    silently. The snapshot's refusals come first: unsafe paths, files over the size limit, access
    denied. Then come the files that cannot be read or parsed. Parsing runs in a worker process
    under the time and memory limits of ``limits``. The run goes on past any bad file. A document
    whose text is longer than ``max_chars`` characters is quarantined (kind ``too_large``) before
    its text is kept. So one oversized file costs itself, never the version. Nothing downstream
    (chunking, embedding) ever holds it.

    With ``guardrails``, each text is guarded before it is kept (docs/guardrails.md):

    - findings of ``redact`` detectors are replaced by placeholders. The row's ``redactions`` map
      them to the original offsets. Its ``pages`` are mapped into the redacted text;
    - a document with a ``block`` finding is quarantined (kind ``guardrail``). The reason names
      the detectors and counts.

    The original text is never written.

    ``on_document(row)`` is called with each row as it is written, in table order, in this
    thread: the text as stored, never a quarantined or blocked document's. What it raises stops
    the parse (no table is written).
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
            text, pages, redactions = parsed.text, list(parsed.pages) or None, None
            if guardrails is not None:
                guarded = guard(obj.doc_id, text, guardrails)
                if guarded.report.outcome != "clean":
                    result.guarded.append(guarded.report.as_dict())
                if guarded.redacted is None:
                    reason = guarded.report.reason
                    result.quarantined.append(Quarantined(obj.doc_id, reason, "guardrail"))
                    log.warning("quarantined %s: %s", obj.doc_id, reason)  # detector names and counts only
                    continue
                reps = guarded.redacted.replacements
                if reps:
                    text = guarded.redacted.text
                    redactions = [[r.start, r.end, r.orig_start, r.orig_end] for r in reps]
                    pages = [to_redacted(reps, p, p)[0] for p in pages] if pages else pages
            result.documents += 1
            result.characters += len(text)
            row = {"doc_id": obj.doc_id, "uri": obj.uri, "content_hash": obj.content_hash,
                   "size": obj.size, "modified": obj.modified, "mime": obj.mime, "text": text,
                   "pages": pages, "redactions": redactions}
            if on_document is not None:
                on_document(row)
            yield row

    with shared_parser(limits) as parser:
        try:  # one worker with the libraries of every file here, not one more per new file type
            parser.ensure_started(libraries((o.doc_id, o.mime) for o in snapshot.objects))
        except ParseError:
            pass  # the first file's parse starts it again, and quarantines that file if it fails
        write_rows(out, SCHEMA, rows(parser), batch)
    return result


def iter_documents(path: Path, batch: int = 64) -> Iterator[dict]:
    """Rows of a documents table, read a batch at a time."""
    for record_batch in pq.ParquetFile(path).iter_batches(batch_size=batch):
        yield from record_batch.to_pylist()
