"""What each format's structure becomes in the text: HTML and DOCX tables and lists written as
in Markdown (units for the sentence splitter, rows with their column names when the table has
a header row), DOCX footnotes, PDF typesetting undone (running headers and footers too), PDF
dates and encryption."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pypdf
import pytest
from documents import add_footnote, encrypted_pdf, make_docx, make_pdf
from docx.oxml.ns import nsdecls
from fpdf import FPDF

from poleqa.ingest import read_document
from poleqa.sentences import split_sentences, unit_text


def test_html_lists_are_numbered_as_shown_and_each_item_and_row_is_a_sentence(
    tmp_path: Path,
) -> None:
    # A list or a table read as one wrapped paragraph was one « sentence »: the chat showed a
    # whole table as the answer to a question about one of its rows.
    path = tmp_path / "liste.html"
    path.write_text(
        "<ol><li>la recherche</li><li><p>la formation</p></li></ol>"
        "<table><tr><th>Année</th><th>Projets</th><th>Budget</th></tr>"
        "<tr><td>2019</td><td>41</td><td>3 M€</td></tr>"
        "<tr><td>2020</td><td>57</td><td>4 M€</td></tr><tr><td> </td></tr></table>",
        encoding="utf-8",
    )
    doc = read_document(tmp_path, path)
    assert doc.text == (
        "1. la recherche\n2. la formation\n\n"
        "| Année | Projets | Budget |\n| --- | --- | --- |\n| 2019 | 41 | 3 M€ |\n"
        "| 2020 | 57 | 4 M€ |"
    )
    units = [doc.text[s:e] for s, e in split_sentences(doc.text)]
    assert units == [
        "1. la recherche",
        "2. la formation",
        "| Année | Projets | Budget |",
        "| 2019 | 41 | 3 M€ |",
        "| 2020 | 57 | 4 M€ |",
    ]
    assert (
        unit_text(doc.text, doc.text.index("| 2020"), len(doc.text))
        == "2020 ; Projets : 57 ; Budget : 4 M€"
    )


def test_pdf_words_cut_at_a_line_end_are_joined_and_justified_spaces_collapsed(
    tmp_path: Path,
) -> None:
    # « compéti-\ntivité » was two words for BM25, « 31  projets » shown as typeset; a word
    # is joined when the document writes it whole elsewhere, a compound keeps its hyphen
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    lines = [
        "Le pôle de compéti-",
        "tivité suit 31  projets en",
        "Auvergne-",
        "Rhône-Alpes, en sous-",
        "traitance, pour la compétitivité.",
    ]
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    (tmp_path / "coupé.pdf").write_bytes(bytes(pdf.output()))
    assert read_document(tmp_path, tmp_path / "coupé.pdf").text == (
        "Le pôle de compétitivité suit 31 projets en\n"  # a line ended short: kept
        "Auvergne-Rhône-Alpes, en sous-traitance, pour la compétitivité."
    )


def test_pdf_running_headers_footers_and_page_numbers_are_dropped(tmp_path: Path) -> None:
    # indexed once per page, they cut the sentences that run over a page break; the header
    # stays on the first page (where it titles the document), numbers that do not move with
    # the page (a table's last rows) stay
    members = [80, 112, 95, 40, 77]
    pages = [
        f"Pôle Castor - Rapport d'activité 2023\nLe pôle compte {m} membres.\n"
        f"Budget {600 + m}\n2013 {m}\nPage {n + 3} / 9"
        for n, m in enumerate(members)
    ]
    (tmp_path / "rapport.pdf").write_bytes(make_pdf(pages))
    doc = read_document(tmp_path, tmp_path / "rapport.pdf")
    assert doc.info.title == "Pôle Castor - Rapport d'activité 2023"
    assert doc.text.count("Rapport d'activité") == 1 and "Page" not in doc.text
    body = [f"Le pôle compte {m} membres.\nBudget {600 + m}\n2013 {m}" for m in members]
    body[0] = "Pôle Castor - Rapport d'activité 2023\n" + body[0]
    assert doc.text == "\n\n".join(body)
    assert [doc.text[p.start : p.end] for p in doc.pages] == body  # page spans follow the text
    # bare page numbers, from 3 on the first page
    bare = [page.replace(f"Page {n + 3} / 9", f"{n + 3}") for n, page in enumerate(pages)]
    (tmp_path / "rapport.pdf").write_bytes(make_pdf(bare))
    assert read_document(tmp_path, tmp_path / "rapport.pdf").text == "\n\n".join(body)


def test_short_pdfs_and_lines_on_few_pages_keep_every_line(tmp_path: Path) -> None:
    # on two pages only lines numbered with the page are the layout's
    two = ["Rapport 2023\nUn.\nPage 1 / 2", "Rapport 2023\nDeux.\nPage 2 / 2"]
    (tmp_path / "court.pdf").write_bytes(make_pdf(two))
    assert read_document(tmp_path, tmp_path / "court.pdf").text == (
        "Rapport 2023\nUn.\n\nRapport 2023\nDeux."
    )
    # a line at the top of two pages of six is not the layout's
    names = ["Introduction", "Annexe", "Méthode", "Résultats", "Annexe", "Conclusion"]
    six = [f"{name}\nTexte {2 * n}." for n, name in enumerate(names)]
    (tmp_path / "long.pdf").write_bytes(make_pdf(six))
    assert read_document(tmp_path, tmp_path / "long.pdf").text == "\n\n".join(six)


@pytest.mark.parametrize(
    "heads",
    [
        [f"{2015 + n}" for n in range(5)],  # a year a page: not page numbers
        [f"Article {n + 1}" for n in range(5)],  # numbered with the page, but not page numbers
        [f"Étape {n + 1} du projet" for n in range(5)],
    ],
)
def test_pdf_headings_numbered_like_the_pages_stay(tmp_path: Path, heads: list[str]) -> None:
    bodies = [f"Le pôle a financé {10 * n + 7} projets.\nSuite.\nFin du point." for n in range(5)]
    pages = [f"{h}\n{b}" for h, b in zip(heads, bodies, strict=True)]
    (tmp_path / "numéroté.pdf").write_bytes(make_pdf(pages))
    text = read_document(tmp_path, tmp_path / "numéroté.pdf").text
    assert all(h in text.split("\n") for h in heads), text


def test_repeated_lines_of_short_or_identical_pages_stay_once(tmp_path: Path) -> None:
    # three slides under one heading: it stays once, as their title; three identical pages (a
    # form printed thrice): their text stays once, never « no extractable text »
    lines = ("80 membres.", "5 millions.", "Lyon.")
    (tmp_path / "slides.pdf").write_bytes(make_pdf([f"Pôle Castor : bilan\n{x}" for x in lines]))
    doc = read_document(tmp_path, tmp_path / "slides.pdf")
    assert (doc.info.title, doc.text.count("Pôle Castor : bilan")) == ("Pôle Castor : bilan", 1)
    assert all(x in doc.text for x in lines)
    form = "Convocation\nLe 3 mars 2021 à 14 h.\nSalle Rhône.\nOrdre du jour.\nFait à Lyon."
    (tmp_path / "form.pdf").write_bytes(make_pdf([form] * 3))
    text = read_document(tmp_path, tmp_path / "form.pdf").text
    assert text.startswith("Convocation\nLe 3 mars 2021 à 14 h.\nSalle Rhône.")
    assert text.count("Fait à Lyon.") == 1 and text.endswith("Ordre du jour.\nFait à Lyon.")


def test_pdf_creation_date_is_read_strictly(tmp_path: Path) -> None:
    # pypdf's lenient reading made « D:20231399 » (no 13th month) the 3rd of January 2023
    for raw, expected in [
        ("D:20231399", None),
        ("D:20230330120000+01'00'", "2023-03-30"),
        ("D:202303", "2023-03"),
        ("aucune date", None),
    ]:
        writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(["Un texte de pôle."])))
        writer.add_metadata({"/CreationDate": raw})
        out = io.BytesIO()
        writer.write(out)
        (tmp_path / "daté.pdf").write_bytes(out.getvalue())
        assert read_document(tmp_path, tmp_path / "daté.pdf").info.date == expected, raw


def test_an_aes_encrypted_pdf_that_opens_without_password_is_read(tmp_path: Path) -> None:
    # Acrobat's « restricted » PDFs (an owner password only) use AES: skipped as « corrupted »
    # while pypdf lacked its cryptography dependency
    raw = encrypted_pdf("Le pôle Castor compte 80 membres.", "", "propriétaire")
    (tmp_path / "restreint.pdf").write_bytes(raw)
    doc = read_document(tmp_path, tmp_path / "restreint.pdf")
    assert doc.text == "Le pôle Castor compte 80 membres."


def test_docx_footnotes_are_read_after_the_body(tmp_path: Path) -> None:
    # « Source : arrêté du 12 juillet 2005… » in a footnote was never indexed
    path = tmp_path / "note.docx"
    make_docx(path)
    add_footnote(path, "Source : arrêté du 12 juillet 2005, 77 000 euros.")
    doc = read_document(tmp_path, path)
    assert doc.text.endswith(
        "Fin du document.\n\nSource : arrêté du 12 juillet 2005, 77 000 euros."
    )


def test_docx_title_naming_the_software_is_not_the_title(tmp_path: Path) -> None:
    path = tmp_path / "rapport.docx"
    d = docx.Document()
    d.core_properties.title = "Microsoft Word - rapport_final.docx"
    d.add_paragraph("Rapport du pôle Castor")
    d.save(str(path))
    assert read_document(tmp_path, path).info.title == "Rapport du pôle Castor"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        # no header row: no rule line, so no row is read as column names
        (
            "<table><tr><td>Aerospace Valley</td><td>Occitanie</td><td>400</td></tr>"
            "<tr><td>Minalogic</td><td>Auvergne</td><td>300</td></tr></table>",
            "| Aerospace Valley | Occitanie | 400 |\n| Minalogic | Auvergne | 300 |",
        ),
        # a cell holding paragraphs is read as text, without stray borders
        (
            "<table><tr><td>Minalogic</td><td><p>Un.</p><p>Deux.</p></td><td>3</td></tr></table>",
            "Minalogic\n\nUn.\n\nDeux.\n\n3",
        ),
        # a head and a body are one table; a cell's own « | » is no border
        (
            "<table><thead><tr><td>Nom</td><td>Ville</td></tr></thead><tbody><tr><td>a | b</td>"
            "<td>Lyon</td></tr></tbody></table><p>Après.</p>",
            "| Nom | Ville |\n| --- | --- |\n| a / b | Lyon |\n\nAprès.",
        ),
        # an empty item's marker does not go to the next paragraph; numbering as shown
        ("<ul><li>a</li><li></li></ul><p>Suite.</p>", "- a\n\nSuite."),
        (
            "<ol start='5'><li>cinq</li><li>six</li><li value='9'>neuf</li><li>dix</li></ol>",
            "5. cinq\n6. six\n9. neuf\n10. dix",
        ),
    ],
)
def test_html_tables_and_lists_as_shown(tmp_path: Path, html: str, text: str) -> None:
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    doc = read_document(tmp_path, tmp_path / "page.html")
    assert doc.text == text
    rows = [(s, e) for s, e in split_sentences(doc.text) if doc.text[s:e].startswith("| M")]
    for row in rows:  # a table without a header row: its cells as they are
        assert unit_text(doc.text, *row) == "Minalogic ; Auvergne ; 300"


def test_docx_header_rows_typed_bullets_numbered_headings_and_broken_notes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "note.docx"
    d = docx.Document()
    heading = d.add_heading("Contexte", level=1)  # a numbered heading is no list item
    numbering = '<w:numPr {}><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
    heading._p.get_or_add_pPr().append(docx.oxml.parse_xml(numbering.format(nsdecls("w"))))
    d.add_paragraph("• déjà une puce", style="List Bullet")
    for marked in (True, False):  # Word's « repeat as header row », then a table without
        table = d.add_table(rows=2, cols=3)
        for i, value in enumerate(("Année", "Projets", "Budget", "2020", "57", "4 M€")):
            table.cell(i // 3, i % 3).text = value
        if marked:
            tr_pr = table.rows[0]._tr.get_or_add_trPr()
            tr_pr.append(docx.oxml.parse_xml(f"<w:tblHeader {nsdecls('w')}/>"))
    d.save(str(path))
    add_footnote(path, "Note <non fermée")  # a notes part that cannot be parsed
    text = read_document(tmp_path, path).text
    assert text == (
        "Contexte\n\n• déjà une puce\n\n"
        "| Année | Projets | Budget |\n| --- | --- | --- |\n| 2020 | 57 | 4 M€ |\n\n"
        "| Année | Projets | Budget |\n| 2020 | 57 | 4 M€ |"
    )
