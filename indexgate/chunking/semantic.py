"""Semantic chunking: cut where neighbouring sentences stop talking about the same thing.

Sentences are embedded with the index's own embedder (through the embedding cache, so a rerun
embeds nothing); the cosine distance between each sentence and the next marks topic shifts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from indexgate.chunking.base import DEFAULT_MAX_CHARS, Tokenizer, check_size
from indexgate.chunking.packing import Packer, TokenizedText, sentence_or_line_cuts, tokenize, word_cuts
from indexgate.hashing import stable_hash
from indexgate.models import Chunk


class SemanticChunker:
    """Chunks of whole sentences, at most ``size`` tokens, cut at topic shifts.

    1. Units: sentences (a line break also ends one); a sentence longer than ``size`` is cut
       between words into pieces of at most ``size`` tokens.
    2. Every unit is embedded (``embed``: texts -> vectors) and the cosine distance between
       each unit and the next is computed.
    3. Breakpoints: every gap whose distance is above the document's ``breakpoint_percentile``-th
       percentile of distances.
    4. A group between breakpoints that is longer than ``size`` tokens is cut again at its
       largest distance (its weakest link), until every chunk fits.
    5. A chunk wider than ``max_chars`` characters is cut into consecutive pieces that fit.

    ``vector_space`` names the embedder (its fingerprint id): other vectors, other breakpoints,
    so it is part of the fingerprint.
    """

    strategy = "semantic"
    algorithm = 1

    def __init__(self, tokenizer: Tokenizer, size: int, embed: Callable[[list[str]], np.ndarray],
                 vector_space: str, breakpoint_percentile: float = 95.0, max_chars: int = DEFAULT_MAX_CHARS):
        check_size(tokenizer, size, 0, max_chars)
        if not 0 < breakpoint_percentile < 100:
            raise ValueError(f"breakpoint_percentile must be in (0, 100), got {breakpoint_percentile}")
        self.tokenizer = tokenizer
        self.size = size
        self.embed = embed
        self.percentile = breakpoint_percentile
        self.max_chars = max_chars
        self._words = Packer((word_cuts,), size)
        self.fingerprint = stable_hash({"strategy": self.strategy, "algorithm": self.algorithm, "size": size,
                                        "breakpoint_percentile": breakpoint_percentile, "max_chars": max_chars,
                                        "tokenizer": tokenizer.fingerprint, "vector_space": vector_space})

    def describe(self) -> dict:
        return {"strategy": self.strategy, "chunk_size": self.size, "chunk_overlap": 0,
                "breakpoint_percentile": self.percentile,
                "max_chars": self.max_chars, "fingerprint": self.fingerprint}

    def units(self, doc: TokenizedText) -> list[tuple[int, int]]:
        """Sentences as token ranges, none longer than ``size``."""
        n = len(doc)
        if n == 0:
            return []
        bounds = [0, *sentence_or_line_cuts(doc, 0, n), n]
        units: list[tuple[int, int]] = []
        for a, b in zip(bounds, bounds[1:]):
            units.extend(self._words.pack(doc, a, b) if b - a > self.size else [(a, b)])
        return units

    def chunk(self, doc_id: str, text: str) -> list[Chunk]:
        doc = tokenize(self.tokenizer, text, self.max_chars)
        units = self.units(doc)
        if len(units) < 2:
            return self._chunks(doc, doc_id, units)
        vectors = np.asarray(self.embed([doc.piece(i, j) for i, j in units]), dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1, norms)
        distance = 1.0 - np.sum(vectors[:-1] * vectors[1:], axis=1)  # gap g lies between units g, g+1
        threshold = np.percentile(distance, self.percentile)
        bounds = [0, *(int(g) + 1 for g in np.nonzero(distance > threshold)[0]), len(units)]
        out: list[tuple[int, int]] = []
        todo = list(reversed(list(zip(bounds, bounds[1:]))))  # groups of units [u0, u1)
        while todo:
            u0, u1 = todo.pop()
            i, j = units[u0][0], units[u1 - 1][1]
            if j - i <= self.size:  # always true for one unit
                out.append((i, j))
                continue
            cut = u0 + 1 + int(np.argmax(distance[u0:u1 - 1]))
            todo += [(cut, u1), (u0, cut)]  # the left half is taken next: document order
        return self._chunks(doc, doc_id, out)

    def _chunks(self, doc: TokenizedText, doc_id: str, ranges: list[tuple[int, int]]) -> list[Chunk]:
        return [doc.chunk(doc_id, a, b, self.fingerprint) for i, j in ranges for a, b in doc.fit(i, j)]
