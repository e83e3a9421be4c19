"""Which objects of a source are taken: include/exclude globs over the doc id, and a size limit."""

from __future__ import annotations

import re
from functools import cached_property

from indexgate.settings import SourceConfig


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob over ``/``-separated relative paths.

    - ``*`` and ``?`` stay within one segment.
    - ``[...]`` is a character class (``[!...]`` negates).
    - A ``**`` segment matches any number of folders (none included).

    As in ``.gitignore``:

    - a pattern with no ``/`` but a trailing one matches at any depth (``*.pdf``, ``drafts/``);
    - a trailing ``/`` matches everything below such a folder;
    - a leading ``/`` anchors at the root;
    - any other ``/`` makes the pattern relative to the root (``docs/*.md``).
    """
    folder = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if pattern.startswith("/"):
        pattern = pattern[1:]
    elif "/" not in pattern:  # as in .gitignore, a trailing '/' alone does not anchor
        pattern = "**/" + pattern
    if folder:
        pattern += "/**"
    parts = pattern.split("/")
    out = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_segment(part) + ("" if last else "/"))
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _segment(part: str) -> str:
    regex, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "*":
            regex.append("[^/]*")
        elif c == "?":
            regex.append("[^/]")
        elif c == "[" and (close := _class_end(part, i)) != -1:
            body = part[i + 1:close]
            negate = body[:1] in ("!", "^")
            body = (body[1:] if negate else body).replace("\\", "\\\\")
            regex.append("[" + ("^/" if negate else "") + body + "]")
            i = close
        else:
            regex.append(re.escape(c))
        i += 1
    return "".join(regex)


def _class_end(part: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, or -1 when it is not closed.

    A ``]`` right after the opening ``[`` or ``[!`` belongs to the class. When the class is not
    closed, ``[`` is literal."""
    first = start + 1 + (part[start + 1:start + 2] in ("!", "^"))
    return part.find("]", first + 1)


class Selection:
    """The include/exclude globs and size limit of a :class:`SourceConfig`."""

    def __init__(self, config: SourceConfig):
        self.config = config

    @cached_property
    def _include(self) -> list[re.Pattern[str]]:
        return [glob_regex(p) for p in self.config.include]

    @cached_property
    def _exclude(self) -> list[re.Pattern[str]]:
        return [glob_regex(p) for p in self.config.exclude]

    def wanted(self, doc_id: str) -> bool:
        """Whether the globs select this id (not selected = deliberately left out, not refused)."""
        if self._include and not any(p.match(doc_id) for p in self._include):
            return False
        return not any(p.match(doc_id) for p in self._exclude)

    def too_large(self, size: int) -> str | None:
        """The refusal reason when ``size`` exceeds the limit, else None."""
        limit = self.config.max_file_bytes
        if size > limit:
            return f"file over the size limit: {size:,} bytes > max_file_bytes {limit:,}"
        return None
