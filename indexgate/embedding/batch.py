"""Embed what the cache lacks, a batch at a time, with progress."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from indexgate.chunking.corpus import iter_chunk_batches
from indexgate.embedding.base import Embedder
from indexgate.embedding.cache import EmbeddingCache
from indexgate.hashing import sha256_text
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
    same text twice (identical chunk texts share one vector), even when another build embeds
    into the same cache at the same time. The text embedded is ``embed_prefix + text``."""
    stats = EmbedStats()
    started = time.perf_counter()
    parquet = pq.ParquetFile(chunks)
    total = parquet.metadata.num_rows
    # embed_prefix is absent from tables written before it existed
    columns = [c for c in ("text_hash", "text", "n_tokens", "embed_prefix") if c in parquet.schema_arrow.names]
    for rows in iter_chunk_batches(chunks, batch=batch, columns=columns):
        stats.chunks += len(rows)
        with cache.lock:
            todo = {}
            for row in rows:
                if row["text_hash"] not in cache and row["text_hash"] not in todo:
                    todo[row["text_hash"]] = row
            stats.reused += len(rows) - len(todo)
            if todo:
                vectors = embedder.embed_documents([(row.get("embed_prefix") or "") + row["text"]
                                                    for row in todo.values()])
                cache.put_many(list(todo), vectors)
                checkpoint("embed")
        if todo:
            stats.embedded += len(todo)
            stats.tokens_embedded += sum(row["n_tokens"] for row in todo.values())
            elapsed = time.perf_counter() - started
            log.info("embedded %d new chunks, %d/%d done (%.1f chunks/s)",
                     stats.embedded, stats.chunks, total, stats.embedded / max(elapsed, 1e-9))
    stats.seconds = time.perf_counter() - started
    return stats


class CachedEmbedding:
    """Document vectors of any texts through the embedding cache (the semantic chunker's
    sentences): each distinct text reaches the model at most once, across runs and threads."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache, batch: int = 256):
        self.embedder = embedder
        self.cache = cache
        self.batch = batch
        self.embedded = 0  # texts sent to the model by this object

    def __call__(self, texts: list[str]) -> np.ndarray:
        hashes = [sha256_text(t) for t in texts]
        fresh: dict[str, np.ndarray] = {}
        for first in range(0, len(texts), self.batch):
            with self.cache.lock:
                todo = {h: t for h, t in zip(hashes[first:first + self.batch], texts[first:first + self.batch])
                        if h not in self.cache and h not in fresh}
                if todo:
                    vectors = self.embedder.embed_documents(list(todo.values()))
                    self.cache.put_many(list(todo), vectors)
                    fresh.update(zip(todo, vectors))
                    self.embedded += len(todo)
        found = {**self.cache.get_many(h for h in hashes if h not in fresh), **fresh}
        return np.stack([found[h] for h in hashes]) if hashes else np.zeros((0, self.embedder.dimension), np.float32)
