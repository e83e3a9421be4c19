"""Cutting document text into chunks. :func:`make_chunker` builds the configured strategy.

Every strategy:

- counts sizes in the embedder's own tokens, never above its maximum input, so nothing is
  silently truncated;
- spans at most ``max_chars`` characters a chunk;
- keeps exact character offsets (``text[c.start:c.end] == c.text``);
- is deterministic;
- has a fingerprint that goes into the version id.

The strategies:

- ``token_window``: fixed windows of ``chunk_size`` tokens, ``chunk_overlap`` shared.
- ``recursive``: cut at blank lines, then line breaks, sentence ends, words; pack up to the budget.
- ``sentence``: whole sentences packed up to the budget.
- ``markdown``: sections stay together where they fit; the heading path goes into ``section``
  (and, with ``heading_prefix``, before the embedded text).
- ``semantic``: sentences grouped at drops of neighbour similarity, with the same embedder.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from indexgate.chunking.base import Chunker, Tokenizer
from indexgate.chunking.markdown import MarkdownChunker
from indexgate.chunking.recursive import RecursiveChunker
from indexgate.chunking.semantic import SemanticChunker
from indexgate.chunking.sentence import SentenceChunker
from indexgate.chunking.token_window import TokenWindowChunker
from indexgate.errors import ConfigError
from indexgate.settings import ChunkingConfig

__all__ = ["Chunker", "MarkdownChunker", "RecursiveChunker", "SemanticChunker", "SentenceChunker", "Tokenizer",
           "TokenWindowChunker", "make_chunker"]


def make_chunker(config: ChunkingConfig, tokenizer: Tokenizer,
                 embed: Callable[[list[str]], np.ndarray] | None = None, vector_space: str | None = None) -> Chunker:
    """The configured chunker. ``embed`` (texts -> document vectors of the index's embedder) and
    ``vector_space`` (that embedder's fingerprint id) are needed by the semantic strategy only."""
    size, overlap, limit = config.chunk_size, config.chunk_overlap, config.max_chars
    try:
        if config.strategy == "token_window":
            return TokenWindowChunker(tokenizer, size=size, overlap=overlap, max_chars=limit)
        if config.strategy == "recursive":
            return RecursiveChunker(tokenizer, size=size, overlap=overlap, max_chars=limit)
        if config.strategy == "sentence":
            return SentenceChunker(tokenizer, size=size, overlap=overlap, max_chars=limit)
        if config.strategy == "markdown":
            return MarkdownChunker(tokenizer, size=size, overlap=overlap, heading_prefix=config.heading_prefix,
                                   max_chars=limit)
        if config.strategy == "semantic":
            if embed is None or vector_space is None:
                raise ValueError("the semantic strategy needs the embedder to find topic shifts")
            return SemanticChunker(tokenizer, size=size, embed=embed, vector_space=vector_space,
                                   breakpoint_percentile=config.breakpoint_percentile, max_chars=limit)
    except ValueError as exc:
        raise ConfigError(f"chunking: {exc}") from None
    raise ValueError(f"unknown chunking strategy {config.strategy!r}")  # pragma: no cover
