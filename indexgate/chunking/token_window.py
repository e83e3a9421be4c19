"""The baseline chunker: fixed windows of the embedder's tokens.

Window i holds tokens [i*(size-overlap), i*(size-overlap)+size); its span runs from the first
token's start offset to the last token's end offset; the last window ends at the last token.
"""

from __future__ import annotations

from indexgate.chunking.base import Tokenizer, make_chunk
from indexgate.hashing import stable_hash
from indexgate.models import Chunk


class TokenWindowChunker:
    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int = 0):
        if size < 1:
            raise ValueError(f"chunk size must be at least 1 token, got {size}")
        if not 0 <= overlap < size:
            raise ValueError(f"chunk overlap must be in [0, size), got {overlap} with size {size}")
        if size > tokenizer.max_tokens:
            raise ValueError(
                f"chunk size {size} exceeds the embedder's maximum of {tokenizer.max_tokens} tokens;"
                " longer chunks would be silently truncated"
            )
        self.tokenizer = tokenizer
        self.size = size
        self.overlap = overlap
        self.fingerprint = stable_hash(
            {"strategy": "token_window", "size": size, "overlap": overlap, "tokenizer": tokenizer.fingerprint}
        )

    def describe(self) -> dict:
        return {"strategy": "token_window", "chunk_size": self.size, "chunk_overlap": self.overlap,
                "fingerprint": self.fingerprint}

    def chunk(self, doc_id: str, text: str) -> list[Chunk]:
        offsets = self.tokenizer.offsets(text)
        step = self.size - self.overlap
        chunks = []
        for first in range(0, len(offsets), step):
            window = offsets[first : first + self.size]
            chunks.append(
                make_chunk(doc_id, text, window[0][0], window[-1][1], len(window), self.fingerprint)
            )
            if first + self.size >= len(offsets):
                break  # this window reached the last token; another would only repeat its tail
        return chunks
