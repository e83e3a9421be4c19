"""Cutting document text into chunks. :func:`make_chunker` builds the configured strategy."""

from __future__ import annotations

from indexgate.chunking.base import Chunker, Tokenizer
from indexgate.chunking.token_window import TokenWindowChunker
from indexgate.errors import ConfigError
from indexgate.settings import ChunkingConfig

__all__ = ["Chunker", "Tokenizer", "TokenWindowChunker", "make_chunker"]


def make_chunker(config: ChunkingConfig, tokenizer: Tokenizer) -> Chunker:
    if config.strategy == "token_window":
        try:
            return TokenWindowChunker(tokenizer, size=config.chunk_size, overlap=config.chunk_overlap)
        except ValueError as exc:
            raise ConfigError(f"chunking: {exc}") from None
    raise ValueError(f"unknown chunking strategy {config.strategy!r}")  # pragma: no cover
