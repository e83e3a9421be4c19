"""The baseline chunker: fixed windows of the embedder's tokens.

Window i holds tokens [i*(size-overlap), i*(size-overlap)+size); its span runs from the first
token's start offset to the last token's end offset; the last window ends at the last token.
A window wider than ``max_chars`` characters is cut into consecutive pieces that fit.
"""

from __future__ import annotations

from indexgate.chunking.base import DEFAULT_MAX_CHARS, Tokenizer, check_size
from indexgate.chunking.packing import tokenize, windows
from indexgate.hashing import stable_hash
from indexgate.models import Chunk


class TokenWindowChunker:
    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int = 0, max_chars: int = DEFAULT_MAX_CHARS):
        check_size(tokenizer, size, overlap, max_chars)
        self.tokenizer = tokenizer
        self.size = size
        self.overlap = overlap
        self.max_chars = max_chars
        self.fingerprint = stable_hash(
            {"strategy": "token_window", "size": size, "overlap": overlap, "max_chars": max_chars,
             "tokenizer": tokenizer.fingerprint}
        )

    def describe(self) -> dict:
        return {"strategy": "token_window", "chunk_size": self.size, "chunk_overlap": self.overlap,
                "max_chars": self.max_chars, "fingerprint": self.fingerprint}

    def chunk(self, doc_id: str, text: str) -> list[Chunk]:
        doc = tokenize(self.tokenizer, text, self.max_chars)
        return [doc.chunk(doc_id, a, b, self.fingerprint)
                for i, j in windows(0, len(doc), self.size, self.overlap) for a, b in doc.fit(i, j)]
