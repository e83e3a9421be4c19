"""The token window chunker: offsets, window arithmetic, bounds, determinism."""

import pytest
from hypothesis import given, settings, strategies as st

from indexgate.chunking import TokenWindowChunker
from fake_embedder import WordTokenizer

TOK = WordTokenizer(max_tokens=50)


def test_windows_by_hand_without_overlap():
    text = "a b c d e f g"  # 7 tokens at offsets 0,2,...,12
    chunks = TokenWindowChunker(TOK, size=3).chunk("d", text)
    assert [(c.start, c.end, c.text) for c in chunks] == [(0, 5, "a b c"), (6, 11, "d e f"), (12, 13, "g")]
    assert [c.n_tokens for c in chunks] == [3, 3, 1]


def test_windows_by_hand_with_overlap():
    # size 3, overlap 1 -> windows start at tokens 0, 2, 4; the one at 4 reaches the last token.
    text = "a b c d e f"
    chunks = TokenWindowChunker(TOK, size=3, overlap=1).chunk("d", text)
    assert [c.text for c in chunks] == ["a b c", "c d e", "e f"]


def test_last_window_ends_at_last_token_without_a_redundant_tail():
    # 6 tokens, size 4, overlap 2: windows at 0 and 2; the one at 2 covers tokens 2..5 (the end).
    chunks = TokenWindowChunker(TOK, size=4, overlap=2).chunk("d", "a b c d e f   ")
    assert [c.text for c in chunks] == ["a b c d", "c d e f"]
    assert chunks[-1].end == len("a b c d e f")


def test_size_above_the_model_maximum_is_refused():
    with pytest.raises(ValueError, match="exceeds the embedder's maximum of 50 tokens"):
        TokenWindowChunker(TOK, size=51)


@pytest.mark.parametrize("size,overlap", [(0, 0), (3, 3), (3, -1)])
def test_bad_size_or_overlap_is_refused(size, overlap):
    with pytest.raises(ValueError):
        TokenWindowChunker(TOK, size=size, overlap=overlap)


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_or_blank_text_gives_no_chunks(text):
    assert TokenWindowChunker(TOK, size=5).chunk("d", text) == []


def test_ids_are_deterministic_and_depend_on_doc_span_and_settings():
    text = "one two three four five"
    a = TokenWindowChunker(TOK, size=2).chunk("x", text)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in TokenWindowChunker(TOK, size=2).chunk("x", text)]
    assert a[0].chunk_id != TokenWindowChunker(TOK, size=2).chunk("y", text)[0].chunk_id
    assert TokenWindowChunker(TOK, size=2).fingerprint != TokenWindowChunker(TOK, size=3).fingerprint
    assert TokenWindowChunker(TOK, size=3).fingerprint != TokenWindowChunker(TOK, size=3, overlap=1).fingerprint


def test_crlf_and_non_ascii_offsets_slice_back():
    text = "Café\r\nnaïve – über\r\n\r\n€5 résumé"
    for c in TokenWindowChunker(TOK, size=2).chunk("d", text):
        assert text[c.start:c.end] == c.text


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
       size=st.integers(1, 12), overlap_share=st.floats(0, 0.9))
def test_any_text_chunks_slice_back_and_cover_the_text_in_order(text, size, overlap_share):
    overlap = min(size - 1, int(size * overlap_share))
    chunker = TokenWindowChunker(TOK, size=size, overlap=overlap)
    chunks = chunker.chunk("d", text)
    tokens = TOK.offsets(text)
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert 1 <= c.n_tokens <= size
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    if tokens:
        assert chunks[0].start == tokens[0][0] and chunks[-1].end == tokens[-1][1]
        # Every token lies inside some chunk: nothing of the text is lost.
        for start, end in tokens:
            assert any(c.start <= start and end <= c.end for c in chunks)
    else:
        assert chunks == []
