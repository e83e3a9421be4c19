"""Copy a store folder of qdrant-client's local mode (``meta.json`` + ``collection/``, IndexGate
before Qdrant Edge) into Edge shards in the same folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from indexgate.errors import StoreError
from indexgate.store.base import SearchMode
from indexgate.store.edge import EdgeStore

log = logging.getLogger(__name__)


def is_local_mode(folder: Path) -> bool:
    return (folder / "meta.json").is_file() or (folder / "collection").is_dir()


def migrate_local(folder: Path, owner: str, mode: SearchMode = SearchMode(), batch: int = 1024) -> dict:
    """Move the old layout aside to ``<folder>.local-mode`` (one rename), then copy every
    collection into a sealed shard (owned by ``owner``) and every alias into a pointer file.

    Rerunnable: a run that died midway is redone from the moved-aside copy, shards it had
    written are rebuilt. The moved-aside copy is kept; delete it once the new store serves."""
    from qdrant_client import QdrantClient

    folder = Path(folder)
    backup = folder.with_name(folder.name + ".local-mode")
    if is_local_mode(folder):
        if backup.exists():
            raise StoreError(f"{backup} exists already; move it away before migrating {folder} again")
        os.replace(folder, backup)
        folder.mkdir()
    elif not backup.is_dir():
        raise StoreError(f"nothing to migrate: {folder} does not hold qdrant-client's local-mode layout")
    client = QdrantClient(path=str(backup))
    store = EdgeStore(folder, mode)
    copied: dict[str, int] = {}
    try:
        for info in client.get_collections().collections:
            name = info.name
            size = int(client.get_collection(name).config.params.vectors.size)
            store.drop(name)  # a half copy of an earlier run
            store.create(name, size, owner=owner)
            offset, n = None, 0
            while True:
                points, offset = client.scroll(name, limit=batch, offset=offset, with_payload=True, with_vectors=True)
                if points:
                    store.upsert(name, [str(p.id) for p in points], np.asarray([p.vector for p in points], np.float32),
                                 [dict(p.payload or {}) for p in points])
                    n += len(points)
                if offset is None:
                    break
            store.seal(name)
            copied[name] = n
            log.info("migrated %s: %d points", name, n)
        aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
        for alias, target in aliases.items():
            store.point_alias(alias, target)
    finally:
        client.close()
        store.close()
    return {"folder": str(folder), "moved_aside": str(backup), "collections": copied, "aliases": aliases}
