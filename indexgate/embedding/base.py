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

    @property
    def id(self) -> str:
        return stable_hash(asdict(self))

    def as_dict(self) -> dict:
        return {**asdict(self), "id": self.id}


class Embedder(Protocol):
    fingerprint: EmbedderFingerprint
    tokenizer: Tokenizer

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), document prefix applied."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), query prefix applied."""
