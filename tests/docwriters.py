"""Real documents written by real writers (fpdf2, python-docx) for parsing tests.

Importable from any test: pytest puts this folder (the one of the root conftest.py) on sys.path.
"""

from __future__ import annotations

import io

PAGES = [
    "Page one is about the expense policy. Receipts are due within 30 days.",
    "Page two covers travel. Economy class is booked for flights under six hours.",
    "Page three lists the approvers for each cost centre.",
]


def make_pdf(pages: list[str | None], password: str | None = None) -> bytes:
    """A real PDF (fpdf2): one page per entry, ``None`` for a page with a drawing and no text."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.rect(20, 20, 100, 50, style="F")
        else:
            pdf.multi_cell(0, 8, text)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    return bytes(pdf.output())


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Travel policy", level=0)
    document.add_paragraph("Book flights through the travel desk.")
    document.add_heading("Approvals", level=2)
    document.add_paragraph("Your manager approves trips abroad.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("Trip", "Approver"), ("Abroad", "Manager")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.add_paragraph("")
    document.add_paragraph("Last paragraph after the table.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
