"""Plain text and Markdown: the parsed text is the file's text, so offsets are exact."""

from __future__ import annotations

from indexgate.errors import ParseError


def parse_text(data: bytes) -> str:
    """Decode UTF-8 (a leading BOM is dropped) with no newline translation.

    Refuses, with a reason, content that is not text: NUL bytes mean a binary file.
    """
    if not data:
        raise ParseError("empty file")
    if b"\x00" in data[:8192]:
        raise ParseError("binary content (NUL bytes) in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None
