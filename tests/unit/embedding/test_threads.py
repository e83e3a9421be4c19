"""A few texts are embedded on one CPU thread (robust to a busy second core): the vectors are
the ones a batch on every thread gives, and torch's thread count is what it was afterwards."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from indexgate.embedding import sentence_transformers as st
from indexgate.settings import EmbedderConfig

TEXTS = [f"Carrier {i} confirms the pallet count of load {i * 7} before 16:00 UTC on weekdays." for i in range(9)]


@pytest.fixture(scope="module")
def embedder():
    return st.SentenceTransformerEmbedder(EmbedderConfig(backend="torch"))  # torch threads


def test_a_few_texts_run_on_one_thread_and_give_the_batch_vectors(embedder, monkeypatch):
    seen = []
    encode = embedder.model.encode

    def spy(texts, **kwargs):
        seen.append((len(texts), torch.get_num_threads()))
        return encode(texts, **kwargs)

    monkeypatch.setattr(embedder.model, "encode", spy)
    torch.set_num_threads(2)
    batch = embedder.embed_documents(TEXTS)  # more than ONE_THREAD_TEXTS: the configured threads
    alone = np.stack([embedder.embed_documents([t])[0] for t in TEXTS])
    assert len(TEXTS) > st.ONE_THREAD_TEXTS
    assert seen == [(len(TEXTS), 2)] + [(1, 1)] * len(TEXTS)
    assert np.array_equal(batch, alone)  # bit for bit: the cache may hold either
    assert torch.get_num_threads() == 2


def test_the_thread_count_comes_back_when_encoding_fails(embedder, monkeypatch):
    def broken(texts, **kwargs):
        raise RuntimeError("model failure")

    monkeypatch.setattr(embedder.model, "encode", broken)
    torch.set_num_threads(2)
    with pytest.raises(RuntimeError, match="model failure"):
        embedder.embed_queries(["one query"])
    assert torch.get_num_threads() == 2
