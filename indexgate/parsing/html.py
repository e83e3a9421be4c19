"""HTML: the main text of the page, without scripts, styles, navigation or other page furniture.

Beautiful Soup (with lxml) builds the tree; the rules here decide what is text. The root is the
page's ``<main>`` (or ``role="main"``, or its only ``<article>``), else ``<body>``. Dropped
everywhere under it:

- scripts, styles, templates, embedded objects and forms;
- ``<nav>``, ``<header>``, ``<footer>`` of the page (an article's own header stays), ``<aside>``;
- elements with a navigation/banner/footer/search role;
- hidden elements.

Block elements become paragraphs separated by a blank line. Headings are written as Markdown
(``## Title``), list items as ``- item``, table rows as ``cell | cell``. ``<pre>`` keeps its
whitespace. Elsewhere, runs of whitespace become one space.
"""

from __future__ import annotations

import re

from indexgate.errors import ParseError
from indexgate.parsing.base import Parsed
from indexgate.parsing.text import decode_text

DROP = {"script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object", "embed",
        "video", "audio", "nav", "header", "footer", "aside", "form", "button", "select", "input",
        "textarea", "menu", "dialog", "head", "title", "meta", "link"}
DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar", "dialog"}
BLOCKS = {"p", "div", "section", "article", "main", "blockquote", "figure", "figcaption", "address", "dl",
          "dt", "dd", "ul", "ol", "table", "thead", "tbody", "tfoot", "caption", "details", "summary", "hr",
          "body", "html", "center", "fieldset", "legend"}
HEADINGS = {f"h{i}": i for i in range(1, 7)}
_SPACE = re.compile(r"\s+")


class _Writer:
    """Collects the text of a subtree as a list of blocks (paragraphs)."""

    def __init__(self):
        self.blocks: list[str] = []
        self._inline: list[str] = []

    def flush(self, pre: bool = False) -> None:
        text, self._inline = "".join(self._inline), []
        if not pre:
            text = "\n".join(re.sub(" {2,}", " ", line).strip() for line in text.split("\n"))
        text = text.strip("\n") if pre else text.strip()
        if text.strip():
            self.blocks.append(text)

    def inline_text(self, node) -> str:
        sub = _Writer()
        sub.walk(node)
        sub.flush()
        return " ".join(sub.blocks)

    def walk(self, node, pre: bool = False) -> None:
        from bs4 import NavigableString, Tag
        from bs4.element import PreformattedString

        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, doctypes, CDATA, PIs
                    self._inline.append(str(child) if pre else _SPACE.sub(" ", str(child)))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "br":
                self._inline.append("\n")
            elif name in HEADINGS:
                self.flush(pre)
                if text := self.inline_text(child):
                    self.blocks.append("#" * HEADINGS[name] + " " + text)
            elif name == "li":
                self.flush(pre)
                sub = _Writer()
                sub.walk(child)
                sub.flush()
                if sub.blocks:
                    self.blocks.append("- " + sub.blocks[0])
                    self.blocks.extend(sub.blocks[1:])
            elif name == "tr":
                self.flush(pre)
                cells = [self.inline_text(c) for c in child.find_all(["td", "th"], recursive=False)]
                if any(cells):
                    self.blocks.append(" | ".join(cells))
            elif name == "pre":
                self.flush(pre)
                self.walk(child, pre=True)
                self.flush(pre=True)
            elif name in BLOCKS:
                self.flush(pre)
                self.walk(child, pre)
                self.flush(pre)
            else:
                self.walk(child, pre)


def _decode(data: bytes) -> str:
    """The declared encoding (BOM, ``<meta charset>``) if it decodes, else as a text file."""
    from bs4.dammit import EncodingDetector

    declared = EncodingDetector.find_declared_encoding(data[:4096], is_html=True)
    if declared and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def _drop(root) -> None:
    for tag in root.find_all(True):
        if tag.decomposed:
            continue
        role = (tag.get("role") or "").strip().lower()
        if tag.name in ("header", "footer") and tag.find_parent(["article", "main"]) is not None:
            continue  # the header of an article holds its title, unlike the page's banner
        if (tag.name in DROP or role in DROP_ROLES or tag.has_attr("hidden")
                or (tag.get("aria-hidden") or "").lower() == "true"):
            tag.decompose()


def parse_html(data: bytes) -> Parsed:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data), "lxml")
    articles = soup.find_all("article")
    root = (soup.find("main") or soup.find(attrs={"role": "main"}) or (articles[0] if len(articles) == 1 else None)
            or soup.body or soup)
    _drop(root)
    writer = _Writer()
    writer.walk(root)
    writer.flush()
    text = "\n\n".join(writer.blocks)
    if not text.strip():
        raise ParseError("no text: the HTML page has no main text", "no_text")
    return Parsed(text)
