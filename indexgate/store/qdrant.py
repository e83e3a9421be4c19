"""Qdrant behind a small interface: embedded (``QdrantClient(path=...)``) by default, a server
when a URL is given, with nothing else changing.

Embedded Qdrant locks its folder to one process and is not safe for concurrent writes from
several threads, so :func:`connect` hands out one client per location per process, and every
write goes through one lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

from indexgate.errors import StoreError


PAYLOAD_FIELDS = ("doc_id", "chunk_id", "start", "end", "text", "version")


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


class _SharedTransaction:
    """Stands in for a local collection's SQLite connection inside :meth:`VectorStore.bulk_writes`:
    qdrant_client's ``with connection:`` around each point's write (a commit each) becomes a no-op,
    so the writes join one transaction, which the store commits. Everything else is the connection's."""

    def __init__(self, conn):
        self._conn = conn

    def __enter__(self):
        return self._conn

    def __exit__(self, *exc) -> bool:
        return False

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


class VectorStore:
    """Collections of chunk points. Writes wait for Qdrant to apply them (``wait=True``)."""

    def __init__(self, client: QdrantClient, location: str):
        self.client = client
        self.location = location
        self.write_lock = threading.RLock()
        self._batched: dict[str, object] = {}  # collection -> its SQLite connection, inside bulk_writes

    # -- collections -------------------------------------------------------------------------
    def collections(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections)

    def exists(self, name: str) -> bool:
        return self.client.collection_exists(name)

    def create(self, name: str, dimension: int) -> None:
        """Create an empty cosine collection; a no-op when it exists with the same vector size."""
        with self.write_lock:
            if self.exists(name):
                have = self.vector_size(name)
                if have != dimension:
                    raise StoreError(f"collection {name} exists with vector size {have}, expected {dimension}")
                return
            self.client.create_collection(
                name, vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE)
            )

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
    @contextmanager
    def bulk_writes(self, name: str):
        """Writes to collection ``name`` inside this block are committed once per :meth:`upsert`
        call, without an fsync each.

        Embedded Qdrant (qdrant_client's local mode) keeps a collection in SQLite and commits every
        point in its own transaction, with SQLite's default full sync: about 13 ms a point on this
        machine, so loading a few hundred points took seconds and dominated an incremental sync.
        Inside the block the collection's SQLite file runs in WAL mode with ``synchronous=NORMAL``
        (SQLite's documented safe pairing: a power cut can drop the last commits, never corrupt
        the file), and the points of one :meth:`upsert` call share one transaction, committed when
        the call returns or fails (a commit per point cost 0.1 ms even so: 26 ms of loading 327
        points, measured on its own). So a load that is killed keeps every batch it finished, and
        :func:`indexgate.recovery.verify_shadow` resumes it from there. On leaving, a checkpoint
        writes and syncs everything into the file and the usual rollback journal with full sync
        comes back, so when a load returns its points are as durable as before. A no-op for a
        Qdrant server, or if the local storage is not the expected SQLite connection.
        """
        local = getattr(self.client, "_client", None)
        collection = getattr(local, "collections", {}).get(name) if hasattr(local, "collections") else None
        persistence = getattr(collection, "storage", None)
        conn = getattr(persistence, "storage", None)
        if conn is None or not hasattr(conn, "execute") or not hasattr(conn, "commit"):
            yield
            return
        with self.write_lock:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            persistence.storage = _SharedTransaction(conn)
            self._batched[name] = conn
        try:
            yield
        finally:
            with self.write_lock:
                self._batched.pop(name, None)
                persistence.storage = conn
                conn.commit()
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")
                conn.execute("PRAGMA synchronous=FULL")

    def upsert(self, name: str, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        """Idempotent: the same ids overwrite the same points."""
        if not ids:
            return
        with self.write_lock:
            try:
                # Points built without pydantic validation: the ids, float lists and JSON payloads
                # are ours, and the client validates every point itself (embedded Qdrant) or the
                # server does. Validating them here too cost 20-25 ms per 327 points, a Batch as well.
                points = [models.PointStruct.model_construct(id=i, vector=v, payload=p)
                          for i, v, p in zip(ids, np.asarray(vectors).tolist(), payloads, strict=True)]
                self.client.upsert(name, points=points, wait=True)
            finally:
                # Inside bulk_writes: the points applied so far are in the collection's memory, so
                # they are committed even if a later one failed, as a commit per point would have.
                if (conn := self._batched.get(name)) is not None:
                    conn.commit()

    def iter_ids(self, name: str, batch: int = 1024) -> Iterator[str]:
        """Every point id, read back from the store (not from what we believe we wrote)."""
        offset = None
        while True:
            points, offset = self.client.scroll(name, limit=batch, offset=offset,
                                                with_payload=False, with_vectors=False)
            for p in points:
                yield str(p.id)
            if offset is None:
                return

    def iter_payloads(self, name: str, fields: Sequence[str], batch: int = 512) -> Iterator[tuple[str, dict]]:
        """(point id, payload restricted to ``fields``) of every point, read back from the store."""
        offset = None
        while True:
            points, offset = self.client.scroll(name, limit=batch, offset=offset,
                                                with_payload=list(fields), with_vectors=False)
            for p in points:
                yield str(p.id), dict(p.payload or {})
            if offset is None:
                return

    def search(self, name: str, vector: np.ndarray, k: int) -> list[Hit]:
        return self.search_many(name, np.asarray(vector)[None, :], k)[0]

    def search_many(self, name: str, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """Top-k hits for each query vector; ``name`` may be a collection or an alias."""
        requests = [models.QueryRequest(query=v.tolist(), limit=k, with_payload=list(PAYLOAD_FIELDS))
                    for v in np.asarray(vectors)]
        results = []
        for start in range(0, len(requests), 64):
            for response in self.client.query_batch_points(name, requests=requests[start:start + 64]):
                results.append([
                    Hit(doc_id=p.payload["doc_id"], chunk_id=p.payload["chunk_id"], start=int(p.payload["start"]),
                        end=int(p.payload["end"]), score=float(p.score), text=p.payload["text"],
                        version=p.payload["version"])
                    for p in response.points
                ])
        return results

    # -- aliases -----------------------------------------------------------------------------
    def alias_target(self, alias: str) -> str | None:
        """The collection the alias points at now, read from the store; None if no such alias."""
        for a in self.client.get_aliases().aliases:
            if a.alias_name == alias:
                return a.collection_name
        return None

    def delete_alias(self, alias: str) -> None:
        with self.write_lock:
            if self.alias_target(alias) is not None:
                self.client.update_collection_aliases(change_aliases_operations=[
                    models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))])

    def point_alias(self, alias: str, collection: str) -> None:
        """Point ``alias`` at ``collection`` in ONE ``update_collection_aliases`` call (delete +
        create), which Qdrant applies atomically: readers see the old or the new, never neither."""
        ops: list = []
        if self.alias_target(alias) is not None:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        ops.append(models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)))
        with self.write_lock:
            self.client.update_collection_aliases(change_aliases_operations=ops)


_STORES: dict[str, VectorStore] = {}
_STORES_LOCK = threading.Lock()


def _open_embedded(path: Path, wait_s: float) -> QdrantClient:
    """Embedded Qdrant locks its folder to one process: wait up to ``wait_s`` for another process
    to let go of it, then fail with a message that says what to do."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return QdrantClient(path=str(path))
        except RuntimeError as exc:
            if "already accessed" not in str(exc) or time.monotonic() >= deadline:
                waited = f" (waited {wait_s:g} s)" if wait_s else ""
                raise StoreError(
                    f"embedded Qdrant at {path} is in use by another process{waited}: embedded Qdrant"
                    " allows one process at a time. Wait for it to finish (or set INDEXGATE_LIFECYCLE__WAIT_S"
                    " to wait), or run a Qdrant server and set QDRANT_URL"
                ) from None
            time.sleep(0.1)


def connect(path: Path | None = None, url: str | None = None, api_key: str | None = None,
            wait_s: float = 0.0) -> VectorStore:
    """The process's store for a location: a server when ``url`` is given, else embedded at ``path``
    (waiting up to ``wait_s`` seconds for another process to release it)."""
    key = url or f"path:{Path(path).resolve()}"
    with _STORES_LOCK:
        if key not in _STORES:
            if url:
                client = QdrantClient(url=url, api_key=api_key)
            elif path is not None:
                Path(path).mkdir(parents=True, exist_ok=True)
                client = _open_embedded(Path(path), wait_s)
            else:
                raise StoreError("no Qdrant location: give a path or a URL")
            _STORES[key] = VectorStore(client, url or str(path))
        return _STORES[key]


def disconnect(store: VectorStore) -> None:
    """Close one store's client and forget it (releases embedded Qdrant's folder lock)."""
    with _STORES_LOCK:
        for key, value in list(_STORES.items()):
            if value is store:
                del _STORES[key]
    store.client.close()


def disconnect_all() -> None:
    """Close every client of this process (releases embedded Qdrant's folder lock)."""
    with _STORES_LOCK:
        for store in _STORES.values():
            store.client.close()
        _STORES.clear()
