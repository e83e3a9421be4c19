"""What every chunker needs (a tokenizer with offsets) and provides (chunks, a fingerprint)."""

from __future__ import annotations

from typing import Protocol

from indexgate.hashing import sha256_text
from indexgate.models import Chunk


class Tokenizer(Protocol):
    """The embedder's own tokenizer, seen as character spans."""

    fingerprint: str
    # Most content tokens one input may hold (the model's maximum sequence length minus the
    # special tokens it adds); a chunk longer than this would be silently truncated.
    max_tokens: int

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of each token of ``text``, no special tokens."""


class Chunker(Protocol):
    fingerprint: str

    def chunk(self, doc_id: str, text: str) -> list[Chunk]:
        """Chunks in document order; each satisfies ``text[c.start:c.end] == c.text``."""


def chunk_id(doc_id: str, start: int, end: int, chunker_fingerprint: str) -> str:
    """Stable id of a chunk: the same span of the same document under the same chunker."""
    return sha256_text(f"{doc_id}\x00{start}\x00{end}\x00{chunker_fingerprint}")[:32]


def make_chunk(doc_id: str, text: str, start: int, end: int, n_tokens: int, fingerprint: str) -> Chunk:
    piece = text[start:end]
    return Chunk(
        chunk_id=chunk_id(doc_id, start, end, fingerprint),
        doc_id=doc_id,
        start=start,
        end=end,
        text=piece,
        n_tokens=n_tokens,
        text_hash=sha256_text(piece),
    )
