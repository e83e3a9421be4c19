"""What a parser produces: the document's text and, for paged formats, where each page starts."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Parsed:
    """The text of one document. ``pages[i]`` is the offset in ``text`` where page ``i + 1``
    starts (``pages[0] == 0``); empty for formats without pages."""

    text: str
    pages: tuple[int, ...] = ()


def page_at(pages: Sequence[int] | None, offset: int) -> int | None:
    """The 1-based page holding character ``offset``, or None for a document without pages.

    A page without text starts where the next one does, so an offset is given to the last page
    starting at or before it: the page whose text it is."""
    if not pages:
        return None
    return max(1, bisect_right(pages, offset))
