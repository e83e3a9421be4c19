"""Stable hashes used for content addressing, fingerprints and ids."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

# Namespace for UUIDv5 point ids: a fixed, arbitrary UUID owned by IndexGate.
POINT_NAMESPACE = uuid.UUID("6f1c2d4e-9a7b-5c3d-8e2f-1a0b9c8d7e6f")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """sha256 of a file, read in 1 MiB blocks so large files never sit in memory whole."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hash of a JSON-serialisable object, independent of dict order."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_text(blob)[:length]


def point_id(chunk_id: str) -> str:
    """Deterministic Qdrant point id of a chunk: re-running a load upserts the same points."""
    return str(uuid.uuid5(POINT_NAMESPACE, chunk_id))
