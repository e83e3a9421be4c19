"""Recursive chunking: cut at the coarsest structure that makes pieces fit, pack them up to the
token budget. Levels: blank lines (paragraphs), line breaks, sentence ends, spaces between
words, and fixed token windows for what is left (one huge word)."""

from __future__ import annotations

from indexgate.chunking.base import DEFAULT_MAX_CHARS, Tokenizer, check_size
from indexgate.chunking.packing import Packer, line_cuts, paragraph_cuts, sentence_cuts, tokenize, word_cuts
from indexgate.hashing import stable_hash
from indexgate.models import Chunk

LEVELS = (paragraph_cuts, line_cuts, sentence_cuts, word_cuts)


class RecursiveChunker:
    """Chunks of at most ``size`` tokens, cut where the text's own structure is strongest.

    With ``overlap``, a chunk starts with the trailing whole pieces (of the level that was being
    packed) of the chunk before it, up to ``overlap`` tokens. A chunk wider than ``max_chars``
    characters is cut into consecutive pieces that fit."""

    strategy = "recursive"
    levels = LEVELS
    # Bump when the algorithm changes: the fingerprint (and so every version id) must change too.
    algorithm = 1

    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int = 0, max_chars: int = DEFAULT_MAX_CHARS):
        check_size(tokenizer, size, overlap, max_chars)
        self.tokenizer = tokenizer
        self.size = size
        self.overlap = overlap
        self.max_chars = max_chars
        self.packer = Packer(self.levels, size, overlap)
        self.fingerprint = stable_hash({"strategy": self.strategy, "algorithm": self.algorithm, "size": size,
                                        "overlap": overlap, "max_chars": max_chars,
                                        "tokenizer": tokenizer.fingerprint})

    def describe(self) -> dict:
        return {"strategy": self.strategy, "chunk_size": self.size, "chunk_overlap": self.overlap,
                "max_chars": self.max_chars, "fingerprint": self.fingerprint}

    def chunk(self, doc_id: str, text: str) -> list[Chunk]:
        doc = tokenize(self.tokenizer, text, self.max_chars)
        return [doc.chunk(doc_id, a, b, self.fingerprint)
                for i, j in self.packer.pack(doc, 0, len(doc)) for a, b in doc.fit(i, j)]
