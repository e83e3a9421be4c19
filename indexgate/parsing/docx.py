"""Word (.docx): paragraphs, headings and tables of the body, in document order (python-docx).

Headings (the ``Title`` and ``Heading N`` styles) are written as Markdown (``## Heading``), list
paragraphs as ``- item``, table rows as ``cell | cell``; blocks are separated by a blank line.
Headers, footers, comments and text boxes are not read. A file python-docx cannot open (not a
ZIP, no ``word/document.xml``, broken XML) is refused as ``corrupt``.
"""

from __future__ import annotations

import io
import re

from indexgate.errors import ParseError
from indexgate.parsing.base import Parsed

_HEADING = re.compile(r"^Heading (\d)$")


def _level(style: str) -> int | None:
    if style == "Title":
        return 1
    match = _HEADING.match(style)
    return int(match.group(1)) if match else None


def parse_docx(data: bytes) -> Parsed:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    cells: list[str] = []
                    for cell in row.cells:  # a merged cell is repeated once per grid column
                        text = " ".join(cell.text.split())
                        if not cells or text != cells[-1]:
                            cells.append(text)
                    if any(cells):
                        blocks.append(" | ".join(cells))
                continue
            text = item.text.strip()
            if not text:
                continue
            style = item.style.name if item.style is not None else ""
            if (level := _level(style)) is not None:
                text = "#" * level + " " + " ".join(text.split())
            elif style.startswith("List"):
                text = "- " + text
            blocks.append(text)
    except Exception as exc:  # zipfile, lxml and python-docx raise many types on damaged files
        raise ParseError(f"corrupt DOCX: {type(exc).__name__}: {exc}"[:500], "corrupt") from None
    return Parsed("\n\n".join(blocks))
