"""Text files: the exact decoded text (offsets exact), or a specific reason to quarantine."""

import codecs

import pytest

from indexgate.errors import ParseError
from indexgate.parsing import parse, supported

FRENCH = "Le café coûte 3 € – c’est « cher » pour un naïf.\r\nDeuxième ligne.\r\n"


def test_text_is_the_file_text_with_crlf_kept():
    parsed = parse("a.md", "# T\r\nbody é\n".encode())
    assert parsed.text == "# T\r\nbody é\n" and parsed.pages == ()


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF8 + FRENCH.encode("utf-8"),
    codecs.BOM_UTF16_LE + FRENCH.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + FRENCH.encode("utf-16-be"),
    codecs.BOM_UTF32_LE + FRENCH.encode("utf-32-le"),
    FRENCH.encode("utf-8"),
    FRENCH.encode("cp1252"),  # €, curly quote and en dash exist only in Windows-1252
], ids=["utf8-bom", "utf16le-bom", "utf16be-bom", "utf32le-bom", "utf8", "cp1252"])
def test_encodings_decode_to_the_same_text(data):
    assert parse("fr.txt", data).text == FRENCH


@pytest.mark.parametrize("text,codec", [
    ("Größe der Straße: über 5 km. Öffnungszeiten täglich.\n", "latin-1"),
    ("Привет, как дела? Это тестовый документ на русском языке.\n", "cp1251"),
    ("Καλημέρα κόσμε, αυτό είναι ένα ελληνικό κείμενο.\n", "cp1253"),
])
def test_legacy_single_byte_encodings(text, codec):
    assert parse("x.txt", text.encode(codec)).text == text


@pytest.mark.parametrize("name,data,kind,reason", [
    ("a.txt", b"", "empty", "empty file"),
    ("a.pdf", b"", "empty", "empty file"),
    ("a.txt", b"  \n\t", "no_text", "whitespace only"),
    ("a.txt", b"PK\x03\x04\x14\x00\x00\x00binary", "binary", "binary content in a text file: it is a ZIP"),
    ("a.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "binary", "it is a PDF document"),
    ("a.txt", b"abc\x00def" * 20, "binary", "NUL bytes"),
    ("a.txt", b"\x01\x02\x03\x04 header \x05\x06\x07\x08" * 10, "binary", "control characters"),
    ("a.txt", "naïve café, déjà vu ".encode() + b"\xe9 broken", "undecodable", "invalid UTF-8 byte 0xe9 at offset"),
    ("a.txt", bytes(range(0x80, 0x100)) * 4, "undecodable", "no single-byte encoding gives readable text"),
    ("a.txt", codecs.BOM_UTF16_LE + b"a\x00b", "undecodable", "invalid UTF-16"),
    ("a.xlsx", b"x", "unsupported", "unsupported file type '.xlsx'"),
    ("README", b"text", "unsupported", "without an extension"),
])
def test_bad_files_get_a_specific_reason(name, data, kind, reason):
    with pytest.raises(ParseError, match=reason) as info:
        parse(name, data)
    assert info.value.kind == kind


def test_supported():
    assert all(supported(n) for n in ("x/y.MD", "a.txt", "a.pdf", "a.docx", "a.html", "a.htm", "a.markdown"))
    assert not supported("a.doc") and not supported("a")


def test_an_id_without_an_extension_is_parsed_by_its_mime_type():
    assert parse("4983", b"a BEIR record", "text/plain").text == "a BEIR record"
    assert supported("MED-10", "text/plain") and not supported("MED-10", "application/octet-stream")
    assert not supported("run.bat", "text/plain")  # an unknown extension stays unsupported
    with pytest.raises(ParseError, match="without an extension"):
        parse("README", b"text", "application/octet-stream")
    with pytest.raises(ParseError, match="not valid|undecodable|decode"):
        parse("4983", b"\xff\xfe\x00\xd8", "text/plain")
