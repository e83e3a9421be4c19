"""Replace findings by typed placeholders, keeping offsets mapped to the original text.

Chunks are cut from the redacted text; span evaluation compares spans of the original
document. :meth:`Redacted.to_original` maps a span of the one onto the other.
"""

from __future__ import annotations

import bisect
from functools import cached_property
from dataclasses import dataclass, field

from indexgate.guardrails.detectors import DETECTORS, Match


@dataclass(frozen=True)
class Replacement:
    """``original[orig_start:orig_end]`` became ``text[start:end]`` (a placeholder)."""

    start: int
    end: int
    orig_start: int
    orig_end: int


@dataclass(frozen=True)
class Redacted:
    """A redacted text and where its placeholders came from.

    Guarantees, for every ``0 <= a <= b <= len(text)`` with ``to_original(a, b) == (x, y)``:

    - text outside placeholders is the original text unchanged;
    - a span that touches a placeholder covers the whole original match;
    - ``x <= y``.
    """

    text: str = field(repr=False)
    replacements: tuple[Replacement, ...] = ()

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` stands for."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span {start}:{end} is outside the redacted text (0:{len(self.text)})")
        return self._position(start, at_end=False), self._position(end, at_end=True)

    @cached_property
    def _ends(self) -> list[int]:
        return [r.end for r in self.replacements]

    def _position(self, pos: int, at_end: bool) -> int:
        reps, ends = self.replacements, self._ends
        # A start inside [r.start, r.end) or an end inside (r.start, r.end] is in placeholder r.
        i = bisect.bisect_right(ends, pos) if not at_end else bisect.bisect_left(ends, pos)
        if i < len(reps):
            r = reps[i]
            if (r.start <= pos < r.end) if not at_end else (r.start < pos <= r.end):
                return r.orig_end if at_end else r.orig_start
        # Outside every placeholder: shift by the last one that ends at or before pos.
        j = bisect.bisect_right(ends, pos) - 1
        return pos if j < 0 else pos - reps[j].end + reps[j].orig_end


def redact(text: str, matches: list[Match]) -> Redacted:
    """``text`` with each match replaced by its detector's placeholder.

    ``matches`` must be sorted and non-overlapping (what :func:`detect` returns).
    """
    parts: list[str] = []
    replacements: list[Replacement] = []
    cursor = 0
    length = 0
    for m in matches:
        if m.start < cursor:
            raise ValueError("matches overlap or are not sorted")
        parts.append(text[cursor:m.start])
        length += m.start - cursor
        placeholder = DETECTORS[m.detector].placeholder
        replacements.append(Replacement(length, length + len(placeholder), m.start, m.end))
        parts.append(placeholder)
        length += len(placeholder)
        cursor = m.end
    parts.append(text[cursor:])
    return Redacted("".join(parts), tuple(replacements))


def to_redacted(replacements: tuple[Replacement, ...] | list[Replacement], start: int, end: int) -> tuple[int, int]:
    """The span of the redacted text that ``original[start:end]`` became: the inverse of
    :meth:`Redacted.to_original`. Golden spans are written in original offsets; chunks are cut
    from the redacted text. Text outside placeholders maps to the same text; a span that touches
    a replaced match covers its whole placeholder. ``replacements`` are sorted (as made)."""
    if not 0 <= start <= end:
        raise ValueError(f"span {start}:{end} is not a span")
    ends = [r.orig_end for r in replacements]

    def position(pos: int, at_end: bool) -> int:
        i = bisect.bisect_left(ends, pos) if at_end else bisect.bisect_right(ends, pos)
        if i < len(replacements):
            r = replacements[i]
            if (r.orig_start < pos <= r.orig_end) if at_end else (r.orig_start <= pos < r.orig_end):
                return r.end if at_end else r.start
        j = bisect.bisect_right(ends, pos) - 1
        return pos if j < 0 else pos - replacements[j].orig_end + replacements[j].end

    return position(start, False), position(end, True)


def original_length(length: int, replacements: tuple[Replacement, ...] | list[Replacement]) -> int:
    """Characters of the original text of a redacted text of ``length`` characters."""
    return length + sum((r.orig_end - r.orig_start) - (r.end - r.start) for r in replacements)
