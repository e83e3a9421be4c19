"""What every chunker needs (a tokenizer with offsets) and provides (chunks, a fingerprint)."""

from __future__ import annotations

from typing import Protocol

from indexgate.hashing import sha256_text
from indexgate.models import Chunk
from indexgate.settings import ChunkingConfig


class Tokenizer(Protocol):
    """The embedder's own tokenizer, seen as character spans."""

    fingerprint: str
    # Most content tokens one input may hold (the model's maximum sequence length minus the
    # special tokens it adds); a chunk longer than this would be silently truncated.
    max_tokens: int

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of each token of ``text``, no special tokens."""


class Chunker(Protocol):
    # Stable hash of everything that decides the chunks (strategy, parameters, tokenizer, ...);
    # it goes into the version id.
    fingerprint: str

    def describe(self) -> dict:
        """strategy, chunk_size, chunk_overlap, the strategy's own options and the fingerprint."""

    def chunk(self, doc_id: str, text: str) -> list[Chunk]:
        """Chunks in document order; each satisfies ``text[c.start:c.end] == c.text``."""


# The most characters a chunk may span by default (chunking.max_chars): far above what ``size``
# tokens of text take (about 5 characters a token), so it binds only where tokens are huge.
DEFAULT_MAX_CHARS: int = ChunkingConfig.model_fields["max_chars"].default


def check_size(tokenizer: Tokenizer, size: int, overlap: int = 0, max_chars: int = DEFAULT_MAX_CHARS) -> None:
    """Refuse sizes no chunk can honour: below one token, an overlap not below the size, or
    above the embedder's maximum (longer chunks would be silently truncated)."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1 token, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"chunk overlap must be in [0, size), got {overlap} with size {size}")
    if max_chars < 1:
        raise ValueError(f"a chunk's character limit must be at least 1, got {max_chars}")
    if size > tokenizer.max_tokens:
        raise ValueError(
            f"chunk size {size} exceeds the embedder's maximum of {tokenizer.max_tokens} tokens;"
            " longer chunks would be silently truncated"
        )


def chunk_id(doc_id: str, start: int, end: int, chunker_fingerprint: str) -> str:
    """Stable id of a chunk: the same span of the same document under the same chunker."""
    return sha256_text(f"{doc_id}\x00{start}\x00{end}\x00{chunker_fingerprint}")[:32]


def make_chunk(doc_id: str, text: str, start: int, end: int, n_tokens: int, fingerprint: str,
               section: str | None = None, embed_prefix: str | None = None) -> Chunk:
    """The chunk ``text[start:end]``. ``n_tokens`` counts what the embedder sees (prefix included),
    and ``text_hash``, the embedding cache key, hashes exactly that text."""
    piece = text[start:end]
    return Chunk(
        chunk_id=chunk_id(doc_id, start, end, fingerprint),
        doc_id=doc_id,
        start=start,
        end=end,
        text=piece,
        n_tokens=n_tokens,
        text_hash=sha256_text((embed_prefix or "") + piece),
        section=section,
        embed_prefix=embed_prefix,
    )
