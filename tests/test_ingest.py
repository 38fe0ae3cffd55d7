"""Ingestion: every format, encodings, metadata (md headers, sidecars), bad files skipped."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from poleqa.errors import CorpusError, IngestError, PoleqaError
from poleqa.ingest import (
    CorpusScan,
    file_fingerprint,
    iter_corpus_files,
    load_corpus,
    read_document,
)
from poleqa.types import PageSpan

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
DEV_CORPUS = REPO / "eval" / "dev" / "corpus"

# French text with everything that breaks naive decoders: accents, œ, typographic apostrophe,
# guillemets with non-breaking spaces, the euro sign.
FRENCH = (
    "Le pôle de compétitivité a reçu l’aide de l’État : « 5 M€ » pour l’année.\n"
    "Élève, garçon, à côté, où, être, cœur, Noël, maïs.\n"
)


# -- helpers ---------------------------------------------------------------------------------
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


# -- the shipped corpus ----------------------------------------------------------------------
SEEDS = {
    "2014-01-07_centre-poles-nouvelle-phase-2013-2018.txt": (
        "Pôles de compétitivité : nouvelle phase 2013-2018",
        "2014-01-07",
        "Services de l’État en région Centre (DIRECCTE Centre)",
    ),
    "2022_cimes-poles-de-competitivite-en-france.txt": (
        "Les pôles de compétitivité en France",
        "2022",
        "Pôle de compétitivité CIMES",
    ),
    "2023-03-30_auvergne-rhone-alpes-poles-labellises.txt": (
        "L’ensemble des pôles de compétitivité de la Région labellisés par l’État",
        "2023-03-30",
        "Région Auvergne-Rhône-Alpes",
    ),
    "2025_polymeris-20-ans-des-poles.txt": (
        "Les pôles de compétitivité fêtent leur 20 ans !",
        "2025",
        "Pôle de compétitivité Polymeris",
    ),
    "dge_les-poles-de-competitivite.txt": (
        "Les pôles de compétitivité",
        None,
        "Direction générale des Entreprises (DGE)",
    ),
}


def test_seed_corpus_loads_with_sidecar_metadata() -> None:
    scan = load_corpus(CORPUS)
    assert scan.skipped == ()
    assert [d.source for d in scan.documents] == sorted(SEEDS)
    for doc in scan.documents:
        title, date, organisation = SEEDS[doc.source]
        assert (doc.info.title, doc.info.date, doc.info.organisation) == (title, date, organisation)
        assert doc.info.url is None
        assert doc.info.format == "txt"
        assert doc.info.content_hash == file_fingerprint(CORPUS, CORPUS / doc.source)
        # The text is the file's characters, untouched: typographic apostrophes, nbsp, guillemets.
        assert doc.text == (CORPUS / doc.source).read_bytes().decode("utf-8")
        assert doc.body_start == 0
        assert "’" in doc.text
    years = {d.source: d.info.year for d in scan.documents}
    assert years["2014-01-07_centre-poles-nouvelle-phase-2013-2018.txt"] == 2014
    assert years["dge_les-poles-de-competitivite.txt"] is None


def test_seed_sidecars_are_well_formed() -> None:
    for name in SEEDS:
        meta = json.loads((CORPUS / f"{name}.meta.json").read_text(encoding="utf-8"))
        assert {"title", "organisation", "date", "url"} <= set(meta)
        # An inferred or missing date is explained.
        if meta["date"] is None or len(meta["date"]) == 4:
            assert meta["date_note"]


def test_iter_corpus_files_filters_and_sorts(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in [
        "b.txt",
        "a.md",
        "README.md",
        "a.md.meta.json",
        ".secret.txt",
        ".hidden/x.txt",
        "sub/README.md",
        "sub/page.HTML",
        "sub/deeper/c.pdf",
        "d.docx",
        "~$d.docx",
        "table.xlsx",
        "notes",
    ]:
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_corpus_files(tmp_path)]
    assert found == [
        "a.md",
        "b.txt",
        "d.docx",
        "sub/README.md",
        "sub/deeper/c.pdf",
        "sub/page.HTML",
    ]


# -- text encodings --------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_txt_encodings_decode_to_the_same_text(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(FRENCH.encode(encoding))
    doc = read_document(tmp_path, path)
    assert doc.text == FRENCH  # BOM stripped, accents and typography intact
    assert doc.info.title == FRENCH.split("\n")[0]
    assert doc.info.source == "doc.txt"
    start = doc.text.index("cœur")
    assert doc.text[start : start + 4] == "cœur"


@pytest.mark.parametrize("encoding", ["iso8859-15", "mac_roman"])
def test_legacy_encodings_are_recognised(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "legacy.txt"
    text = "Le pôle a reçu 5 € de l'État. Cœur de métier, élève, être, déjà.\n" * 3
    path.write_bytes(text.encode(encoding))
    assert read_document(tmp_path, path).text == text


def test_cp850_text_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "dos.txt"
    text = "Le pôle a reçu l'aide de l'État à hauteur de 5 francs. Élève, être, déjà, où.\n"
    path.write_bytes(text.encode("cp850"))
    assert read_document(tmp_path, path).text == text


def test_utf8_with_stray_cp1252_bytes_has_no_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(
        "Le pôle de compétitivité a reçu l’aide. ".encode() * 3 + "Élève".encode("cp1252")
    )
    text = read_document(tmp_path, path).text
    assert text == "Le pôle de compétitivité a reçu l’aide. " * 3 + "Élève"


def test_short_cp1252_text_is_not_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_bytes("SOCIÉTÉ\u00a0: oui".encode("cp1252"))  # "É" + nbsp is valid UTF-8 too
    assert read_document(tmp_path, path).text == "SOCIÉTÉ\u00a0: oui"


def test_newlines_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"Titre\r\n\r\nLigne 1\rLigne 2\r\n")
    doc = read_document(tmp_path, path)
    assert doc.text == "Titre\n\nLigne 1\nLigne 2\n"


def test_undecodable_text_is_skipped_not_garbled(tmp_path: Path) -> None:
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(IngestError, match="could not determine the text encoding"):
        read_document(tmp_path, path)


# -- markdown --------------------------------------------------------------------------------
def test_md_dev_header_lines_give_metadata_and_body_start(tmp_path: Path) -> None:
    shutil.copy(DEV_CORPUS / "d01_medicen-fiche.md", tmp_path / "d01.md")
    raw = (tmp_path / "d01.md").read_text(encoding="utf-8")
    doc = read_document(tmp_path, tmp_path / "d01.md")
    assert doc.text == raw
    assert doc.info.title == "Medicen Paris Region : fiche du pôle santé d'Île-de-France"
    assert doc.info.url == (
        "https://reseau-healthtech.fr/En-dix-ans-le-pole-de-competitivite-Medicen-est-devenu-"
        "un-acteur-majeur-des.html"
    )
    assert doc.info.date == "2016-10-05"
    assert doc.info.format == "md"
    assert doc.text[doc.body_start :].startswith("Medicen Paris Region est le pôle")
    assert "Source:" not in doc.text[doc.body_start :]


def test_md_header_with_bom_crlf_and_publisher_source(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    text = "# Le titre\r\nSource: Région Centre\r\nDate : 7 janvier 2014\r\n\r\nLe corps.\r\n"
    path.write_bytes(text.encode("utf-8-sig"))
    doc = read_document(tmp_path, path)
    assert doc.text == text.replace("\r\n", "\n")
    info = doc.info
    assert (info.title, info.url, info.organisation, info.date) == (
        "Le titre",
        None,
        "Région Centre",
        "2014-01-07",
    )
    assert doc.text[doc.body_start :] == "Le corps.\n"


def test_all_dev_docs_have_header_metadata() -> None:
    scan = load_corpus(DEV_CORPUS)
    assert scan.skipped == ()
    assert len(scan.documents) == 32
    for doc in scan.documents:
        header = doc.text[: doc.body_start]
        assert header.startswith(f"# {doc.info.title}\nSource: {doc.info.url}")
        assert f"Date: {doc.info.date}\n" in header
        assert not doc.text[doc.body_start].isspace()


def test_generic_md_title_from_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "Intro sans titre.\n\n## Partie\n\n# Le vrai titre\n\nTexte.\n", encoding="utf-8"
    )
    doc = read_document(tmp_path, path)
    assert (doc.info.title, doc.body_start, doc.info.url, doc.info.date) == (
        "Le vrai titre",
        0,
        None,
        None,
    )


def test_sidecar_overrides_and_completes_file_metadata(tmp_path: Path) -> None:
    shutil.copy(DEV_CORPUS / "d01_medicen-fiche.md", tmp_path / "d01.md")
    (tmp_path / "d01.md.meta.json").write_text(
        json.dumps({"organisation": "Medicen", "date": "30/03/2023", "title": None}),
        encoding="utf-8",
    )
    doc = read_document(tmp_path, tmp_path / "d01.md")
    assert doc.info.organisation == "Medicen"
    assert doc.info.date == "2023-03-30"  # sidecar wins, normalised to ISO
    assert doc.info.title.startswith("Medicen Paris Region : fiche")  # null keeps the file's


def test_fingerprint_follows_file_and_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Un texte.", encoding="utf-8")
    first = file_fingerprint(tmp_path, path)
    assert first == file_fingerprint(tmp_path, Path("a.txt"))  # relative paths accepted
    assert len(first) == 64
    (tmp_path / "a.txt.meta.json").write_text('{"title": "T"}', encoding="utf-8")
    second = file_fingerprint(tmp_path, path)
    path.write_text("Un autre texte.", encoding="utf-8")
    third = file_fingerprint(tmp_path, path)
    assert len({first, second, third}) == 3
    assert read_document(tmp_path, path).info.content_hash == third


# -- html, pdf, docx -------------------------------------------------------------------------
HTML = """<!DOCTYPE html><html lang="fr"><head><meta charset="windows-1252">
<title>Les pôles | DGE</title>
<meta property="article:published_time" content="2023-03-30T09:00:00+02:00">
<meta property="og:site_name" content="Direction générale des Entreprises">
<link rel="canonical" href="https://example.fr/poles">
<style>p { color: red }</style><script>var secret = "ne pas indexer";</script></head>
<body><nav><a href="/">Accueil</a> &gt; Actualités</nav><!-- commentaire -->
<h1>Les pôles   de compétitivité</h1>
<p>Le pôle a reçu l’aide de l’État&nbsp;: <b>5 M€</b>.
   Suite de la phrase.</p>
<ul><li>Axelera</li><li>CIMES</li></ul>
<table><tr><th>Pôle</th><th>Adhérents</th></tr><tr><td>CIMES</td><td>400</td></tr></table>
<p>Ligne 1<br>Ligne 2</p><noscript>Activez JavaScript</noscript></body></html>"""


def test_html_visible_text_lines_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(HTML.encode("cp1252"))
    doc = read_document(tmp_path, path)
    assert doc.text == (
        "Les pôles de compétitivité\n\n"
        "Le pôle a reçu l’aide de l’État\u00a0: 5 M€. Suite de la phrase.\n\n"
        "Axelera\nCIMES\n\n"
        "Pôle | Adhérents\nCIMES | 400\n\n"
        "Ligne 1\nLigne 2"
    )
    info = doc.info
    assert (info.title, info.date, info.url, info.format) == (
        "Les pôles | DGE",
        "2023-03-30",
        "https://example.fr/poles",
        "html",
    )
    assert info.organisation == "Direction générale des Entreprises"


def test_html_title_from_h1_and_date_from_time(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text(
        "<html><body><h1>Titre du pôle</h1><p>Publié le <time datetime='2019-06-01'>1er juin"
        "</time>.</p></body></html>",
        encoding="utf-8",
    )
    doc = read_document(tmp_path, path)
    assert (doc.info.title, doc.info.date) == ("Titre du pôle", "2019-06-01")
    assert doc.text == "Titre du pôle\n\nPublié le 1er juin."


def test_html_declared_legacy_charset(tmp_path: Path) -> None:
    path = tmp_path / "latin9.html"
    html = '<html><head><meta charset="iso-8859-15"></head><body><p>Le cœur du pôle : 5 €.</p>'
    path.write_bytes(
        (html + "<div hidden>caché</div><div role='navigation'>Menu</div>").encode("iso8859-15")
    )
    assert read_document(tmp_path, path).text == "Le cœur du pôle : 5 €."


def test_pdf_pages_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "rapport.pdf"
    page1 = "Première page : le pôle de compétitivité a reçu l'aide de l'État."
    page2 = "Deuxième page : élève, garçon, à côté, être."
    path.write_bytes(make_pdf([page1, page2], title="Rapport des pôles"))
    doc = read_document(tmp_path, path)
    assert doc.text == f"{page1}\n\n{page2}"
    assert doc.pages == (
        PageSpan(page=1, start=0, end=len(page1)),
        PageSpan(page=2, start=len(page1) + 2, end=len(page1) + 2 + len(page2)),
    )
    assert doc.page_at(doc.text.index("garçon")) == 2
    assert doc.page_at(0) == 1
    assert (doc.info.title, doc.info.date, doc.info.format) == (
        "Rapport des pôles",
        "2021-05-04",
        "pdf",
    )


def test_docx_paragraphs_lists_tables_and_properties(tmp_path: Path) -> None:
    path = tmp_path / "note.docx"
    make_docx(path)
    doc = read_document(tmp_path, path)
    assert doc.text == (
        "Les pôles en région\n\n"
        "Le pôle a reçu l’aide de l’État\u00a0: 5 M€.\n\n"
        "Axelera\nTenerrdis\n\n"
        "Pôle | Adhérents\nCIMES | 400\n\n"
        "Fin du document."
    )
    assert (doc.info.title, doc.info.date, doc.info.format) == (
        "Note sur les pôles",
        "2020-02-03",
        "docx",
    )


def test_docx_without_properties_uses_first_line_and_no_template_date(tmp_path: Path) -> None:
    path = tmp_path / "plain.docx"
    d = docx.Document()
    d.add_paragraph("Un titre implicite")
    d.add_paragraph("Et du texte.")
    d.save(str(path))
    doc = read_document(tmp_path, path)
    # python-docx's template is dated 2013: that date says nothing about this text.
    assert (doc.info.title, doc.info.date) == ("Un titre implicite", None)


# -- bad files -------------------------------------------------------------------------------
def test_bad_files_are_skipped_with_reasons_and_the_rest_loads(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(FRENCH, encoding="utf-8")
    make_docx(tmp_path / "good.docx")
    (tmp_path / "good.pdf").write_bytes(make_pdf(["Un texte de pôle."]))
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text(" \n\t\n", encoding="utf-8")
    (tmp_path / "header-only.md").write_text(
        "# Titre\nSource: https://example.fr\nDate: 2020-01-01\n\n", encoding="utf-8"
    )
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    (tmp_path / "truncated.pdf").write_bytes(make_pdf(["Texte tronqué."])[:300])
    (tmp_path / "fake.pdf").write_bytes(b"Ceci n'est pas un PDF.")
    scanned = FPDF()
    scanned.add_page()
    scanned.rect(10, 10, 50, 50)
    (tmp_path / "scanned.pdf").write_bytes(bytes(scanned.output()))
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "fake.docx").write_bytes(b"just text")
    (tmp_path / "empty.html").write_text("<html><script>x()</script></html>", encoding="utf-8")
    (tmp_path / "badmeta.txt").write_text("Texte correct.", encoding="utf-8")
    (tmp_path / "badmeta.txt.meta.json").write_text("{title: oops", encoding="utf-8")
    (tmp_path / "baddate.txt").write_text("Texte correct.", encoding="utf-8")
    (tmp_path / "baddate.txt.meta.json").write_text('{"date": "hier"}', encoding="utf-8")
    (tmp_path / "list.txt").write_text("Texte correct.", encoding="utf-8")
    (tmp_path / "list.txt.meta.json").write_text('["not", "an", "object"]', encoding="utf-8")
    (tmp_path / "orphan.txt.meta.json").write_text("{}", encoding="utf-8")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")

    scan = load_corpus(tmp_path)

    assert [d.source for d in scan.documents] == ["good.docx", "good.pdf", "good.txt"]
    assert scan.documents[2].text == FRENCH
    got = reasons(scan)
    expected = {
        "image.txt": "binary file (it holds NUL bytes), not text",
        "empty.txt": "the file is empty",
        "blank.md": "the file holds only whitespace",
        "header-only.md": "the file holds header lines but no text",
        "broken.pdf": "corrupted PDF",
        "truncated.pdf": "corrupted PDF",
        "fake.pdf": "corrupted PDF (no PDF header)",
        "scanned.pdf": "the PDF has no extractable text (scanned images?)",
        "broken.docx": "corrupted DOCX",
        "fake.docx": "corrupted DOCX (not a ZIP package)",
        "empty.html": "no text could be extracted from the file",
        "badmeta.txt": "its metadata file badmeta.txt.meta.json is not valid JSON",
        "baddate.txt": "the date 'hier' is not a date",
        "list.txt": "its metadata file list.txt.meta.json must hold a JSON object",
        "orphan.txt.meta.json": "metadata file without its document",
        "dangling.txt": "cannot read the file",
        "sheet.xlsx": "unsupported file type '.xlsx'",
    }
    assert set(got) == set(expected)
    for source, reason in expected.items():
        assert reason in got[source], (source, got[source])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("secret", encoding="utf-8")
    path.chmod(0)
    try:
        scan = load_corpus(tmp_path)
    finally:
        path.chmod(0o644)
    assert reasons(scan) == {"locked.txt": "cannot read the file: permission denied"}


def test_permission_error_is_reported_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked.txt").write_text("secret", encoding="utf-8")
    (tmp_path / "open.txt").write_text("Texte lisible.", encoding="utf-8")
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    scan = load_corpus(tmp_path)
    assert [d.source for d in scan.documents] == ["open.txt"]
    assert reasons(scan) == {"locked.txt": "cannot read the file: permission denied"}


def test_read_document_refuses_unsupported_and_outside_files(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "data.csv").write_text("a,b", encoding="utf-8")
    (tmp_path / "elsewhere.txt").write_text("Ailleurs.", encoding="utf-8")
    with pytest.raises(IngestError, match=r"unsupported file type '\.csv'"):
        read_document(tmp_path / "corpus", tmp_path / "corpus" / "data.csv")
    with pytest.raises(IngestError, match="is not inside the corpus folder"):
        read_document(tmp_path / "corpus", tmp_path / "elsewhere.txt")


def test_ingest_error_speaks_both_languages(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(IngestError) as info:
        read_document(tmp_path, tmp_path / "empty.txt")
    assert isinstance(info.value, PoleqaError)
    assert info.value.message == "the file is empty"
    assert info.value.message_fr == "Ce fichier ne peut pas être lu."


def test_missing_or_non_folder_corpus_raises_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="corpus folder not found"):
        load_corpus(tmp_path / "absent")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(CorpusError, match="not a folder"):
        load_corpus(tmp_path / "file.txt")
    with pytest.raises(CorpusError, match="corpus folder not found"):
        iter_corpus_files(tmp_path / "absent")


def test_empty_folder_gives_an_empty_scan(tmp_path: Path) -> None:
    assert load_corpus(tmp_path) == CorpusScan(documents=(), skipped=())
