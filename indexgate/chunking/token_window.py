"""The baseline chunker: fixed windows of the embedder's tokens.

Window i holds tokens [i*(size-overlap), i*(size-overlap)+size); its span runs from the first
token's start offset to the last token's end offset; the last window ends at the last token.
"""

from __future__ import annotations

from indexgate.chunking.base import Tokenizer, check_size
from indexgate.chunking.packing import TokenizedText, windows
from indexgate.hashing import stable_hash
from indexgate.models import Chunk


class TokenWindowChunker:
    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int = 0):
        check_size(tokenizer, size, overlap)
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
        doc = TokenizedText(text, self.tokenizer.offsets(text))
        return [doc.chunk(doc_id, i, j, self.fingerprint) for i, j in windows(0, len(doc), self.size, self.overlap)]
