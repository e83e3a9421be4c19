"""Embed what the cache lacks, a batch at a time, with progress."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from indexgate.chunking.corpus import iter_chunk_batches
from indexgate.embedding.base import Embedder
from indexgate.embedding.cache import EmbeddingCache
from indexgate.testhook import checkpoint

log = logging.getLogger(__name__)


@dataclass
class EmbedStats:
    chunks: int = 0
    embedded: int = 0          # texts sent to the model
    reused: int = 0            # chunks whose vector came from the cache
    tokens_embedded: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"chunks": self.chunks, "embedded": self.embedded, "reused": self.reused,
                "tokens_embedded": self.tokens_embedded, "seconds": round(self.seconds, 3)}


def embed_chunks(chunks: Path, embedder: Embedder, cache: EmbeddingCache, batch: int = 256) -> EmbedStats:
    """Make sure every chunk of the table has a cached vector. Idempotent: a second call embeds
    nothing; after a crash, only what was not cached yet is embedded again. Never embeds the
    same text twice (identical chunk texts share one vector)."""
    stats = EmbedStats()
    started = time.perf_counter()
    total = pq.ParquetFile(chunks).metadata.num_rows
    for rows in iter_chunk_batches(chunks, batch=batch, columns=["text_hash", "text", "n_tokens"]):
        stats.chunks += len(rows)
        todo = {}
        for row in rows:
            if row["text_hash"] not in cache and row["text_hash"] not in todo:
                todo[row["text_hash"]] = row
        stats.reused += len(rows) - len(todo)
        if todo:
            vectors = embedder.embed_documents([row["text"] for row in todo.values()])
            cache.put_many(list(todo), vectors)
            checkpoint("embed")
            stats.embedded += len(todo)
            stats.tokens_embedded += sum(row["n_tokens"] for row in todo.values())
            elapsed = time.perf_counter() - started
            log.info("embedded %d new chunks, %d/%d done (%.1f chunks/s)",
                     stats.embedded, stats.chunks, total, stats.embedded / max(elapsed, 1e-9))
    stats.seconds = time.perf_counter() - started
    return stats
