"""A deterministic, model-free embedder for fast tests (``embedder.kind: fake``).

Words are hashed to fixed random unit vectors and summed, so texts sharing words are close:
good enough for retrieval to behave sensibly, with no model and no randomness between runs.
It lives under tests/ so that a user's config cannot select it: only the tests register its kind
(indexgate_test_doubles.install).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from indexgate.embedding.base import EmbedderFingerprint

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class WordTokenizer:
    """Words and single punctuation marks, as character offsets."""

    fingerprint = "word-tokenizer-v1"

    def __init__(self, max_tokens: int = 512):
        self.max_tokens = max_tokens

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in _WORD.finditer(text)]


class FakeEmbedder:
    def __init__(self, dimension: int = 64, max_tokens: int = 512, model: str = "fake-bag-of-words"):
        self.tokenizer = WordTokenizer(max_tokens)
        # ``model`` only names it: two names give equal vectors under different fingerprints (a
        # model change, for tests of what a new fingerprint implies).
        self.fingerprint = EmbedderFingerprint(
            model=model, weights_sha256="none", dimension=dimension,
            normalize=True, max_seq_length=max_tokens,
        )
        self.calls = 0  # number of texts embedded, so tests can count model work

    @property
    def dimension(self) -> int:
        return self.fingerprint.dimension

    def _word_vector(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.lower().encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension)

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            vec = sum((self._word_vector(w) for w in _WORD.findall(text) if w.isalnum()),
                      np.zeros(self.dimension))
            norm = np.linalg.norm(vec)
            out[i] = vec / norm if norm else vec
        return out

    embed_documents = _embed
    embed_queries = _embed


def from_config(config) -> FakeEmbedder:
    """The factory of ``embedder.kind: fake``: model ``fake`` is the plain fake embedder, any other
    model name gives the same vectors under another fingerprint."""
    return FakeEmbedder() if config.model == "fake" else FakeEmbedder(model=f"fake-bag-of-words:{config.model}")
