"""PDF, DOCX and HTML files written by real writers (fpdf2, python-docx), parsed back."""

from __future__ import annotations

import pytest

from docwriters import PAGES, make_docx, make_pdf

from indexgate.errors import ParseError
from indexgate.parsing import page_at, parse

def test_pdf_text_layer_and_page_starts():
    parsed = parse("policy.pdf", make_pdf(PAGES))
    assert len(parsed.pages) == 3 and parsed.pages[0] == 0
    for number, expected in enumerate(PAGES, 1):
        start = parsed.text.index(expected[:20])
        assert start == parsed.pages[number - 1]
        assert page_at(parsed.pages, start) == number
        assert page_at(parsed.pages, start + len(expected) - 1) == number
    assert " ".join(parsed.text.split()) == " ".join(" ".join(PAGES).split())


def test_pdf_page_without_text_keeps_the_numbering():
    parsed = parse("scan.pdf", make_pdf([PAGES[0], None, PAGES[2]]))
    assert len(parsed.pages) == 3
    third = parsed.text.index("Page three")
    assert page_at(parsed.pages, third) == 3 and page_at(parsed.pages, 0) == 1


@pytest.mark.parametrize("data,kind,reason", [
    (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer garbage", "corrupt", "corrupt PDF"),
    (b"this is not a pdf at all", "corrupt", "no %PDF header"),
    (None, "no_text", "no text layer in a PDF of 1 pages"),
    ("encrypted", "encrypted", "encrypted PDF"),
])
def test_bad_pdfs_are_refused_specifically(data, kind, reason):
    if data is None:
        data = make_pdf([None])
    elif data == "encrypted":
        data = make_pdf(PAGES, password="secret")
    with pytest.raises(ParseError, match=reason) as info:
        parse("x.pdf", data)
    assert info.value.kind == kind


def test_truncated_pdf_is_corrupt():
    data = make_pdf(PAGES)
    with pytest.raises(ParseError, match="corrupt PDF") as info:
        parse("x.pdf", data[: len(data) // 3])
    assert info.value.kind == "corrupt"


def test_docx_paragraphs_headings_lists_and_tables():
    parsed = parse("travel.docx", make_docx())
    assert parsed.text == (
        "# Travel policy\n\nBook flights through the travel desk.\n\n## Approvals\n\n"
        "- Your manager approves trips abroad.\n\nTrip | Approver\n\nAbroad | Manager\n\n"
        "Last paragraph after the table."
    )
    assert parsed.pages == ()


def test_corrupt_docx():
    data = make_docx()
    for bad in (b"PK\x03\x04 not really a zip", data[: len(data) // 2]):
        with pytest.raises(ParseError, match="corrupt DOCX") as info:
            parse("x.docx", bad)
        assert info.value.kind == "corrupt"


PAGE = """<!doctype html>
<html><head><title>Refunds</title><meta charset="windows-1252">
<style>body { color: red } .secret { display: none }</style>
<script>var tracking = "SCRIPT TEXT";</script></head>
<body>
<header><a href="/">Home</a> <a href="/about">About us</a></header>
<nav><ul><li>NAV ITEM one</li><li>NAV ITEM two</li></ul></nav>
<div role="navigation">Breadcrumb NAV</div>
<main>
  <article>
    <header><h1>Refund   policy</h1></header>
    <p>Refunds are paid within <b>14 days</b> – no questions asked.<br>Second line.</p>
    <ul><li>Item one</li><li>Item <i>two</i></li></ul>
    <table><tr><th>Plan</th><th>Days</th></tr><tr><td>Basic</td><td>30</td></tr></table>
    <pre>  code   block
  line two</pre>
    <!-- a comment -->
    <div hidden>HIDDEN TEXT</div>
    <noscript>NOSCRIPT TEXT</noscript>
    <script>document.write("SCRIPT TEXT 2")</script>
  </article>
</main>
<aside>ASIDE related links</aside>
<footer>FOOTER (c) 2026</footer>
</body></html>
"""


def test_html_main_text_only():
    parsed = parse("refunds.html", PAGE.encode("cp1252"))
    assert parsed.text == (
        "# Refund policy\n\nRefunds are paid within 14 days – no questions asked.\nSecond line.\n\n"
        "- Item one\n\n- Item two\n\nPlan | Days\n\nBasic | 30\n\n  code   block\n  line two"
    )
    for furniture in ("SCRIPT", "NAV", "HIDDEN", "NOSCRIPT", "ASIDE", "FOOTER", "Home", "color"):
        assert furniture not in parsed.text


def test_html_without_main_uses_the_body_and_empty_page_is_refused():
    text = parse("x.htm", b"<html><body><nav>menu</nav><h2>Title</h2><p>Body text.</p></body></html>").text
    assert text == "## Title\n\nBody text."
    with pytest.raises(ParseError, match="no main text") as info:
        parse("x.html", b"<html><body><script>x()</script><nav>menu only</nav></body></html>")
    assert info.value.kind == "no_text"
