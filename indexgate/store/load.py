"""Load a chunks table, with vectors from the embedding cache, into a collection."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from indexgate.chunking.corpus import iter_chunk_batches
from indexgate.embedding.cache import EmbeddingCache
from indexgate.errors import StoreError
from indexgate.store.qdrant import VectorStore

log = logging.getLogger(__name__)


def load_chunks(store: VectorStore, collection: str, chunks: Path, cache: EmbeddingCache, version: str,
                batch: int = 256) -> int:
    """Upsert one point per chunk (UUIDv5 id from the chunk id). Idempotent: re-running writes
    the same points again, so an interrupted load is finished by running it again. Touches no
    other collection."""
    written = 0
    for rows in iter_chunk_batches(chunks, batch=batch):
        vectors = cache.get_many(r["text_hash"] for r in rows)
        missing = [r["chunk_id"] for r in rows if r["text_hash"] not in vectors]
        if missing:
            raise StoreError(f"{len(missing)} chunks have no cached embedding (first: {missing[0]}); embed first")
        store.upsert(
            collection,
            ids=[r["point_id"] for r in rows],
            vectors=np.stack([vectors[r["text_hash"]] for r in rows]),
            payloads=[{"doc_id": r["doc_id"], "chunk_id": r["chunk_id"], "start": r["start"], "end": r["end"],
                       "text": r["text"], "n_tokens": r["n_tokens"], "section": r.get("section"),
                       "version": version} for r in rows],
        )
        written += len(rows)
        log.info("loaded %d points into %s", written, collection)
    return written
