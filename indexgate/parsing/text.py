"""Plain text and Markdown: the parsed text is the file's decoded text, so offsets are exact.

Decoding, in order (the first that applies wins):

1. a byte-order mark: UTF-8, UTF-16 LE/BE or UTF-32 LE/BE (the mark is dropped);
2. binary content is refused. That is a known binary signature (PDF, ZIP/DOCX, images,
   executables, compressed data) or NUL bytes. UTF-16 without a BOM is treated as binary: it
   cannot be told from binary data reliably;
3. strict UTF-8;
4. bytes that are mostly valid UTF-8 with some invalid sequences are refused as undecodable.
   Such a file is damaged UTF-8: guessing a legacy encoding would silently produce mojibake;
5. Windows-1252, when charset-normalizer finds the result free of mess. It is a superset of the
   printable Latin-1 range, and by far the most common legacy encoding of Western text;
6. the single-byte encoding charset-normalizer finds most plausible (Cyrillic, Greek,
   Central European...);
7. otherwise the bytes are refused as undecodable.

No newline translation is done: ``\\r\\n`` stays ``\\r\\n``.
"""

from __future__ import annotations

import codecs

from indexgate.errors import ParseError
from indexgate.parsing.base import Parsed

_BOMS = [  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
]
_SIGNATURES = [
    (b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (DOCX, XLSX, JAR...)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE document (DOC, XLS...)"), (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"), (b"GIF87a", "a GIF image"), (b"GIF89a", "a GIF image"),
    (b"\x7fELF", "an ELF executable"), (b"\x1f\x8b", "gzip data"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xfd7zXZ\x00", "xz data"), (b"\x28\xb5\x2f\xfd", "zstd data"),
]
# Legacy encodings considered after Windows-1252. Only single-byte ones: a multi-byte guess for a
# file without a BOM that is not UTF-8 is far more often wrong than right.
SINGLE_BYTE = [
    "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "iso8859_2",
    "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8", "iso8859_9",
    "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "koi8_r", "koi8_u",
    "mac_roman", "mac_cyrillic", "cp437", "cp850", "cp866",
]
_SAMPLE = 1 << 16
# C0 and C1 control characters other than tab, line feed, vertical tab, form feed, carriage
# return and escape (ANSI colour codes in logs): plenty of them means binary data.
_CONTROLS = {chr(c) for c in [*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F, *range(0x80, 0xA0)]}


def _binary(data: bytes) -> str | None:
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            return f"binary content in a text file: it is {what}"
    if b"\x00" in data[:_SAMPLE]:
        return "binary content in a text file: NUL bytes (UTF-16 text needs a byte-order mark)"
    return None


def _damaged_utf8(data: bytes, error: UnicodeDecodeError) -> str | None:
    """A reason when ``data`` is UTF-8 apart from some invalid bytes, else None."""
    decoded = data.decode("utf-8", errors="replace")
    invalid = decoded.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    multibyte = sum(1 for c in decoded if ord(c) > 0x7F and c != "\ufffd")
    if multibyte and multibyte >= invalid:
        return (f"undecodable bytes: invalid UTF-8 byte 0x{data[error.start]:02x} at offset {error.start} in a file"
                f" that is otherwise UTF-8 ({multibyte} valid non-ASCII characters, {invalid} invalid sequences)")
    return None


def _legacy(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    else:
        match = from_bytes(data, cp_isolation=["cp1252"], threshold=0.1).best()
        if match is not None:
            return str(match)
    match = from_bytes(data, cp_isolation=SINGLE_BYTE).best()
    return None if match is None else str(match)


def decode_text(data: bytes) -> str:
    """Bytes of a text file -> its text (see the module docstring); ParseError with a specific
    reason and kind (``empty``, ``binary``, ``undecodable``) otherwise."""
    if not data:
        raise ParseError("empty file", "empty")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise ParseError(f"undecodable bytes: invalid {name} after a {name} byte-order mark at offset"
                                 f" {exc.start + len(bom)}", "undecodable") from None
    if reason := _binary(data):
        raise ParseError(reason, "binary")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if reason := _damaged_utf8(data, exc):
            raise ParseError(reason, "undecodable") from None
        text = _legacy(data)
        if text is None:
            raise ParseError(f"undecodable bytes: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}) and"
                             " no single-byte encoding gives readable text", "undecodable") from None
    sample = text[:_SAMPLE]
    controls = sum(1 for c in sample if c in _CONTROLS)
    if controls > 0.02 * len(sample):
        raise ParseError(f"binary content in a text file: {controls} control characters in the first"
                         f" {len(sample)} characters", "binary")
    return text


def parse_text(data: bytes) -> Parsed:
    return Parsed(decode_text(data))
