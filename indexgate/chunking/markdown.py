"""Heading-aware chunking: sections stay together where they fit, and every chunk knows its
heading path.

Headings recognised:

- Markdown ATX (``## Title``), outside fenced code blocks;
- Markdown setext (a one-line title underlined with ``===`` or ``---``), outside fenced code
  blocks;
- the WikiText form (``= Title =``, ``= = Section = =``) used by Wikipedia dumps.

The text before the first heading has no section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexgate.chunking.base import DEFAULT_MAX_CHARS, Tokenizer, check_size
from indexgate.chunking.packing import Packer, tokenize
from indexgate.chunking.recursive import LEVELS
from indexgate.hashing import stable_hash
from indexgate.models import Chunk

SEPARATOR = " > "
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r" {0,3}(=+|-{2,})[ \t]*")


@dataclass(frozen=True)
class Heading:
    start: int   # where the heading's (first) line starts
    body: int    # where the text after the heading line(s) starts
    level: int
    title: str


def _wikitext_heading(line: str) -> tuple[int, str] | None:
    s = line.strip()
    if len(s) < 3 or s[0] != "=" or s[-1] != "=":
        return None
    left = right = 0
    i, j = 0, len(s)
    while i < j and s[i] in "= ":
        left += s[i] == "="
        i += 1
    while j > i and s[j - 1] in "= ":
        right += s[j - 1] == "="
        j -= 1
    title = s[i:j].strip()
    return (left, title) if title and left == right <= 6 else None


def find_headings(text: str) -> list[Heading]:
    """Headings in document order (none inside fenced code blocks)."""
    found: list[Heading] = []
    fence: str | None = None
    previous: tuple[int, str] | None = None  # a non-blank paragraph line: setext title candidate
    position = 0
    for raw in text.splitlines(keepends=True):
        start, position = position, position + len(raw)
        line = raw.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        if fence is not None:
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence) \
                    and not line[closing.end():].strip():
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening:
            fence, previous = opening.group(1), None
            continue
        atx = _ATX.fullmatch(line)
        wiki = None if atx else _wikitext_heading(line)
        setext = _SETEXT.fullmatch(line) if previous and not atx and not wiki else None
        if atx:
            found.append(Heading(start, position, len(atx.group(1)), (atx.group(2) or "").strip()))
        elif wiki:
            found.append(Heading(start, position, wiki[0], wiki[1]))
        elif setext:
            found.append(Heading(previous[0], position, 1 if setext.group(1)[0] == "=" else 2, previous[1].strip()))
        previous = (start, line) if line.strip() and not (atx or wiki or setext) else None
    return found


@dataclass
class _Section:
    start: int
    body: int
    end: int
    level: int
    path: str | None
    titles: tuple[str, ...] = ()
    children: list[_Section] = field(default_factory=list)


def section_tree(text: str) -> _Section:
    """The document as a tree of sections; the root (level 0, no path) holds the preamble."""
    root = _Section(0, 0, len(text), 0, None)
    stack = [root]
    for h in find_headings(text):
        while stack[-1].level >= h.level:
            stack.pop().end = h.start
        parent = stack[-1]
        titles = parent.titles + ((h.title,) if h.title else ())
        node = _Section(h.start, h.body, len(text), h.level, SEPARATOR.join(titles) or None, titles)
        parent.children.append(node)
        stack.append(node)
    return root


class MarkdownChunker:
    """A section that fits in ``size`` tokens, subsections included, is one chunk. A larger one
    is cut into its own text (packed like :class:`RecursiveChunker`, with ``overlap``) and its
    subsections, each treated the same way. A chunk never spans two sections, so its
    ``section`` (the heading path, ``"Guide > Install"``) is exact. A heading with no text of
    its own joins its first subsection's first chunk when they fit together.

    With ``heading_prefix``, the heading path and a blank line are put before the chunk's text
    when it is embedded. The chunk's text and offsets stay those of the document. The prefix
    counts against ``size`` and is cut to at most half of it. A chunk wider than ``max_chars``
    characters (of the document; the prefix is not counted) is cut into consecutive pieces that fit."""

    strategy = "markdown"
    algorithm = 1

    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int = 0, heading_prefix: bool = False,
                 max_chars: int = DEFAULT_MAX_CHARS):
        check_size(tokenizer, size, overlap, max_chars)
        self.tokenizer = tokenizer
        self.size = size
        self.overlap = overlap
        self.heading_prefix = heading_prefix
        self.max_chars = max_chars
        self.fingerprint = stable_hash({"strategy": self.strategy, "algorithm": self.algorithm, "size": size,
                                        "overlap": overlap, "heading_prefix": heading_prefix,
                                        "max_chars": max_chars, "tokenizer": tokenizer.fingerprint})
        self._packers: dict[int, Packer] = {}

    def describe(self) -> dict:
        return {"strategy": self.strategy, "chunk_size": self.size, "chunk_overlap": self.overlap,
                "heading_prefix": self.heading_prefix, "max_chars": self.max_chars, "fingerprint": self.fingerprint}

    def prefix(self, path: str | None) -> tuple[str | None, int]:
        """The embedding prefix of a section and its token count (``(None, 0)`` without one)."""
        if not (self.heading_prefix and path):
            return None, 0
        text = path + "\n\n"
        offsets = self.tokenizer.offsets(text)
        limit = self.size // 2
        if len(offsets) > limit:
            if limit == 0:
                return None, 0
            text = text[:offsets[limit - 1][1]] + "\n\n"
            return text, limit
        return text, len(offsets)

    def _packer(self, budget: int) -> Packer:
        if budget not in self._packers:
            self._packers[budget] = Packer(LEVELS, budget, self.overlap)
        return self._packers[budget]

    def chunk(self, doc_id: str, text: str) -> list[Chunk]:
        doc = tokenize(self.tokenizer, text, self.max_chars)
        prefixes: dict[str | None, tuple[str | None, int]] = {}

        def prefix(path: str | None) -> tuple[str | None, int]:
            if path not in prefixes:
                prefixes[path] = self.prefix(path)
            return prefixes[path]

        def emit(node: _Section) -> list[tuple[int, int, str | None]]:
            i, j = doc.index_at(node.start), doc.index_at(node.end)
            budget = self.size - prefix(node.path)[1]
            if j <= i:
                return []
            if node.level and j - i <= budget:
                return [(i, j, node.path)]
            own_end = doc.index_at(node.children[0].start) if node.children else j
            own = [(a, b, node.path) for a, b in self._packer(budget).pack(doc, i, own_end)]
            rest = [piece for child in node.children for piece in emit(child)]
            heading_only = node.level and own and doc.index_at(node.body) >= own_end
            if heading_only and rest and rest[0][1] - i <= self.size - prefix(rest[0][2])[1]:
                return [(i, rest[0][1], rest[0][2])] + rest[1:]
            return own + rest

        chunks = []
        for i, j, path in emit(section_tree(text)):
            embed_prefix, n = prefix(path)
            for a, b in doc.fit(i, j):
                chunks.append(doc.chunk(doc_id, a, b, self.fingerprint, section=path, prefix=embed_prefix,
                                        prefix_tokens=n))
        return chunks
