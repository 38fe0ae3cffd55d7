"""A PDF read with its layout: wrapped lines rejoined, paragraphs, headings, bullets, ruled tables,
two columns, and a password that stops it (PDFs built with fpdf2 in the test)."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from documents import make_pdf
from fpdf import FPDF

from poleqa.errors import IngestError
from poleqa.ingest import read_document

LONG = (
    "Le pôle Castor fédère les entreprises et les laboratoires de la filière du bois dans toute "
    "la région, anime des projets de recherche collaborative et accompagne les PME vers les "
    "financements publics et privés."
)


def _read(tmp_path: Path, pdf: FPDF) -> str:
    (tmp_path / "doc.pdf").write_bytes(bytes(pdf.output()))
    return read_document(tmp_path, tmp_path / "doc.pdf").text


def _page() -> FPDF:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    return pdf


def _lines(pdf: FPDF, height: float, text: str, width: float = 0) -> None:
    """`text` wrapped in a block of `width` (the page's), the next one below at the margin."""
    pdf.multi_cell(width, height, text, new_x="LMARGIN", new_y="NEXT")


def test_wrapped_lines_are_one_paragraph_and_a_gap_starts_another(tmp_path: Path) -> None:
    # one line per printed line cut passages (and the reader's spans) at every line's end
    pdf = _page()
    _lines(pdf, 5, LONG)
    pdf.ln(6)
    _lines(pdf, 5, "Il compte 80 membres.")
    assert _read(tmp_path, pdf) == f"{LONG}\n\nIl compte 80 membres."


def test_a_larger_line_is_a_heading_and_bullets_are_items(tmp_path: Path) -> None:
    pdf = _page()
    pdf.set_font("Helvetica", "B", size=16)
    _lines(pdf, 8, "Les membres du pôle")
    pdf.set_font("Helvetica", size=11)
    _lines(pdf, 5, LONG)
    for item in ("entreprises : 60", "laboratoires : 20"):  # « • »: the core font's 0x95
        _lines(pdf, 5, f"\u2022 {item}".encode("cp1252").decode("latin-1"))
    text = _read(tmp_path, pdf)
    assert text == f"## Les membres du pôle\n\n{LONG}\n- entreprises : 60\n- laboratoires : 20"


def test_a_ruled_table_is_rows_with_its_column_names(tmp_path: Path) -> None:
    # its cells ran together as one line of words: « juin 2013 350 » read as one number
    pdf = _page()
    with pdf.table() as table:  # fpdf2 sets the first row in bold
        for row in (("Date", "Membres"), ("juin 2013", "350"), ("2014", "360")):
            cells = table.row()
            for cell in row:
                cells.cell(cell)
    _lines(pdf, 5, "Fin.")
    assert _read(tmp_path, pdf) == (
        "| Date | Membres |\n|---|---|\n| juin 2013 | 350 |\n| 2014 | 360 |\n\nFin."
    )


def test_a_page_in_two_columns_is_read_column_after_column(tmp_path: Path) -> None:
    pdf = _page()
    top = pdf.get_y()
    pdf.multi_cell(85, 5, "Colonne de gauche : le pôle Castor compte 80 membres en 2020.")
    pdf.set_xy(110, top)
    pdf.multi_cell(85, 5, "Colonne de droite : le pôle Hermine compte 200 membres en 2021.")
    text = _read(tmp_path, pdf)
    left, right = text.split("\n\n")
    assert " ".join(left.split()) == "Colonne de gauche : le pôle Castor compte 80 membres en 2020."
    assert " ".join(right.split()).startswith("Colonne de droite : le pôle Hermine")


def test_a_pdf_with_a_password_is_skipped_with_that_reason(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(["Le pôle Castor."])))
    writer.encrypt(user_password="secret", owner_password="secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "secret.pdf").write_bytes(out.getvalue())
    with pytest.raises(IngestError, match=r"^the PDF is password-protected$"):
        read_document(tmp_path, tmp_path / "secret.pdf")
