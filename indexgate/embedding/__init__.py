"""Text -> vectors. :func:`make_embedder` builds the configured embedder."""

from __future__ import annotations

from indexgate.embedding.base import Embedder, EmbedderFingerprint
from indexgate.embedding.cache import EmbeddingCache
from indexgate.settings import EmbedderConfig

__all__ = ["Embedder", "EmbedderFingerprint", "EmbeddingCache", "make_embedder"]


def make_embedder(config: EmbedderConfig) -> Embedder:
    if config.kind == "fake":
        from indexgate.embedding.fake import FakeEmbedder

        return FakeEmbedder() if config.model == "fake" else FakeEmbedder(model=f"fake-bag-of-words:{config.model}")
    from indexgate.embedding.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(config)
