"""Document ids: safe, ``/``-separated relative paths, or a reason why a name is refused.

A doc id is used as a key in tables, payloads and reports. It must never be able to name a place
on disk outside a source root, if anything ever joins it to a folder. Object keys and file names
come from outside: anyone who can write to the bucket or share chooses them. So they are checked,
never repaired. An unsafe name is refused with its reason, and the object is quarantined.
"""

from __future__ import annotations

import unicodedata

MAX_ID_BYTES = 1024  # S3's own key limit; longer ids would not round-trip through S3 anyway
MAX_SEGMENT_BYTES = 255  # the usual file-name limit of Linux, macOS and Windows file systems

# Bidirectional controls reorder what a reader sees ("gpj.exe" shown as "exe.jpg"): refused.
_BIDI = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
# Unicode categories never legitimate in a name: controls (NUL included), surrogates, private
# use, unassigned, line and paragraph separators.
_BAD_CATEGORIES = {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"}


class UnsafeId(ValueError):
    """The name cannot be a doc id; the message says why."""


def printable(name: str) -> str:
    """``name`` with every invisible or control character shown as ``\\uXXXX`` (for reports)."""
    if name.isascii() and name.isprintable():  # the common case, at C speed: nothing to show
        return name
    return "".join(
        c if c.isprintable() and c not in _BIDI and c != "\ufeff" else f"\\u{ord(c):04x}" for c in name
    )


def check_doc_id(name: str) -> str:
    """Return ``name`` unchanged if it is a safe relative id, else raise :class:`UnsafeId`.

    Safe means all of these:

    - non-empty;
    - relative (no leading ``/``);
    - no empty segment (``//``) and no ``.`` or ``..`` segment;
    - no backslash;
    - no control, bidi, surrogate, private-use or unassigned character;
    - no character whose compatibility form is a separator or turns a segment into ``.``/``..``
      (full-width solidus ``／``, ``．．``);
    - valid UTF-8;
    - within length limits.
    """
    if not name:
        raise UnsafeId("empty name")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise UnsafeId("not valid UTF-8 (undecodable bytes in the name)") from None
    if size > MAX_ID_BYTES:
        raise UnsafeId(f"name longer than {MAX_ID_BYTES} bytes")
    if name.startswith("/"):
        raise UnsafeId("absolute path")
    if "\\" in name:
        raise UnsafeId("backslash in the name (a path separator on Windows)")
    # Printable ASCII holds no control, bidi or unassigned character (the common case, checked
    # at C speed: a snapshot checks every name).
    for char in () if name.isascii() and name.isprintable() else name:
        if char in _BIDI or char == "\ufeff":
            raise UnsafeId(f"invisible formatting character U+{ord(char):04X} in the name")
        if unicodedata.category(char) in _BAD_CATEGORIES:
            raise UnsafeId(f"control or non-character U+{ord(char):04X} in the name")
    for segment in name.split("/"):
        if segment == "":
            raise UnsafeId("empty path segment ('//' or a trailing '/')")
        if segment in (".", ".."):
            raise UnsafeId(f"'{segment}' path segment")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise UnsafeId(f"path segment longer than {MAX_SEGMENT_BYTES} bytes")
        folded = segment if segment.isascii() else unicodedata.normalize("NFKC", segment)  # NFKC keeps ASCII
        if "/" in folded or "\\" in folded:
            raise UnsafeId("a character that reads as a path separator (e.g. a full-width solidus)")
        if folded in (".", ".."):
            raise UnsafeId(f"a segment that reads as '{folded}'")
    return name
