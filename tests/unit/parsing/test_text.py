"""Text parsing: exact text, or a specific reason to quarantine."""

import pytest

from indexgate.errors import ParseError
from indexgate.parsing import parse, supported


def test_text_is_the_file_text_with_crlf_kept():
    assert parse("a.md", "# T\r\nbody é\n".encode()) == "# T\r\nbody é\n"


def test_utf8_bom_is_dropped():
    assert parse("a.txt", b"\xef\xbb\xbfhello") == "hello"


@pytest.mark.parametrize("name,data,reason", [
    ("a.txt", b"", "empty file"),
    ("a.txt", b"  \n\t", "whitespace only"),
    ("a.txt", b"PK\x03\x04\x00\x00binary", "binary content"),
    ("a.txt", b"caf\xe9 latin-1", "not valid UTF-8: byte 0xe9 at offset 3"),
    ("a.pdf", b"%PDF-1.4", "unsupported file type '.pdf'"),
    ("README", b"text", "without an extension"),
])
def test_bad_files_get_a_specific_reason(name, data, reason):
    with pytest.raises(ParseError, match=reason):
        parse(name, data)


def test_supported():
    assert supported("x/y.MD") and supported("a.txt") and not supported("a.docx")


def test_an_id_without_a_known_extension_is_parsed_by_its_mime_type():
    assert parse("4983", b"a BEIR record", "text/plain") == "a BEIR record"
    assert supported("MED-10", "text/plain") and not supported("MED-10", "application/octet-stream")
    with pytest.raises(ParseError, match="without an extension"):
        parse("README", b"text", "application/octet-stream")
    with pytest.raises(ParseError, match="not valid UTF-8"):
        parse("4983", b"\xff\xfe", "text/plain")
