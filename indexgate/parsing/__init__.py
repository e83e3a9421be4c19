"""Bytes -> text. :func:`parse` picks a parser by file extension (else by the object's mime
type); failures raise ParseError, whose message becomes the file's quarantine reason and whose
``kind`` its code.

Parsers are plain functions of the bytes. They run in a separate process under hard time and
memory limits (:mod:`indexgate.parsing.worker`), so a parser that hangs or blows up on a crafted
file costs that file, never the run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from indexgate.errors import ParseError
from indexgate.parsing.base import Parsed, page_at
from indexgate.parsing.docx import parse_docx
from indexgate.parsing.html import parse_html
from indexgate.parsing.pdf import parse_pdf
from indexgate.parsing.text import parse_text

__all__ = ["PARSERS", "PARSER_VERSION", "Parsed", "page_at", "parse", "supported"]

# Bump whenever a parser can give a different text for the same bytes. The parser version is part
# of the version id. And an incremental sync carries the parsed text of unchanged documents from
# the live version only while it is equal.
PARSER_VERSION = 2

PARSERS: dict[str, Callable[[bytes], Parsed]] = {
    ".txt": parse_text, ".md": parse_text, ".markdown": parse_text,
    ".html": parse_html, ".htm": parse_html,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
}
# For objects whose id carries no extension at all (a BEIR record's ``_id``): the mime type the
# source gives decides. A file with an unknown extension stays unsupported.
MIME_PARSERS = {"text/plain": parse_text, "text/markdown": parse_text}


def _parser(doc_id: str, mime: str | None):
    suffix = PurePosixPath(doc_id).suffix.lower()
    return PARSERS.get(suffix) if suffix else MIME_PARSERS.get(mime or "")


def supported(doc_id: str, mime: str | None = None) -> bool:
    return _parser(doc_id, mime) is not None


def parse(doc_id: str, data: bytes, mime: str | None = None) -> Parsed:
    parser = _parser(doc_id, mime)
    if parser is None:
        suffix = PurePosixPath(doc_id).suffix.lower()
        kind = f"'{suffix}'" if suffix else "without an extension"
        raise ParseError(f"unsupported file type {kind} (supported: {', '.join(sorted(PARSERS))})", "unsupported")
    if not data:
        raise ParseError("empty file", "empty")
    parsed = parser(data)
    if not parsed.text.strip():
        raise ParseError("no text: the file is empty or whitespace only", "no_text")
    return parsed
