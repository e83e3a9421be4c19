"""Load a chunks table, with vectors from the embedding cache, into a collection."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from indexgate.chunking.corpus import iter_chunk_batches
from indexgate.embedding.cache import EmbeddingCache
from indexgate.errors import StoreError
from indexgate.progress import Progress
from indexgate.store.base import VectorStore
from indexgate.testhook import checkpoint

log = logging.getLogger(__name__)


def point_payload(row: dict, version: str, groups: Sequence[str] | None = None) -> dict:
    """The payload of one chunk's point; ``groups``: who may read its document (indexed, filtered
    by every search)."""
    payload = {"doc_id": row["doc_id"], "chunk_id": row["chunk_id"], "start": row["start"], "end": row["end"],
               "text": row["text"], "n_tokens": row["n_tokens"], "version": version,
               "section": row.get("section")}  # heading path (heading-aware chunkers), else None
    if row.get("page") is not None:  # PDF chunks: the page their text starts on
        payload["page"] = row["page"]
    if groups is not None:
        payload["groups"] = list(groups)
    return payload


def load_chunks(store: VectorStore, collection: str, chunks: Path, cache: EmbeddingCache, version: str,
                batch: int = 256, skip: Collection[str] = frozenset(),
                groups: Mapping[str, Sequence[str]] | None = None) -> int:
    """Upsert one point per chunk (UUIDv5 id from the chunk id), except the point ids in ``skip``
    (already in the collection). Idempotent: re-running writes the same points again, so an
    interrupted load is finished by running it again. Touches no other collection. Returns the
    number of chunks the collection now holds points for. ``groups``: each document's access
    groups, written into its points' payloads (a document missing from it gets none). Shows its
    progress in points (:class:`~indexgate.progress.Progress`)."""
    written = 0
    total = pq.ParquetFile(chunks).metadata.num_rows
    with store.bulk_writes(collection), Progress(f"loading {collection}", total, "points") as progress:
        for rows in iter_chunk_batches(chunks, batch=batch):
            progress.advance(len(rows))
            if skip:
                written += len(rows)
                rows = [r for r in rows if r["point_id"] not in skip]
                written -= len(rows)
                if not rows:
                    continue
            vectors = cache.get_many(r["text_hash"] for r in rows)
            missing = [r["chunk_id"] for r in rows if r["text_hash"] not in vectors]
            if missing:
                raise StoreError(f"{len(missing)} chunks have no cached embedding (first: {missing[0]}); embed first")
            store.upsert(
                collection,
                ids=[r["point_id"] for r in rows],
                vectors=np.stack([vectors[r["text_hash"]] for r in rows]),
                payloads=[point_payload(r, version, None if groups is None else groups.get(r["doc_id"], ()))
                          for r in rows],
            )
            written += len(rows)
            log.info("loaded %d points into %s", written, collection)
            checkpoint("load")
    return written
