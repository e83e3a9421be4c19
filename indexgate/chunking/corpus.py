"""Chunk a documents table into a chunks table, streaming."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from indexgate.chunking.base import Chunker
from indexgate.hashing import point_id
from indexgate.parsing.base import page_at
from indexgate.parsing.corpus import iter_documents
from indexgate.tables import write_rows

SCHEMA = pa.schema([
    ("chunk_id", pa.string()), ("point_id", pa.string()), ("doc_id", pa.string()), ("start", pa.int64()),
    ("end", pa.int64()), ("n_tokens", pa.int32()), ("text_hash", pa.string()), ("text", pa.large_string()),
    ("page", pa.int32()),  # 1-based page of the chunk's start, for paged formats (PDF); else null
    # Nullable: the heading path (heading-aware chunkers) and the text embedded before ``text``.
    ("section", pa.string()), ("embed_prefix", pa.string()),
])


@dataclass
class ChunkStats:
    chunks: int = 0
    tokens: int = 0
    documents_without_chunks: int = 0


def chunk_rows(doc: dict, chunker: Chunker) -> list[dict]:
    """The chunks table's rows of one documents-table row, in order (what :func:`chunk_table`
    writes for it)."""
    return [{"chunk_id": c.chunk_id, "point_id": point_id(c.chunk_id), "doc_id": c.doc_id,
             "start": c.start, "end": c.end, "n_tokens": c.n_tokens,
             "text_hash": c.text_hash, "text": c.text, "page": page_at(doc.get("pages"), c.start),
             "section": c.section, "embed_prefix": c.embed_prefix}
            for c in chunker.chunk(doc["doc_id"], doc["text"])]


def chunk_table(documents: Path, chunker: Chunker, out: Path, batch: int = 256) -> ChunkStats:
    """Write ``out`` (Parquet, one row per chunk in document order). Deterministic: the same
    documents and chunker give the same rows, ids included."""
    stats = ChunkStats()

    def rows():
        for doc in iter_documents(documents):
            chunks = chunk_rows(doc, chunker)
            stats.documents_without_chunks += not chunks
            for row in chunks:
                stats.chunks += 1
                stats.tokens += row["n_tokens"]
                yield row

    write_rows(out, SCHEMA, rows(), batch)
    return stats


def iter_chunk_batches(path: Path, batch: int = 256, columns: list[str] | None = None) -> Iterator[list[dict]]:
    for record_batch in pq.ParquetFile(path).iter_batches(batch_size=batch, columns=columns):
        yield record_batch.to_pylist()
