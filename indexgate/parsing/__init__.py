"""Bytes -> text. :func:`parse` picks a parser by file extension; failures raise ParseError,
whose message becomes the file's quarantine reason."""

from __future__ import annotations

from pathlib import PurePosixPath

from indexgate.errors import ParseError
from indexgate.parsing.text import parse_text

PARSERS = {".txt": parse_text, ".md": parse_text, ".markdown": parse_text}


def supported(doc_id: str) -> bool:
    return PurePosixPath(doc_id).suffix.lower() in PARSERS


def parse(doc_id: str, data: bytes) -> str:
    suffix = PurePosixPath(doc_id).suffix.lower()
    parser = PARSERS.get(suffix)
    if parser is None:
        kind = f"'{suffix}'" if suffix else "without an extension"
        raise ParseError(f"unsupported file type {kind} (supported: {', '.join(sorted(PARSERS))})")
    text = parser(data)
    if not text.strip():
        raise ParseError("no text: the file is empty or whitespace only")
    return text
