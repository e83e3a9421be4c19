"""Bytes -> text. :func:`parse` picks a parser by file extension; failures raise ParseError,
whose message becomes the file's quarantine reason and whose ``kind`` its code.

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

__all__ = ["PARSERS", "Parsed", "page_at", "parse", "supported"]

PARSERS: dict[str, Callable[[bytes], Parsed]] = {
    ".txt": parse_text, ".md": parse_text, ".markdown": parse_text,
    ".html": parse_html, ".htm": parse_html,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
}


def supported(doc_id: str) -> bool:
    return PurePosixPath(doc_id).suffix.lower() in PARSERS


def parse(doc_id: str, data: bytes) -> Parsed:
    suffix = PurePosixPath(doc_id).suffix.lower()
    parser = PARSERS.get(suffix)
    if parser is None:
        kind = f"'{suffix}'" if suffix else "without an extension"
        raise ParseError(f"unsupported file type {kind} (supported: {', '.join(sorted(PARSERS))})", "unsupported")
    if not data:
        raise ParseError("empty file", "empty")
    parsed = parser(data)
    if not parsed.text.strip():
        raise ParseError("no text: the file is empty or whitespace only", "no_text")
    return parsed
