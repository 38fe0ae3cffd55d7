"""A PDF read with its layout: wrapped lines rejoined, paragraphs, headings, bullets, ruled tables,
two columns, page breaks, odd pages and files (PDFs built with fpdf2 in the test)."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pypdf
import pytest
from documents import encrypted_pdf, make_pdf
from fpdf import FPDF
from pypdf.generic import NameObject, StreamObject

from poleqa.errors import IngestError
from poleqa.ingest import pdf as pdf_module
from poleqa.ingest import read_document
from poleqa.ingest.pdf_layout import Line, Page, Style, joins_next, page_text

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
    (tmp_path / "secret.pdf").write_bytes(encrypted_pdf("Le pôle Castor.", "secret", "secret"))
    with pytest.raises(IngestError, match=r"^the PDF is password-protected$"):
        read_document(tmp_path, tmp_path / "secret.pdf")


def test_pages_without_text_sideways_or_after_junk_bytes_are_read(tmp_path: Path) -> None:
    # a blank middle page failed the whole file; a page turned sideways came a letter a line
    raw = make_pdf(["Le pôle Castor compte 80 membres.", "", "Le pôle Hermine en compte 200."])
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(raw))
    writer.pages[2].rotate(90)
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "doc.pdf").write_bytes(b"From: archive\r\n" + out.getvalue())
    doc = read_document(tmp_path, tmp_path / "doc.pdf")
    assert doc.text == "Le pôle Castor compte 80 membres.\n\nLe pôle Hermine en compte 200."
    assert [p.page for p in doc.pages] == [1, 3]


def test_a_sentence_over_a_page_break_before_a_figure_is_joined_not_after_a_table(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.pdf").write_bytes(make_pdf(["Le pôle a financé", "120 projets en 2023."]))
    assert read_document(tmp_path, tmp_path / "a.pdf").text == (
        "Le pôle a financé 120 projets en 2023."
    )
    pdf = _page()
    with pdf.table(first_row_as_headings=False) as table:  # no bold row: no column names
        for row in (("Castor", "Grand Est"), ("Hermine", "Bretagne")):
            cells = table.row()
            for cell in row:
                cells.cell(cell)
    pdf.add_page()
    _lines(pdf, 5, "soit deux pôles.")
    assert _read(tmp_path, pdf) == (
        "| Castor | Grand Est |\n| Hermine | Bretagne |\n\nsoit deux pôles."
    )


def test_superscripts_stay_in_their_word_and_a_one_cell_frame_is_text(tmp_path: Path) -> None:
    pdf = _page()
    pdf.write(5, "Labellisé le 1")
    pdf.char_vpos = "SUP"
    pdf.write(5, "er")
    pdf.char_vpos = "LINE"
    pdf.write(5, " juillet 2005, au XXI")
    pdf.char_vpos = "SUP"
    pdf.write(5, "e")
    pdf.char_vpos = "LINE"
    pdf.write(5, " siècle.")
    pdf.ln(10)
    with pdf.table() as table:
        table.row().cell("Un encadré : le pôle compte 80 membres.")
    text = _read(tmp_path, pdf)
    assert text.startswith("Labellisé le 1er juillet 2005, au XXIe siècle.\n")
    assert text.endswith("\nUn encadré : le pôle compte 80 membres.")  # not a row « | … | »


def test_the_title_from_a_heading_has_no_markup_and_big_figures_are_no_headings(
    tmp_path: Path,
) -> None:
    pdf = _page()
    pdf.set_font("Helvetica", "B", size=16)
    _lines(pdf, 8, "Les membres du pôle")
    _lines(pdf, 8, "420")
    pdf.set_font("Helvetica", size=11)
    _lines(pdf, 5, "adhérents en 2023.")
    _lines(pdf, 5, LONG)
    (tmp_path / "doc.pdf").write_bytes(bytes(pdf.output()))
    doc = read_document(tmp_path, tmp_path / "doc.pdf")
    assert doc.info.title == "Les membres du pôle"
    assert doc.text.startswith("## Les membres du pôle\n\n420\n\nadhérents en 2023.")


def test_layout_units_bullets_numbers_and_cut_words() -> None:
    def line(text: str, top: float, x1: float = 500.0) -> Line:
        return Line(text, 50.0, x1, top, top + 10, size=10.0, first_word=20.0)

    page = Page(
        (
            line("\uf0b7 un accompagnement", 0),  # Word's Symbol bullet
            line("1) la recherche", 12),
            line("2) la formation continue des salariés de la filière, dans la com\u00ad", 24),
            line("munauté des entreprises.", 36, 300),
        ),
        (),
        500.0,
    )
    style = Style(body=10.0, leading=2.0, words=frozenset())
    assert page_text(page, style) == (
        "- un accompagnement\n1) la recherche\n"
        "2) la formation continue des salariés de la filière, dans la communauté des entreprises."
    )


def test_a_pdf_whose_fonts_name_no_letters_is_skipped() -> None:
    # counted over the document: a few unnamed bullets on one page do not refuse it
    with pytest.raises(IngestError, match="its text cannot be read"):
        pdf_module._known(["(cid:1)(cid:2)(cid:3) x", "(cid:4)(cid:5)"])
    pages = ["Le pôle compte 80 membres.", "(cid:7)(cid:7)(cid:7) Suite."]
    assert pdf_module._known(pages) == ["Le pôle compte 80 membres.", " Suite."]


def test_a_compression_bomb_page_is_left_unread(tmp_path: Path) -> None:
    # a few kilobytes inflating to gigabytes: pdfminer would hold them whole; only that page
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(["Le pôle Castor.", "Suite."])))
    page = writer.pages[1]
    stream = StreamObject()
    stream._data = zlib.compress(page.get_contents().get_data() + b" " * 100_000_000, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "bombe.pdf").write_bytes(out.getvalue())
    assert read_document(tmp_path, tmp_path / "bombe.pdf").text == "Le pôle Castor."
    del writer.pages[0]  # the bomb alone: nothing to read, and said so
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "bombe.pdf").write_bytes(out.getvalue())
    with pytest.raises(IngestError, match="inflates beyond what is read"):
        read_document(tmp_path, tmp_path / "bombe.pdf")


def test_a_page_break_joins_a_sentence_only() -> None:
    assert joins_next("Le pôle a financé", "120 projets en 2023.")
    assert joins_next("Le projet a été soutenu par", "le fonds unique.")
    # a heading, an item, a numbered item, a table row or a full stop ends there
    for end in ("## Bilan 2023", "- entreprises : 60", "1) la recherche", "| 2023 | 57 |", "Fin."):
        assert not joins_next(f"Texte.\n{end}", "120 projets en 2023."), end
    assert not joins_next("Le pôle a financé", "## Bilan")


def test_a_minus_sign_or_a_note_star_is_no_bullet() -> None:
    lines = (
        Line("-15 % pour les PME", 50.0, 150.0, 0.0, 10.0, size=10.0, first_word=20.0),
        Line("*Source : Insee", 50.0, 150.0, 12.0, 22.0, size=10.0, first_word=20.0),
    )
    text = page_text(Page(lines, (), 500.0), Style(body=10.0, leading=2.0, words=frozenset()))
    assert text == "-15 % pour les PME\n*Source : Insee"
