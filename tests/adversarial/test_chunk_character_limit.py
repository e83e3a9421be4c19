"""Issue 19, item 4: a chunk has a character limit as well as a token limit. A megabyte of one
"word" is one unknown token to the model's tokenizer; it must not become one chunk of a megabyte."""

import random
import string

import pytest

from indexgate.chunking import make_chunker
from fake_embedder import FakeEmbedder
from indexgate.embedding.sentence_transformers import SentenceTransformerEmbedder
from indexgate.settings import ChunkingConfig, EmbedderConfig

STRATEGIES = ["token_window", "recursive", "sentence", "markdown", "semantic"]


@pytest.fixture(scope="module")
def tokenizer():
    return SentenceTransformerEmbedder(EmbedderConfig()).tokenizer  # the packaged model's own


def _chunker(tokenizer, strategy, **options):
    config = ChunkingConfig(strategy=strategy, **options)
    return make_chunker(config, tokenizer, FakeEmbedder().embed_documents, "fake")


def _check(tokenizer, chunks, text, max_chars, size):
    assert chunks and chunks[0].start == 0 and chunks[-1].end == len(text)
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert len(c.text) <= max_chars
        assert c.n_tokens == len(tokenizer.offsets(c.text)) <= size  # what the model will see
    # nothing but white space left out between chunks
    assert all(b.start <= a.end or not text[a.end:b.start].strip() for a, b in zip(chunks, chunks[1:]))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_megabyte_word_is_cut_at_the_character_limit(tokenizer, strategy):
    random.seed(19)
    text = "".join(random.choice(string.ascii_lowercase) for _ in range(1_000_000))
    assert len(tokenizer.offsets(text)) == 1  # one unknown token: the token limit alone cannot cut it
    chunks = _chunker(tokenizer, strategy).chunk("huge.txt", text)
    _check(tokenizer, chunks, text, 4000, 200)
    assert len(chunks) == 250


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_wide_tokens_within_the_token_budget_are_cut_at_the_character_limit(tokenizer, strategy):
    # 120-letter words: one unknown token each, so 40 of them fit 48 tokens but not 1,000 characters
    random.seed(4)
    words = ["".join(random.choice(string.ascii_lowercase) for _ in range(120)) for _ in range(40)]
    text = " ".join(words) + ".\n"
    chunks = _chunker(tokenizer, strategy, chunk_size=48, max_chars=1000).chunk("wide.txt", text)
    _check(tokenizer, chunks, text.rstrip("\n"), 1000, 48)


def test_the_limit_is_part_of_the_fingerprint(tokenizer):
    fingerprints = {limit: _chunker(tokenizer, "token_window", max_chars=limit).fingerprint for limit in (1000, 4000)}
    assert fingerprints[1000] != fingerprints[4000]
    assert _chunker(tokenizer, "token_window").describe()["max_chars"] == 4000


@pytest.mark.parametrize("strategy", ["token_window", "recursive", "markdown"])
def test_a_long_document_is_tokenized_a_segment_at_a_time_with_the_same_chunks(tokenizer, strategy, monkeypatch):
    """Long documents are tokenized in segments cut at white space (bounded memory: issue 19,
    item 3); the chunks are those of tokenizing the whole text at once."""
    from indexgate.chunking import packing

    random.seed(7)
    vocab = ["Naïve", "café", "owners", "rotate", "TLS", "certificates", "every", "90", "days", "–", "über-fast!",
             "Ещё", "раз,", "日本語のテキスト。", "e.g.", "x\n\n#", "Head\n"]
    text = " ".join(random.choice(vocab) for _ in range(30_000)) + " " + "z" * 9000 + " end"
    chunker = _chunker(tokenizer, strategy)
    monkeypatch.setattr(packing, "SEGMENT_CHARS", 1 << 14)  # 13 segments
    segmented = chunker.chunk("d", text)
    monkeypatch.setattr(packing, "SEGMENT_CHARS", 1 << 30)  # one
    assert segmented == chunker.chunk("d", text)
