"""Parse every object of a snapshot into a documents table; bad files are quarantined."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from indexgate.errors import ParseError
from indexgate.models import Quarantined, Snapshot
from indexgate.parsing import parse
from indexgate.sources.base import Source

log = logging.getLogger(__name__)

SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("uri", pa.string()), ("content_hash", pa.string()), ("size", pa.int64()),
    ("modified", pa.string()), ("mime", pa.string()), ("text", pa.large_string()),
])


@dataclass
class ParseResult:
    documents: int = 0
    characters: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)


def parse_snapshot(source: Source, snapshot: Snapshot, out: Path, batch: int = 64) -> ParseResult:
    """Write ``out`` (Parquet, one row per parsed document, snapshot order).

    A file that cannot be read or parsed is quarantined with its reason and the run goes on;
    nothing is dropped silently: every object is either a row or a quarantine entry.
    """
    result = ParseResult()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    rows: list[dict] = []
    with pq.ParquetWriter(tmp, SCHEMA) as writer:
        for obj in snapshot.objects:
            try:
                text = parse(obj.doc_id, source.read(obj.doc_id), obj.mime)
            except ParseError as exc:
                result.quarantined.append(Quarantined(obj.doc_id, str(exc)))
                log.warning("quarantined %s: %s", obj.doc_id, exc)
                continue
            except OSError as exc:
                result.quarantined.append(Quarantined(obj.doc_id, f"unreadable: {exc.strerror or exc}"))
                log.warning("quarantined %s: %s", obj.doc_id, exc)
                continue
            rows.append({"doc_id": obj.doc_id, "uri": obj.uri, "content_hash": obj.content_hash,
                         "size": obj.size, "modified": obj.modified, "mime": obj.mime, "text": text})
            result.documents += 1
            result.characters += len(text)
            if len(rows) >= batch:
                writer.write_table(pa.Table.from_pylist(rows, SCHEMA))
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, SCHEMA))
    tmp.replace(out)
    return result


def iter_documents(path: Path, batch: int = 64) -> Iterator[dict]:
    """Rows of a documents table, read a batch at a time."""
    for record_batch in pq.ParquetFile(path).iter_batches(batch_size=batch):
        yield from record_batch.to_pylist()
