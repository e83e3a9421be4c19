"""The token window over the packaged model's own tokenizer (tokenizer only, no inference)."""

import pytest

from indexgate.chunking import TokenWindowChunker
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
