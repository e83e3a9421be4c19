"""The embedder interface and its fingerprint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from indexgate.chunking.base import Tokenizer
from indexgate.hashing import stable_hash


@dataclass(frozen=True)
class EmbedderFingerprint:
    """Everything that decides the vectors. Equal fingerprints give equal vectors; a different
    fingerprint is a different vector space (and so a full reindex)."""

    model: str
    weights_sha256: str
    dimension: int
    normalize: bool
    max_seq_length: int
    query_prefix: str = ""
    document_prefix: str = ""
    # What runs the weights. Another backend is another vector space (int8 shifts every vector).
    backend: str = "torch"
    # sha256 of the file that embeds when it is not the weights themselves (an exported ONNX file).
    model_file_sha256: str = ""
    # float16 where `device: auto` found a GPU (torch backend).
    precision: str = "float32"

    def _fields(self) -> dict:
        # Fields at the defaults they had before they existed are left out, so the id of every
        # fingerprint made before them (the torch backend's, in float32) is unchanged: existing
        # indexes do not rebuild.
        return {k: v for k, v in asdict(self).items() if _UNSET.get(k, object()) != v}

    @property
    def id(self) -> str:
        return stable_hash(self._fields())

    def as_dict(self) -> dict:
        return {**self._fields(), "id": self.id}


_UNSET = {"backend": "torch", "model_file_sha256": "", "precision": "float32"}


class Embedder(Protocol):
    fingerprint: EmbedderFingerprint
    tokenizer: Tokenizer

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), document prefix applied."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), query prefix applied."""
