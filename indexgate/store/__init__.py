"""The vector store and its aliases: Qdrant Edge in-process for a folder (the default), a
Qdrant server through qdrant-client for a URL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

from indexgate.errors import StoreError
from indexgate.store.base import Hit, SearchMode, StoredPoint, VectorStore

__all__ = ["Hit", "SearchMode", "StoredPoint", "VectorStore", "connect", "disconnect", "disconnect_all"]

_STORES: dict[str, VectorStore] = {}
_STORES_LOCK = threading.Lock()


def connect(path: Path | None = None, url: str | None = None, api_key: str | None = None,
            wait_s: float = 0.0, mode: SearchMode | None = None,
            backend: Literal["edge", "local"] = "edge") -> VectorStore:
    """The process's store for a location (one per location per process): a Qdrant server
    when ``url`` is given, else Qdrant Edge shards under ``path``. ``backend="local"`` opens
    qdrant-client's local mode at ``path`` instead (the test stand-in for a server's code path;
    it waits up to ``wait_s`` for another process to release the folder)."""
    mode = mode or SearchMode()
    if url:
        key = f"url:{url}"
    elif path is not None:
        key = f"{backend}:{Path(path).resolve()}"
    else:
        raise StoreError("no Qdrant location: give a path or a URL")
    with _STORES_LOCK:
        if key not in _STORES:
            if url:
                from qdrant_client import QdrantClient

                from indexgate.store.client import ClientStore
                _STORES[key] = ClientStore(QdrantClient(url=url, api_key=api_key), url, mode)
            elif backend == "local":
                from indexgate.store.client import ClientStore, open_local
                Path(path).mkdir(parents=True, exist_ok=True)
                _STORES[key] = ClientStore(open_local(path, wait_s), str(path), mode, local=True)
            else:
                from indexgate.store.edge import EdgeStore
                _STORES[key] = EdgeStore(Path(path), mode)
        return _STORES[key]


def disconnect(store: VectorStore) -> None:
    """Close one store (its shards, views or client) and forget it."""
    with _STORES_LOCK:
        for key, value in list(_STORES.items()):
            if value is store:
                del _STORES[key]
    store.close()


def disconnect_all() -> None:
    """Close every store of this process."""
    with _STORES_LOCK:
        stores = list(_STORES.values())
        _STORES.clear()
    for store in stores:
        store.close()
