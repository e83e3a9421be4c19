"""Bytes -> text. :func:`parse` picks a parser by file extension (else by the object's mime type);
failures raise ParseError, whose message becomes the file's quarantine reason."""

from __future__ import annotations

from pathlib import PurePosixPath

from indexgate.errors import ParseError
from indexgate.parsing.text import parse_text

# Bump whenever a parser can give a different text for the same bytes: an incremental sync
# carries the parsed text of unchanged documents from the live version only while it is equal.
PARSER_VERSION = 1

PARSERS = {".txt": parse_text, ".md": parse_text, ".markdown": parse_text}
# For objects whose id carries no known extension (a BEIR record's ``_id``, a text file named
# ``run.bat``): the mime type the source gives (for files, guessed from the name) decides.
MIME_PARSERS = {"text/plain": parse_text, "text/markdown": parse_text}


def supported(doc_id: str, mime: str | None = None) -> bool:
    return PurePosixPath(doc_id).suffix.lower() in PARSERS or mime in MIME_PARSERS


def parse(doc_id: str, data: bytes, mime: str | None = None) -> str:
    suffix = PurePosixPath(doc_id).suffix.lower()
    parser = PARSERS.get(suffix) or MIME_PARSERS.get(mime or "")
    if parser is None:
        kind = f"'{suffix}'" if suffix else "without an extension"
        raise ParseError(f"unsupported file type {kind} (supported: {', '.join(sorted(PARSERS))})")
    text = parser(data)
    if not text.strip():
        raise ParseError("no text: the file is empty or whitespace only")
    return text
