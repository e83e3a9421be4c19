"""Text -> vectors. :func:`make_embedder` builds the configured embedder.

Which kinds ``embedder.kind`` accepts is in :mod:`indexgate.embedding.kinds`.
The names below are loaded on first use, so that importing the kinds registry stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexgate.embedding.kinds import embedder_kinds, factory_for, register_embedder

if TYPE_CHECKING:
    from indexgate.embedding.base import Embedder, EmbedderFingerprint
    from indexgate.embedding.cache import EmbeddingCache
    from indexgate.settings import EmbedderConfig

__all__ = ["Embedder", "EmbedderFingerprint", "EmbeddingCache", "embedder_kinds", "make_embedder",
           "register_embedder"]

_LAZY = {"Embedder": "indexgate.embedding.base", "EmbedderFingerprint": "indexgate.embedding.base",
         "EmbeddingCache": "indexgate.embedding.cache"}


def __getattr__(name: str) -> Any:
    # numpy and pyarrow load only when a caller needs these names, not when a kind is registered.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_embedder(config: EmbedderConfig, models_dir: Path | None = None) -> Embedder:
    """The embedder of ``config.kind``, built from ``config``.

    The settings refuse a kind this process does not know, so a config here names a known one.
    ``models_dir`` is where the built-in kind caches model records and ONNX exports (None: records
    are not cached, exports go under the default home).
    """
    factory = factory_for(config.kind)
    if factory is None:
        from indexgate.embedding.sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(config, models_dir)
    return factory(config)
