"""Properties every chunking strategy keeps, with the fake embedder's word tokenizer: offsets
slice back, token bounds hold, nothing is lost, output and fingerprint are deterministic, and
awkward text (empty, one huge word, no sentence ends, CRLF, non-ASCII) is handled."""

import pytest
from hypothesis import given, settings, strategies as st

from indexgate.chunking.packing import TokenizedText, sentence_cuts
from indexgate.chunking import (
    MarkdownChunker, RecursiveChunker, SemanticChunker, SentenceChunker, TokenWindowChunker, make_chunker,
)
from fake_embedder import FakeEmbedder, WordTokenizer
from indexgate.errors import ConfigError
from indexgate.hashing import sha256_text
from indexgate.settings import ChunkingConfig

TOK = WordTokenizer(max_tokens=64)
FAKE = FakeEmbedder(max_tokens=64)


def _semantic(size, overlap=0):
    return SemanticChunker(TOK, size, embed=FAKE.embed_documents, vector_space="fake")


FACTORIES = {
    "token_window": lambda size, overlap=0: TokenWindowChunker(TOK, size, overlap),
    "recursive": lambda size, overlap=0: RecursiveChunker(TOK, size, overlap),
    "sentence": lambda size, overlap=0: SentenceChunker(TOK, size, overlap),
    "markdown": lambda size, overlap=0: MarkdownChunker(TOK, size, overlap),
    "markdown+prefix": lambda size, overlap=0: MarkdownChunker(TOK, size, overlap, heading_prefix=True),
    "semantic": _semantic,
}
ALL = pytest.mark.parametrize("name", list(FACTORIES))

AWKWARD = {
    "crlf": "# Title\r\n\r\nFirst paragraph. It has two sentences.\r\n\r\n## Part\r\nLine one\r\nLine two\r\n" * 6,
    "non_ascii": "Café naïve – über. Ещё раз, пожалуйста! 日本語のテキスト。次の文です。€5 résumé… done.\n" * 8,
    "no_sentence_ends": " ".join(f"word{i}" for i in range(300)),
    "huge_word": "-".join(["x"] * 400),  # 799 tokens and not one space: no boundary but tokens
    "one_line_list": "\n".join(f"- item {i}" for i in range(120)),
}


def check(chunker, text, size):
    chunks = chunker.chunk("doc", text)
    tokens = TOK.offsets(text)
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert 1 <= c.n_tokens <= size
        embedded = (c.embed_prefix or "") + c.text
        assert len(TOK.offsets(embedded)) == c.n_tokens  # what the embedder sees, counted exactly
        assert c.text_hash == sha256_text(embedded)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    for start, end in tokens:  # nothing of the text is lost
        assert any(c.start <= start and end <= c.end for c in chunks)
    assert bool(chunks) == bool(tokens)
    return chunks


@ALL
@pytest.mark.parametrize("kind", list(AWKWARD))
def test_awkward_text_keeps_offsets_bounds_and_coverage(name, kind):
    check(FACTORIES[name](24), AWKWARD[kind], 24)


@ALL
@pytest.mark.parametrize("text", ["", "   \r\n\t \n"])
def test_empty_or_blank_text_gives_no_chunks(name, text):
    assert FACTORIES[name](8).chunk("d", text) == []


@ALL
def test_output_and_fingerprint_are_deterministic(name):
    text = AWKWARD["crlf"] + AWKWARD["non_ascii"]
    a, b = FACTORIES[name](16), FACTORIES[name](16)
    assert a.fingerprint == b.fingerprint
    assert a.chunk("d", text) == b.chunk("d", text)
    assert a.fingerprint != FACTORIES[name](17).fingerprint
    assert a.describe()["fingerprint"] == a.fingerprint and a.describe()["chunk_size"] == 16


def test_fingerprints_differ_between_strategies_and_options():
    prints = {name: make(16).fingerprint for name, make in FACTORIES.items()}
    assert len(set(prints.values())) == len(prints)
    assert RecursiveChunker(TOK, 16, 4).fingerprint != prints["recursive"]
    assert SemanticChunker(TOK, 16, FAKE.embed_documents, "other model").fingerprint != prints["semantic"]


def test_token_window_fingerprint_is_unchanged():
    # Version ids of existing token-window indexes hash this value: it must not move by accident.
    # It moved once, on purpose, when chunks got a character limit (issue 19: a megabyte "word"
    # was one chunk), since a chunker that cuts differently must make other version ids.
    assert TokenWindowChunker(WordTokenizer(512), 200).fingerprint == "a23eed211d9591f1"


@ALL
def test_huge_word_is_cut_into_full_token_windows(name):
    chunks = check(FACTORIES[name](24), AWKWARD["huge_word"], 24)
    assert all(c.n_tokens == 24 for c in chunks[:-1])


@pytest.mark.parametrize("name", ["recursive", "sentence", "markdown"])
@pytest.mark.parametrize("size,overlap", [(12, 4), (24, 8), (40, 39)])
def test_overlap_never_breaks_the_bound(name, size, overlap):
    check(FACTORIES[name](size, overlap), AWKWARD["crlf"] + AWKWARD["no_sentence_ends"], size)


# Pieces that make structure (blank lines, headings, fences, sentence ends) likely in random text.
text_strategy = st.lists(st.sampled_from(list("ab .!?\n\r#=-é日") + ["  ", "\r\n\r\n", "# ", "\n= T =\n",
                                                                       "\n```\n", "Dr. ", "x\n---\n"]),
                         max_size=120).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=text_strategy, size=st.integers(1, 12), overlap_share=st.floats(0, 0.9),
       name=st.sampled_from(list(FACTORIES)))
def test_any_text_keeps_the_guarantees(text, size, overlap_share, name):
    overlap = 0 if name == "semantic" else min(size - 1, int(size * overlap_share))
    check(FACTORIES[name](size, overlap), text, size)


# -- recursive ----------------------------------------------------------------------------------

def test_recursive_keeps_paragraphs_whole_and_packs_small_ones():
    paras = ["alpha beta gamma delta.", "one two three.", "four five six seven eight nine ten eleven."]
    text = "\n\n".join(paras)
    chunks = RecursiveChunker(TOK, 10).chunk("d", text)
    # 5 + 4 tokens pack together; the 9-token third paragraph would overflow, so it stands alone
    assert [c.text for c in chunks] == ["alpha beta gamma delta.\n\none two three.", paras[2]]


def test_recursive_cuts_a_long_paragraph_at_sentences_not_inside_them():
    text = "Aa bb cc. Dd ee ff. Gg hh ii.\n\nJj."
    chunks = RecursiveChunker(TOK, 9).chunk("d", text)
    assert [c.text for c in chunks] == ["Aa bb cc. Dd ee ff.", "Gg hh ii.", "Jj."]


def test_recursive_overlap_repeats_whole_trailing_pieces():
    text = "a b c d e f g h i j"
    chunks = RecursiveChunker(TOK, 4, overlap=2).chunk("d", text)
    assert [c.text for c in chunks] == ["a b c d", "c d e f", "e f g h", "g h i j"]


# -- sentence -----------------------------------------------------------------------------------

def test_sentences_end_at_terminal_punctuation_but_not_after_abbreviations():
    text = ("Mr. Smith met Dr. Jones at 5 p.m. in the U.S. office. They talked.\n1. A list item\n"
            "Then they left! Was it late? «Yes.» Done… 終わり。次")
    doc = TokenizedText(text, TOK.offsets(text))
    bounds = [0, *sentence_cuts(doc, 0, len(doc)), len(doc)]
    assert [doc.piece(a, b) for a, b in zip(bounds, bounds[1:])] == [
        "Mr. Smith met Dr. Jones at 5 p.m. in the U.S. office.", "They talked.",
        "1. A list item\nThen they left!",  # "1." opening a line is a list marker
        "Was it late?", "«Yes.»", "Done…", "終わり。", "次"]


def test_sentence_packing_ends_chunks_at_sentence_ends():
    text = "Alpha beta gamma. Delta epsilon! Zeta eta theta iota? Kappa lambda mu nu xi omicron."
    chunks = SentenceChunker(TOK, 9).chunk("d", text)
    assert [c.text for c in chunks] == ["Alpha beta gamma. Delta epsilon!", "Zeta eta theta iota?",
                                        "Kappa lambda mu nu xi omicron."]


def test_sentence_overlap_repeats_the_last_sentence():
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    chunks = SentenceChunker(TOK, 8, overlap=4).chunk("d", text)
    assert [c.text for c in chunks] == ["One two three. Four five six.", "Four five six. Seven eight nine.",
                                        "Seven eight nine. Ten eleven twelve."]


# -- markdown -----------------------------------------------------------------------------------

MD = """Preamble text here.

# Guide

Intro of the guide.

## Install

Run the installer. Then restart the machine and check the version number again.

```bash
# not a heading
echo done
```

## Use
Short.

Setext Title
============
Under setext.

 = Wiki Page = 
 = = Wiki Section = = 
Wiki body text.
"""


def test_markdown_sections_carry_their_heading_path():
    chunks = check(MarkdownChunker(TOK, 30), MD, 30)
    assert [(c.section, c.text) for c in chunks] == [
        (None, "Preamble text here."),
        ("Guide", "# Guide\n\nIntro of the guide."),
        # too long for one chunk: cut at the blank line; the '#' line in the fence is code
        ("Guide > Install", "## Install\n\nRun the installer. Then restart the machine and check the version number again."),
        ("Guide > Install", "```bash\n# not a heading\necho done\n```"),
        ("Guide > Use", "## Use\nShort."),
        ("Setext Title", "Setext Title\n============\nUnder setext."),
        ("Wiki Page", "= Wiki Page = \n = = Wiki Section = = \nWiki body text."),  # fits, subsection included
    ]
    assert [c.section for c in MarkdownChunker(TOK, 8).chunk("d", MD)][-2:] == ["Wiki Page > Wiki Section"] * 2


def test_markdown_small_section_with_subsections_is_one_chunk():
    chunks = MarkdownChunker(TOK, 60).chunk("d", "# A\n\nx y\n\n## B\n\nz\n\n## C\n\nw\n")
    assert [(c.section, c.text) for c in chunks] == [("A", "# A\n\nx y\n\n## B\n\nz\n\n## C\n\nw")]


def test_markdown_lone_heading_joins_its_first_subsection():
    text = "# Top\n\n## Sub one\n\n" + "word " * 10 + "\n\n## Sub two\n\n" + "more " * 10
    chunks = MarkdownChunker(TOK, 16).chunk("d", text)
    assert chunks[0].section == "Top > Sub one" and chunks[0].text.startswith("# Top\n\n## Sub one")
    assert all(not c.text.strip() == "# Top" for c in chunks)


def test_markdown_heading_prefix_is_embedded_and_counted_but_not_in_the_text():
    text = "# Guide\n\n## Install\n\n" + "step " * 40
    chunks = check(MarkdownChunker(TOK, 20, heading_prefix=True), text, 20)
    body = [c for c in chunks if c.section == "Guide > Install"]
    assert body and all(c.embed_prefix == "Guide > Install\n\n" for c in body)
    assert all(c.n_tokens == len(TOK.offsets(c.text)) + 3 for c in body)  # "Guide", ">", "Install"
    plain = MarkdownChunker(TOK, 20).chunk("d", text)
    assert all(c.embed_prefix is None for c in plain)
    assert {c.text_hash for c in plain}.isdisjoint(c.text_hash for c in body)


def test_markdown_heading_prefix_is_cut_to_half_the_budget():
    text = "# " + " ".join(f"h{i}" for i in range(30)) + "\n\n" + "body " * 30
    chunks = check(MarkdownChunker(TOK, 10, heading_prefix=True), text, 10)
    assert all(len(TOK.offsets(c.embed_prefix)) == 5 for c in chunks)


# -- semantic -----------------------------------------------------------------------------------

def test_semantic_cuts_where_the_topic_changes():
    cats = ["Cats purr and cats nap.", "Cats chase mice and cats nap again.", "Cats purr when cats nap."]
    tax = ["Taxes are due in April.", "Late taxes cost a fee in April.", "File taxes before April."]
    text = " ".join(cats + tax)
    # 5 gaps: only the largest distance is above their 80th percentile
    chunks = check(SemanticChunker(TOK, 64, FAKE.embed_documents, "fake", breakpoint_percentile=80), text, 64)
    assert [c.text for c in chunks] == [" ".join(cats), " ".join(tax)]


def test_semantic_chunks_respect_the_budget_by_cutting_at_the_weakest_link():
    text = " ".join(["Cats purr and nap."] * 5 + ["Taxes are due soon."] * 5)
    chunks = check(SemanticChunker(TOK, 30, FAKE.embed_documents, "fake", breakpoint_percentile=99), text, 30)
    assert chunks[0].text == " ".join(["Cats purr and nap."] * 5)


def test_semantic_embeds_through_the_given_function_once_per_document():
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return FAKE.embed_documents(texts)

    SemanticChunker(TOK, 16, embed, "fake").chunk("d", AWKWARD["non_ascii"])
    assert len(calls) == 1 and calls[0] > 2


# -- configuration ------------------------------------------------------------------------------

@pytest.mark.parametrize("params,message", [
    ({"strategy": "recursive", "heading_prefix": True}, "heading_prefix applies to strategy markdown only"),
    ({"strategy": "markdown", "breakpoint_percentile": 80}, "breakpoint_percentile applies to strategy semantic"),
    ({"strategy": "semantic", "chunk_overlap": 10}, "takes no chunk_overlap"),
    ({"strategy": "sentence", "chunk_size": 10, "chunk_overlap": 10}, "must be smaller"),
    ({"strategy": "paragraphs"}, "strategy"),
])
def test_bad_strategy_options_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        ChunkingConfig(**params)


def test_make_chunker_builds_every_strategy_and_refuses_oversized_chunks():
    for strategy in ("token_window", "recursive", "sentence", "markdown", "semantic"):
        chunker = make_chunker(ChunkingConfig(strategy=strategy, chunk_size=32), TOK, embed=FAKE.embed_documents,
                               vector_space="fake")
        assert chunker.describe()["strategy"] == strategy
        with pytest.raises(ConfigError, match="exceeds the embedder's maximum of 64 tokens"):
            make_chunker(ChunkingConfig(strategy=strategy, chunk_size=65), TOK, embed=FAKE.embed_documents,
                         vector_space="fake")
    with pytest.raises(ConfigError, match="semantic strategy needs the embedder"):
        make_chunker(ChunkingConfig(strategy="semantic"), TOK)
