"""Test documents: French text that breaks naive decoders, PDFs and DOCXs built in memory."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import docx
import pypdf
from docx.oxml import parse_xml
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


def encrypted_pdf(text: str, user_password: str, owner_password: str) -> bytes:
    """A one-page PDF of `text`, AES-encrypted (an empty user password opens it)."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf([text])))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


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


# The namespaces of the raw WordprocessingML below (markup compatibility, DrawingML, VML).
_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)
_REV = 'w:author="A" w:date="2020-01-01T00:00:00Z"'


def _r(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def _fld(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def make_word_docx(path: Path) -> None:
    """A DOCX as Word writes them: tracked changes, fields, content controls, a text box
    (drawn twice: DrawingML and its VML fallback) and a table inside a table's cell."""
    d = docx.Document()
    d.add_paragraph("Début.")
    box = f"<w:txbxContent><w:p>{_r('Texte de la zone.')}</w:p></w:txbxContent>"
    raw = [
        _r("Le pôle compte ")
        + f'<w:del w:id="1" {_REV}><w:r><w:delText>300</w:delText></w:r></w:del>'
        + f'<w:ins w:id="2" {_REV}>{_r("400")}</w:ins>'
        + _r(" membres."),
        _r("Page ")
        + _fld("begin")
        + '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
        + _fld("separate")
        + _r("7")
        + _fld("end")
        + _r(", voir ")
        + '<w:fldSimple w:instr=" HYPERLINK &quot;https://a.fr&quot; ">'
        + f"{_r('le site')}</w:fldSimple>"
        + _r("."),
        _r("Nom : ") + f"<w:sdt><w:sdtPr/><w:sdtContent>{_r('Axelera')}</w:sdtContent></w:sdt>",
        _r("Avant la zone.")
        + '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
        + "<a:graphic><a:graphicData><wps:wsp><wps:txbx>"
        + box
        + "</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
        + f"<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict>"
        + "</mc:Fallback></mc:AlternateContent></w:r>",
    ]
    end = d.element.body.sectPr
    for inner in raw:
        end.addprevious(parse_xml(f"<w:p {_NS}>{inner}</w:p>"))
    control = f"<w:sdtContent><w:p>{_r('Bloc du contrôle.')}</w:p></w:sdtContent>"
    end.addprevious(parse_xml(f"<w:sdt {_NS}><w:sdtPr/>{control}</w:sdt>"))
    prompt = f"<w:sdtContent><w:p>{_r('Cliquez ici pour entrer du texte.')}</w:p></w:sdtContent>"
    empty = "<w:sdtPr><w:showingPlcHdr/></w:sdtPr>"  # an empty control: it shows its prompt
    end.addprevious(parse_xml(f"<w:sdt {_NS}>{empty}{prompt}</w:sdt>"))
    table = d.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Pôle"
    inner_table = table.cell(0, 1).add_table(rows=2, cols=2)
    for row, values in zip(inner_table.rows, [("CIMES", "400"), ("Axelera", "300")], strict=True):
        row.cells[0].text, row.cells[1].text = values
    d.add_paragraph("Fin.")
    d.save(str(path))


def reasons(scan: CorpusScan) -> dict[str, str]:
    return {s.source: s.reason for s in scan.skipped}


def add_footnote(path: Path, text: str) -> None:
    """A footnote holding `text` added to the .docx at `path` (python-docx writes none): its
    part, its relationship and its content type, as Word writes them."""
    import zipfile

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    notes = (
        f'<w:footnotes xmlns:w="{w}">'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        f'<w:footnote w:id="1"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:footnote>'
        "</w:footnotes>"
    )
    rel = (
        '<Relationship Id="rIdNote" Target="footnotes.xml" Type="http://schemas.openxmlformats'
        '.org/officeDocument/2006/relationships/footnotes"/>'
    )
    override = (
        '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.footnotes+xml"/>'
    )
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    rels = "word/_rels/document.xml.rels"
    files[rels] = files[rels].replace(b"</Relationships>", rel.encode() + b"</Relationships>")
    types = "[Content_Types].xml"
    files[types] = files[types].replace(b"</Types>", override.encode() + b"</Types>")
    files["word/footnotes.xml"] = notes.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
