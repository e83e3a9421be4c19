"""The token window over the packaged model's own tokenizer (tokenizer only, no inference)."""

import pytest

from indexgate.chunking import MarkdownChunker, RecursiveChunker, SemanticChunker, SentenceChunker, TokenWindowChunker
from fake_embedder import FakeEmbedder
from indexgate.embedding.sentence_transformers import SentenceTransformerEmbedder
from indexgate.settings import EmbedderConfig


@pytest.fixture(scope="module")
def tokenizer():
    return SentenceTransformerEmbedder(EmbedderConfig()).tokenizer


def test_max_tokens_leaves_room_for_special_tokens(tokenizer):
    assert tokenizer.max_tokens == 254  # max_seq_length 256 minus [CLS] and [SEP]
    with pytest.raises(ValueError, match="exceeds"):
        TokenWindowChunker(tokenizer, size=255)


def test_windows_count_model_tokens_and_keep_exact_offsets(tokenizer):
    text = "Naïve café owners\r\nrotate TLS certificates every 90 days – über-fast!\r\n" * 20
    chunks = TokenWindowChunker(tokenizer, size=32, overlap=8).chunk("d", text)
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert c.n_tokens <= 32
    total = len(tokenizer.offsets(text))
    # windows start every 24 tokens; the last one ends at the last token
    assert len(chunks) == -(-max(total - 32, 0) // 24) + 1
    assert chunks[-1].end == tokenizer.offsets(text)[-1][1]


def test_one_huge_word_is_split_into_windows(tokenizer):
    text = "x" * 3000
    chunks = TokenWindowChunker(tokenizer, size=100).chunk("d", text)
    assert "".join(c.text for c in chunks) == text


STRATEGIES = {
    "recursive": lambda tok, size: RecursiveChunker(tok, size, overlap=size // 4),
    "sentence": lambda tok, size: SentenceChunker(tok, size, overlap=size // 4),
    "markdown+prefix": lambda tok, size: MarkdownChunker(tok, size, heading_prefix=True),
    "semantic": lambda tok, size: SemanticChunker(tok, size, FakeEmbedder().embed_documents, "fake"),
}
MIXED = ("# Überblick\r\n\r\nNaïve café owners rotate TLS certificates every 90 days – über-fast! "
         "Ещё раз, пожалуйста. 日本語のテキスト。\r\n\r\n## Détails\r\n" + "Sentence number one is here. " * 30
         + "\r\n" + "no sentence ends just words " * 40)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_strategies_count_exactly_what_the_model_will_see(tokenizer, name):
    chunks = STRATEGIES[name](tokenizer, 48).chunk("d", MIXED)
    assert len(chunks) > 5
    for c in chunks:
        assert MIXED[c.start:c.end] == c.text
        # the chunk (with its heading prefix) tokenized on its own: exactly its count, within the bound
        assert len(tokenizer.offsets((c.embed_prefix or "") + c.text)) == c.n_tokens <= 48
    if name == "markdown+prefix":
        assert {c.section for c in chunks} == {"Überblick", "Überblick > Détails"}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_strategies_cut_one_huge_word_into_windows(tokenizer, name):
    text = "x" * 3000
    chunks = STRATEGIES[name](tokenizer, 100).chunk("d", text)
    assert chunks[0].start == 0 and chunks[-1].end == 3000 and all(c.n_tokens <= 100 for c in chunks)
    assert all(b.start <= a.end for a, b in zip(chunks, chunks[1:]))  # no character left out between chunks
