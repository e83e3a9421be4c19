"""Cutting text at its structure, counted in the embedder's own tokens.

Everything here works on token ranges ``[i, j)`` of one document's token list. The chunk of
tokens ``i .. j-1`` spans ``text[start_i:end_(j-1)]`` and holds ``j - i`` tokens, so token bounds
hold by construction and offsets always slice back to the text. Structure (blank lines, line
breaks, sentence ends, the spaces between words) becomes *cut points*: token indices where a
piece may begin. A cut never falls inside a token, so no token is lost or split.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from indexgate.chunking.base import make_chunk
from indexgate.models import Chunk


class TokenizedText:
    """A document's text with the character span of each of its tokens.

    ``max_chars`` bounds a chunk's characters as ``size`` bounds its tokens (see :meth:`fit`).
    Use :func:`tokenize`, which also cuts every token wider than ``max_chars``."""

    def __init__(self, text: str, offsets: Sequence[tuple[int, int]], max_chars: int | None = None):
        self.text = text
        self.max_chars = max_chars
        self.starts = np.fromiter((s for s, _ in offsets), dtype=np.int64, count=len(offsets))
        self.ends = np.fromiter((e for _, e in offsets), dtype=np.int64, count=len(offsets))

    def fit(self, i: int, j: int) -> list[tuple[int, int]]:
        """Tokens ``[i, j)`` as consecutive ranges of at most ``max_chars`` characters each (one
        range when it fits): as many whole tokens each as fit. Every token is at most
        ``max_chars`` wide (:func:`tokenize`), so every range holds at least one."""
        if self.max_chars is None or j <= i or self.ends[j - 1] - self.starts[i] <= self.max_chars:
            return [(i, j)]
        out = []
        while i < j:
            # the last token ending within max_chars of token i's start
            b = int(np.searchsorted(self.ends[i:j], self.starts[i] + self.max_chars, side="right")) + i
            b = max(b, i + 1)
            out.append((i, b))
            i = b
        return out

    def __len__(self) -> int:
        return len(self.starts)

    def index_at(self, position: int) -> int:
        """Index of the first token that starts at or after character ``position``."""
        return int(np.searchsorted(self.starts, position, side="left"))

    def span(self, i: int, j: int) -> tuple[int, int]:
        """Character span of tokens ``i .. j-1`` (``j > i``)."""
        return int(self.starts[i]), int(self.ends[j - 1])

    def piece(self, i: int, j: int) -> str:
        start, end = self.span(i, j)
        return self.text[start:end]

    def cuts_at(self, positions: Sequence[int], i: int, j: int) -> list[int]:
        """Token indices, strictly inside ``(i, j)``, of the tokens that start at or after each
        character position: where a piece beginning at that position would begin."""
        if not len(positions):
            return []
        idx = np.unique(np.searchsorted(self.starts, np.asarray(positions, dtype=np.int64), side="left"))
        return [int(t) for t in idx if i < t < j]

    def chunk(self, doc_id: str, i: int, j: int, fingerprint: str, section: str | None = None,
              prefix: str | None = None, prefix_tokens: int = 0) -> Chunk:
        start, end = self.span(i, j)
        return make_chunk(doc_id, self.text, start, end, j - i + prefix_tokens, fingerprint,
                          section=section, embed_prefix=prefix)


# A long document is tokenized this many characters at a time, cut at white space. The
# tokenizer's own per-call structures (ids, masks, offsets as Python lists) take hundreds of bytes
# a token. So they never hold more than one segment. Only 16 bytes a token are kept for the whole
# text.
SEGMENT_CHARS = 1 << 16


_SPACES = " \n\t\r"


def _segments(text: str, size: int, step: int | None) -> Iterator[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` covering ``text``, each at most ``size`` characters.

    Where the text allows, each ends just after white space, so no word is cut. Then a
    whitespace-splitting tokenizer gives every segment the tokens it gives the whole text. A word
    too long for that is cut ``step`` characters after its start (a multiple of it). There
    :func:`tokenize` would cut it anyway."""
    lo, n = 0, len(text)
    while lo < n:
        hi = min(lo + size, n)
        if hi < n:
            cut = max(text.rfind(c, lo + size // 2, hi) for c in _SPACES)
            if cut >= 0:
                hi = cut + 1
            elif step:  # inside a word: at a multiple of step from where it starts in this segment
                start = max(max(text.rfind(c, lo, hi) for c in _SPACES) + 1, lo)
                aligned = start + (hi - start) // step * step
                hi = aligned if aligned > lo else hi
        yield lo, hi
        lo = hi


def tokenize(tokenizer, text: str, max_chars: int | None = None) -> TokenizedText:
    """``text`` with its tokens' spans, tokenized a segment at a time (:data:`SEGMENT_CHARS`).

    A token wider than ``max_chars`` is replaced by the tokens of its consecutive
    ``max_chars``-wide pieces, each tokenized alone. (One 'word' of a million characters is one
    unknown token to a WordPiece tokenizer.) Then no chunk needs a token wider than its character
    limit. A chunk's token count is that of its pieces."""
    starts, ends = [], []
    for lo, hi in _segments(text, SEGMENT_CHARS, max_chars):
        spans = tokenizer.offsets(text[lo:hi])
        if max_chars is not None and any(e - s > max_chars for s, e in spans):
            fitted: list[tuple[int, int]] = []
            for s, e in spans:
                if e - s <= max_chars:
                    fitted.append((s, e))
                    continue
                for a in range(s, e, max_chars):
                    b = min(a + max_chars, e)
                    fitted.extend((a + x, a + y) for x, y in tokenizer.offsets(text[lo + a:lo + b]))
            spans = fitted
        pairs = np.asarray(spans, dtype=np.int64).reshape(-1, 2) + lo
        starts.append(pairs[:, 0])
        ends.append(pairs[:, 1])
    doc = TokenizedText(text, (), max_chars)
    if starts:
        doc.starts, doc.ends = np.concatenate(starts), np.concatenate(ends)
    return doc


# A cut function: the cut points of one kind of structure inside the token range [i, j).
Cuts = Callable[[TokenizedText, int, int], list[int]]

_BLANK_LINE = re.compile(r"(?:\r\n|\r|\n)[^\S\r\n]*(?:\r\n|\r|\n)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A sentence ends at terminal punctuation (plus closing quotes or brackets) followed by white
# space; the CJK full stops need no space after them.
_CLOSERS = "\"'\u201d\u2019)]}\u00bb"
_SENTENCE_END = re.compile(rf"[.!?\u2026]+[{re.escape(_CLOSERS)}]*(?=\s|$)|[\u3002\uff01\uff1f]+[{re.escape(_CLOSERS)}]*")
_WORD_BEFORE = re.compile(r"(\w+)$")
# A period after these words (or after a single letter: initials, "e.g.") does not end a sentence.
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs inc ltd co corp no nos fig figs al approx dept est gen gov rev "
    "jan feb mar apr jun jul aug sep sept oct nov dec ca cf ed eds vol pp".split()
)


def _regex_cuts(pattern: re.Pattern) -> Cuts:
    def cuts(doc: TokenizedText, i: int, j: int) -> list[int]:
        lo, hi = doc.span(i, j)
        return doc.cuts_at([m.end() for m in pattern.finditer(doc.text, lo, hi)], i, j)

    return cuts


paragraph_cuts = _regex_cuts(_BLANK_LINE)
line_cuts = _regex_cuts(_LINE_BREAK)


def _ends_sentence(text: str, match: re.Match) -> bool:
    if match.group().rstrip(_CLOSERS) != ".":
        return True  # "!", "?", "...", CJK full stops
    word = _WORD_BEFORE.search(text, max(0, match.start() - 30), match.start())
    if word is None:
        return True
    w = word.group(1)
    if (len(w) == 1 and w.isalpha()) or w.lower() in ABBREVIATIONS:
        return False
    # "1. " at the start of a line is a list marker, not a sentence
    line_start = max(text.rfind("\n", 0, word.start()), text.rfind("\r", 0, word.start())) + 1
    return not (w.isdigit() and len(w) <= 3 and not text[line_start:word.start()].strip())


def sentence_cuts(doc: TokenizedText, i: int, j: int) -> list[int]:
    """Cuts after sentence ends (see ``_SENTENCE_END``; abbreviations and list markers excepted)."""
    lo, hi = doc.span(i, j)
    ends = [m.end() for m in _SENTENCE_END.finditer(doc.text, lo, hi) if _ends_sentence(doc.text, m)]
    return doc.cuts_at(ends, i, j)


def sentence_or_line_cuts(doc: TokenizedText, i: int, j: int) -> list[int]:
    """Sentence ends and line breaks: text without punctuation (lists, logs) still has units."""
    return sorted(set(sentence_cuts(doc, i, j)) | set(line_cuts(doc, i, j)))


def word_cuts(doc: TokenizedText, i: int, j: int) -> list[int]:
    """Cuts between tokens that something (a space) separates: never inside a word."""
    if j - i < 2:
        return []
    gaps = np.nonzero(doc.starts[i + 1:j] > doc.ends[i:j - 1])[0]
    return [int(g) + i + 1 for g in gaps]


def windows(i: int, j: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Fixed windows of ``size`` tokens over ``[i, j)``, ``overlap`` shared; the last one ends at j."""
    out = []
    for first in range(i, j, size - overlap):
        out.append((first, min(first + size, j)))
        if first + size >= j:
            break
    return out


class Packer:
    """Greedy packing of structural pieces into chunks of at most ``budget`` tokens.

    ``levels`` lists the cut functions from coarsest to finest. A range that fits is one chunk.
    Otherwise it is cut at the coarsest level that cuts it. Consecutive pieces are packed
    together while they fit. A piece too large on its own is cut at the next level, and at token
    windows after the last. When a chunk is full, the next one starts with as many of its
    trailing whole pieces as fit in ``overlap`` tokens and leave room for the next piece.
    """

    def __init__(self, levels: Sequence[Cuts], budget: int, overlap: int = 0):
        if budget < 1:
            raise ValueError(f"the token budget must be at least 1, got {budget}")
        self.levels = tuple(levels)
        self.budget = budget
        self.overlap = min(overlap, budget - 1)

    def pack(self, doc: TokenizedText, i: int, j: int, level: int = 0) -> list[tuple[int, int]]:
        if j <= i:
            return []
        if j - i <= self.budget:
            return [(i, j)]
        for depth in range(level, len(self.levels)):
            cuts = self.levels[depth](doc, i, j)
            if cuts:
                bounds = [i, *cuts, j]
                return self._merge(doc, list(zip(bounds, bounds[1:])), depth)
        return windows(i, j, self.budget, self.overlap)

    def _merge(self, doc: TokenizedText, pieces: list[tuple[int, int]], depth: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        current: list[tuple[int, int]] = []
        for a, b in pieces:
            if b - a > self.budget:
                if current:
                    out.append((current[0][0], current[-1][1]))
                    current = []
                out.extend(self.pack(doc, a, b, depth + 1))
                continue
            if current and b - current[0][0] > self.budget:
                out.append((current[0][0], current[-1][1]))
                current = self._tail(current, b)
            current.append((a, b))
        if current:
            out.append((current[0][0], current[-1][1]))
        return out

    def _tail(self, pieces: list[tuple[int, int]], next_end: int) -> list[tuple[int, int]]:
        """The trailing pieces that fit in the overlap and leave room up to ``next_end``. Never
        all of them: the chunk just closed did not fit with the next piece."""
        end = pieces[-1][1]
        keep = 0
        for a, _ in reversed(pieces):
            if end - a > self.overlap or next_end - a > self.budget:
                break
            keep += 1
        return pieces[len(pieces) - keep:] if keep else []
