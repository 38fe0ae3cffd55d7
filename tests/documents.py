"""Test documents: French text that breaks naive decoders, a PDF and a DOCX built in memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import docx
from fpdf import FPDF

from poleqa.ingest import CorpusScan

# French text with everything that breaks naive decoders: accents, œ, typographic apostrophe,
# guillemets with non-breaking spaces, the euro sign.
FRENCH = (
    "Le pôle de compétitivité a reçu l’aide de l’État : « 5 M€ » pour l’année.\n"
    "Élève, garçon, à côté, où, être, cœur, Noël, maïs.\n"
)


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_creation_date(dt.datetime(2021, 5, 4, 12, 0))
    pdf.set_font("Helvetica", size=12)  # a core font: Latin-1 text only
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_docx(path: Path) -> None:
    d = docx.Document()
    d.core_properties.title = "Note sur les pôles"
    d.core_properties.created = dt.datetime(2020, 2, 3, 10, 0)
    d.add_heading("Les pôles en région", level=1)
    d.add_paragraph("Le pôle a reçu l’aide de l’État\u00a0: 5 M€.")
    d.add_paragraph("Axelera", style="List Bullet")
    d.add_paragraph("Tenerrdis", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Pôle", "Adhérents"
    table.cell(1, 0).text, table.cell(1, 1).text = "CIMES", "400"
    d.add_paragraph("Fin du document.")
    d.save(str(path))


def reasons(scan: CorpusScan) -> dict[str, str]:
    return {s.source: s.reason for s in scan.skipped}
