"""The store interface every backend implements, and the records it returns.

A *collection* is one version of an alias (``<alias>__<version>``); an *alias* names the
collection readers query. Backends: :mod:`indexgate.store.edge` (Qdrant Edge in-process, the
embedded default) and :mod:`indexgate.store.client` (qdrant-client, for a Qdrant server).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

PAYLOAD_FIELDS = ("doc_id", "chunk_id", "start", "end", "text", "version")
# The payload field holding who may read a point's document; keyword-indexed in every collection.
GROUPS_FIELD = "groups"


@dataclass(frozen=True)
class Hit:
    doc_id: str
    chunk_id: str
    start: int
    end: int
    score: float
    text: str
    version: str

    def as_dict(self) -> dict:
        return {"doc_id": self.doc_id, "chunk_id": self.chunk_id, "start": self.start, "end": self.end,
                "score": self.score, "text": self.text, "version": self.version}


def hit_of(payload: dict, score: float) -> Hit:
    return Hit(doc_id=payload["doc_id"], chunk_id=payload["chunk_id"], start=int(payload["start"]),
               end=int(payload["end"]), score=float(score), text=payload["text"], version=payload["version"])


@dataclass(frozen=True)
class StoredPoint:
    """One point read back by :meth:`VectorStore.scroll`: its id as a string (both backends)."""

    id: str
    payload: dict = field(default_factory=dict)
    vector: list[float] | None = None


@dataclass(frozen=True)
class SearchMode:
    """How a collection is searched, by its size at sealing:

    - below ``exact_below`` points: exactly, on the float vectors (nothing is built);
    - from ``exact_below`` to ``graph_from``: a full scan of int8 scalar-quantized vectors. Its
      best ``oversampling`` x k candidates are rescored on the float vectors. No graph is built,
      so sealing takes seconds, not the tens of minutes a graph takes on few cores;
    - from ``graph_from``: an HNSW graph built with ``m`` and ``ef_construct``, searched with
      ``hnsw_ef`` candidates (on the quantized vectors, rescored the same way).

    On the embedded store the tiers apply per segment: a segment below ``exact_below`` points
    (the new points of a copied version) is searched exactly (docs/store.md).

    Measured on real vectors in docs/scaling.md (top-10 recall against exact >= 0.99)."""

    exact_below: int = 20_000
    m: int = 16
    ef_construct: int = 128
    hnsw_ef: int = 128
    graph_from: int = 2_000_000
    oversampling: float = 2.0

    def indexing_threshold_kb(self, dimension: int) -> int:
        """Qdrant's ``indexing_threshold`` (KB of float vectors in a segment) for ``exact_below``
        points: a smaller segment is not indexed and is searched exactly."""
        return max(1, self.exact_below * dimension * 4 // 1024)


class VectorStore:
    """Collections of chunk points and the aliases that point at them.

    Every backend keeps these guarantees:

    - writes are applied when the call returns;
    - ``upsert`` is idempotent;
    - :meth:`point_alias` moves an alias atomically: readers see the old target or the new one,
      never neither;
    - dropping a collection also removes the aliases pointing at it.
    """

    location: str
    write_lock: threading.RLock

    # -- collections -------------------------------------------------------------------------
    def collections(self) -> list[str]:
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def create(self, name: str, dimension: int, owner: str | None = None, labels: dict | None = None) -> None:
        """Create an empty cosine collection, recording ``owner`` (an installation id) in it; a
        no-op when it exists with the same vector size.

        ``labels`` are payload fields that every point of the collection holds with the same
        value (the version). Writers still put them in each payload. Qdrant Edge keeps them once,
        for the whole collection, and adds them to every payload it returns; it refuses an upsert
        whose payload gives a label another value. A server keeps the payloads as written."""
        raise NotImplementedError

    def create_from(self, name: str, base: str, dimension: int, owner: str | None,
                    keep: Collection[str], labels: dict) -> bool:
        """Create ``name`` as a copy of the sealed collection ``base`` holding only the points in
        ``keep``; every read of it returns ``labels`` in each payload (see :meth:`create`).

        ``base`` is not changed. ``name`` appears whole or not at all. Returns False (nothing
        done) where the backend cannot copy (a server)."""
        return False

    def owner(self, name: str) -> str | None:
        """The installation id recorded in the collection when it was created, or None."""
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError

    def vector_size(self, name: str) -> int:
        raise NotImplementedError

    def seal(self, name: str) -> None:
        """The collection is complete: make it ready to serve (index it if large). Idempotent."""

    def wait_ready(self, name: str, timeout: float = 120.0) -> None:
        """Return when the collection is ready to serve; raise StoreError after ``timeout`` s."""
        raise NotImplementedError

    def count(self, name: str) -> int:
        raise NotImplementedError

    # -- points ------------------------------------------------------------------------------
    @contextmanager
    def bulk_writes(self, name: str):
        """Kept for callers; both backends make each :meth:`upsert` durable on their own."""
        yield

    def upsert(self, name: str, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        raise NotImplementedError

    def set_payload(self, name: str, ids: Sequence[str], payload: dict) -> None:
        """Set these payload fields on these points (the others stay)."""
        raise NotImplementedError

    def delete_payload(self, name: str, ids: Sequence[str], keys: Sequence[str]) -> None:
        raise NotImplementedError

    def delete_points(self, name: str, ids: Sequence[str]) -> None:
        raise NotImplementedError

    def scroll(self, name: str, limit: int = 10_000, with_vectors: bool = False) -> list[StoredPoint]:
        """Up to ``limit`` points with their whole payload (and vectors if asked)."""
        raise NotImplementedError

    def iter_ids(self, name: str, batch: int = 1024) -> Iterator[str]:
        """Every point id, read back from the store (not from what we believe we wrote)."""
        raise NotImplementedError

    def iter_payloads(self, name: str, fields: Sequence[str], batch: int = 512) -> Iterator[tuple[str, dict]]:
        """(point id, payload restricted to ``fields``) of every point, read back from the store."""
        raise NotImplementedError

    def search(self, name: str, vector: np.ndarray, k: int, groups: Sequence[str] | None = None) -> list[Hit]:
        return self.search_many(name, np.asarray(vector)[None, :], k, groups)[0]

    def search_many(self, name: str, vectors: np.ndarray, k: int,
                    groups: Sequence[str] | None = None) -> list[list[Hit]]:
        """Top-k hits for each query vector; ``name`` may be a collection or an alias. With
        ``groups``, only points whose ``groups`` payload holds one of them (``()``: no hit);
        None searches every point (administrators, integrity checks)."""
        raise NotImplementedError

    # -- aliases -----------------------------------------------------------------------------
    def aliases(self) -> dict[str, str]:
        """Every alias and the collection it points at."""
        raise NotImplementedError

    def alias_target(self, alias: str) -> str | None:
        """The collection the alias points at now, read from the store; None if no such alias."""
        raise NotImplementedError

    def delete_alias(self, alias: str) -> None:
        raise NotImplementedError

    def point_alias(self, alias: str, collection: str) -> None:
        raise NotImplementedError

    # -- housekeeping ------------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Remove what dead processes left behind (backend-specific); returns what was removed."""
        return []

    def close(self) -> None:
        raise NotImplementedError
