"""The store on qdrant-client: a Qdrant server (``connect(url=...)``).

qdrant-client's local mode (``QdrantClient(path=...)``) runs the same code path in-process; it
serves only as the test stand-in for a server (see tests/unit/store), never as the default.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
from qdrant_client import QdrantClient, models

from indexgate.errors import StoreError
from indexgate.store.base import GROUPS_FIELD, PAYLOAD_FIELDS, Hit, SearchMode, StoredPoint, VectorStore, hit_of

OWNER_KEY = "indexgate_installation"


class ClientStore(VectorStore):
    """Collections of chunk points. Writes wait for Qdrant to apply them (``wait=True``)."""

    def __init__(self, client: QdrantClient, location: str, mode: SearchMode = SearchMode(), local: bool = False):
        self.client = client
        self.local = local  # local mode searches exactly and warns about search params
        self.location = location
        self.mode = mode
        self.write_lock = threading.RLock()

    # -- collections -------------------------------------------------------------------------
    def collections(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections)

    def exists(self, name: str) -> bool:
        return self.client.collection_exists(name)

    def create(self, name: str, dimension: int, owner: str | None = None, labels: dict | None = None) -> None:
        with self.write_lock:
            if self.exists(name):
                have = self.vector_size(name)
                if have != dimension:
                    raise StoreError(f"collection {name} exists with vector size {have}, expected {dimension}")
                return
            # Below exact_below points Qdrant builds no graph (indexing_threshold is in KB of vectors).
            threshold_kb = self.mode.indexing_threshold_kb(dimension)
            self.client.create_collection(
                name, vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE),
                hnsw_config=models.HnswConfigDiff(m=self.mode.m, ef_construct=self.mode.ef_construct),
                optimizers_config=models.OptimizersConfigDiff(indexing_threshold=threshold_kb),
                metadata={OWNER_KEY: owner} if owner else None,
            )
            # Searches filter on the groups: a keyword index keeps that cheap (a server only: local
            # mode has no payload indexes and warns).
            if not self.local:
                self.client.create_payload_index(name, GROUPS_FIELD, models.PayloadSchemaType.KEYWORD)

    def owner(self, name: str) -> str | None:
        metadata = self.client.get_collection(name).config.metadata or {}
        value = metadata.get(OWNER_KEY)
        return str(value) if value else None

    def drop(self, name: str) -> None:
        with self.write_lock:
            if self.exists(name):
                self.client.delete_collection(name)

    def vector_size(self, name: str) -> int:
        params = self.client.get_collection(name).config.params.vectors
        return int(params.size)

    def wait_ready(self, name: str, timeout: float = 120.0) -> None:
        """Wait until the collection's status is green (fully optimised), so the first queries
        after a promotion are not slow; raise :class:`StoreError` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.client.get_collection(name).status
            if status == models.CollectionStatus.GREEN:
                return
            if time.monotonic() >= deadline:
                raise StoreError(f"collection {name} is still {status} after {timeout:g} s; not promoting it")
            time.sleep(0.2)

    def count(self, name: str) -> int:
        return int(self.client.count(name, exact=True).count)

    # -- points ------------------------------------------------------------------------------
    def upsert(self, name: str, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        """Idempotent: the same ids overwrite the same points."""
        if not ids:
            return
        with self.write_lock:
            # Points built without pydantic validation: the ids, float lists and JSON payloads
            # are ours, and the server (or local mode) validates every point itself.
            points = [models.PointStruct.model_construct(id=i, vector=v, payload=p)
                      for i, v, p in zip(ids, np.asarray(vectors).tolist(), payloads, strict=True)]
            self.client.upsert(name, points=points, wait=True)

    def set_payload(self, name: str, ids: Sequence[str], payload: dict) -> None:
        with self.write_lock:
            self.client.set_payload(name, payload=payload, points=list(ids), wait=True)

    def delete_payload(self, name: str, ids: Sequence[str], keys: Sequence[str]) -> None:
        with self.write_lock:
            self.client.delete_payload(name, keys=list(keys), points=list(ids), wait=True)

    def delete_points(self, name: str, ids: Sequence[str]) -> None:
        with self.write_lock:
            self.client.delete(name, points_selector=list(ids), wait=True)

    def scroll(self, name: str, limit: int = 10_000, with_vectors: bool = False) -> list[StoredPoint]:
        points, _ = self.client.scroll(name, limit=limit, with_payload=True, with_vectors=with_vectors)
        return [StoredPoint(str(p.id), dict(p.payload or {}), list(p.vector) if with_vectors else None)
                for p in points]

    def iter_ids(self, name: str, batch: int = 1024) -> Iterator[str]:
        offset = None
        while True:
            points, offset = self.client.scroll(name, limit=batch, offset=offset,
                                                with_payload=False, with_vectors=False)
            for p in points:
                yield str(p.id)
            if offset is None:
                return

    def iter_payloads(self, name: str, fields: Sequence[str], batch: int = 512) -> Iterator[tuple[str, dict]]:
        offset = None
        while True:
            points, offset = self.client.scroll(name, limit=batch, offset=offset,
                                                with_payload=list(fields), with_vectors=False)
            for p in points:
                yield str(p.id), dict(p.payload or {})
            if offset is None:
                return

    def search_many(self, name: str, vectors: np.ndarray, k: int,
                    groups: Sequence[str] | None = None) -> list[list[Hit]]:
        if groups is not None and not groups:
            return [[] for _ in range(len(vectors))]  # no group: reads nothing
        where = None if groups is None else models.Filter(
            must=[models.FieldCondition(key=GROUPS_FIELD, match=models.MatchAny(any=list(groups)))])
        params = None if self.local else models.SearchParams(hnsw_ef=max(self.mode.hnsw_ef, k))
        requests = [models.QueryRequest(query=v.tolist(), limit=k, with_payload=list(PAYLOAD_FIELDS), params=params,
                                        filter=where)
                    for v in np.asarray(vectors)]
        results = []
        for start in range(0, len(requests), 64):
            for response in self.client.query_batch_points(name, requests=requests[start:start + 64]):
                results.append([hit_of(p.payload, p.score) for p in response.points])
        return results

    # -- aliases -----------------------------------------------------------------------------
    def aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def alias_target(self, alias: str) -> str | None:
        return self.aliases().get(alias)

    def delete_alias(self, alias: str) -> None:
        with self.write_lock:
            if self.alias_target(alias) is not None:
                self.client.update_collection_aliases(change_aliases_operations=[
                    models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))])

    def point_alias(self, alias: str, collection: str) -> None:
        """Point ``alias`` at ``collection`` in ONE ``update_collection_aliases`` call (delete +
        create), which Qdrant applies atomically: readers see the old or the new, never neither."""
        if not self.exists(collection):
            raise StoreError(f"collection {collection} does not exist; cannot point {alias!r} at it")
        ops: list = []
        if self.alias_target(alias) is not None:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        ops.append(models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)))
        with self.write_lock:
            self.client.update_collection_aliases(change_aliases_operations=ops)

    def close(self) -> None:
        self.client.close()


def open_local(path, wait_s: float = 0.0) -> QdrantClient:
    """qdrant-client's local mode at ``path`` (tests only: it locks its folder to one process)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return QdrantClient(path=str(path))
        except RuntimeError as exc:
            if "already accessed" not in str(exc) or time.monotonic() >= deadline:
                raise StoreError(f"qdrant-client local mode at {path} is in use by another process") from None
            time.sleep(0.1)
