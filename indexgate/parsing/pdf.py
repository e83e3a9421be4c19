"""PDF: the text layer of every page (pypdf), with the offset where each page starts.

Pages are joined by a blank line. A page without text (a scanned image) adds nothing but still
gets its start offset, so page numbers stay those of the file. Refused files:

- a file with no text on any page (``no_text``): it needs OCR, which IndexGate does not do;
- a file pypdf cannot read (``corrupt``);
- an encrypted file that does not open with an empty password (``encrypted``).
"""

from __future__ import annotations

import io
import logging

from indexgate.errors import ParseError
from indexgate.parsing.base import Parsed

SEPARATOR = "\n\n"


def parse_pdf(data: bytes) -> Parsed:
    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:
        raise ParseError("corrupt PDF: no %PDF header", "corrupt")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns about every repair it makes
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypt(reader):
            raise ParseError("encrypted PDF: it does not open without a password", "encrypted")
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except ParseError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; any of them means corrupt
        raise ParseError(f"corrupt PDF: {type(exc).__name__}: {exc}"[:500], "corrupt") from None
    if not texts:
        raise ParseError("corrupt PDF: no pages", "corrupt")
    if not any(texts):
        raise ParseError(f"no text layer in a PDF of {len(texts)} pages (scanned images need OCR)", "no_text")
    parts: list[str] = []
    pages, offset = [], 0
    for text in texts:
        if text and parts:
            parts.append(SEPARATOR)
            offset += len(SEPARATOR)
        pages.append(offset)
        if text:
            parts.append(text)
            offset += len(text)
    return Parsed("".join(parts), tuple(pages))


def _decrypt(reader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # e.g. AES without the optional crypto dependency
        return False
