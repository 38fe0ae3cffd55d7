"""Ingestion of HTML, PDF and DOCX, and bad files skipped with their reasons."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import docx
import pytest
from documents import FRENCH, make_docx, make_pdf, make_word_docx, reasons
from fpdf import FPDF

from poleqa.errors import CorpusError, IngestError, PoleqaError
from poleqa.ingest import (
    CorpusScan,
    files,
    iter_corpus_files,
    list_corpus,
    load_corpus,
    read_document,
)
from poleqa.types import PageSpan

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
        "- Axelera\n- CIMES\n\n"  # items and rows as in Markdown: units for sentences.py
        "| Pôle | Adhérents |\n| --- | --- |\n| CIMES | 400 |\n\n"  # a header row: its rule
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
        "- Axelera\n- Tenerrdis\n\n"
        "| Pôle | Adhérents |\n| CIMES | 400 |\n\n"
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


def test_docx_reads_what_word_shows_once_in_reading_order(tmp_path: Path) -> None:
    make_word_docx(tmp_path / "word.docx")
    assert read_document(tmp_path, tmp_path / "word.docx").text == (
        "Début.\n\n"
        "Le pôle compte 400 membres.\n\n"  # the tracked deletion (300) left out
        "Page 7, voir le site.\n\n"  # the fields' results, not their codes
        "Nom : Axelera\n\n"  # a content control inside a paragraph
        "Avant la zone.\n\nTexte de la zone.\n\n"  # once, not again from the VML fallback
        "Bloc du contrôle.\n\n"  # a content control holding a paragraph; not an empty one's prompt
        "| Pôle | CIMES, 400 ; Axelera, 300 |\n\n"  # the table in the second cell, its cells « , »
        "Fin."
    )


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
    (tmp_path / "typo.txt").write_text(FRENCH, encoding="utf-8")
    (tmp_path / "typo.txt.meta.json").write_text('{"titre": "T", "date_note": "?"}', "utf-8")
    # fields for people (an author, tags, a note) are not read and cost nothing
    (tmp_path / "autres.txt").write_text(FRENCH, encoding="utf-8")
    (tmp_path / "autres.txt.meta.json").write_text(
        '{"title": "T", "author": "A", "tags": ["x"], "date_note": "?"}', "utf-8"
    )
    (tmp_path / "list.txt").write_text("Texte correct.", encoding="utf-8")
    # JSON that json.loads fails on with a RecursionError, or a ValueError of its own
    (tmp_path / "deep.txt").write_text("Texte correct.", encoding="utf-8")
    (tmp_path / "deep.txt.meta.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (tmp_path / "digits.txt").write_text("Texte correct.", encoding="utf-8")
    (tmp_path / "digits.txt.meta.json").write_text('{"n": 1' + "0" * 5000 + "}", encoding="utf-8")
    (tmp_path / "list.txt.meta.json").write_text('["not", "an", "object"]', encoding="utf-8")
    (tmp_path / "orphan.txt.meta.json").write_text("{}", encoding="utf-8")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "LISEZMOI").symlink_to("effacé")  # a link to nothing, without an extension
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")

    scan = load_corpus(tmp_path)

    assert [d.source for d in scan.documents] == ["autres.txt", "good.docx", "good.pdf", "good.txt"]
    assert scan.documents[3].text == FRENCH and scan.documents[0].info.title == "T"
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
        "typo.txt": "field 'titre' (title?): the fields are title, organisation, date, url",
        "deep.txt": "its metadata file deep.txt.meta.json is not valid JSON (JSON nested too deep",
        "digits.txt": "its metadata file digits.txt.meta.json is not valid JSON (Exceeds the limit",
        "orphan.txt.meta.json": "metadata file without its document",
        "dangling.txt": f"cannot read the file: a symbolic link to {tmp_path}/nowhere.txt, "
        "which does not exist",
        "LISEZMOI": "cannot read the file: a symbolic link to effacé, which does not exist",
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
    real_open = os.open

    def open_(path: str, flags: int, *args: int, **kwargs: object) -> int:
        if Path(path).name == "locked.txt":
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    scan = load_corpus(tmp_path)
    assert [d.source for d in scan.documents] == ["open.txt"]
    assert reasons(scan) == {"locked.txt": "cannot read the file: permission denied"}


def _load_within(root: Path, seconds: float = 20) -> CorpusScan:
    """load_corpus(root), failing the test rather than hanging on a file that blocks."""
    out: list[CorpusScan] = []
    worker = threading.Thread(target=lambda: out.append(load_corpus(root)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert out, "load_corpus is still reading"
    return out[0]


def test_pipes_devices_and_sockets_are_skipped_unread(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("Un document lisible.", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")  # reading it would wait for a writer, for ever
    (tmp_path / "null.md").symlink_to("/dev/null")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock.html"))
        scan = _load_within(tmp_path)
    assert [d.source for d in scan.documents] == ["ok.txt"]
    assert reasons(scan) == {
        "pipe.txt": "the file is a named pipe, not a regular file",
        "null.md": "the file is a device, not a regular file",
        "sock.html": "the file is a socket, not a regular file",
    }


def test_a_file_above_the_size_limit_is_skipped_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    (tmp_path / "small.txt").write_text("x" * 1000, encoding="utf-8")
    (tmp_path / "big.txt").write_text("x" * 1001, encoding="utf-8")
    (tmp_path / "meta.txt").write_text("Un document.", encoding="utf-8")
    (tmp_path / "meta.txt.meta.json").write_text("{}" + " " * 1000, encoding="utf-8")
    scan = load_corpus(tmp_path)
    assert [d.source for d in scan.documents] == ["small.txt"]
    assert reasons(scan) == {
        "big.txt": "the file holds 1,001 bytes, above the limit of 1,000 per file",
        "meta.txt": "its metadata file meta.txt.meta.json holds 1,002 bytes, above the limit "
        "of 1,000 per file",
    }


def test_linked_folders_are_walked_once(tmp_path: Path) -> None:
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    (corpus / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (corpus / "sub" / "a.txt").write_text("Dans le corpus.", encoding="utf-8")
    (elsewhere / "b.txt").write_text("Ailleurs, lié.", encoding="utf-8")
    (corpus / "linked").symlink_to(elsewhere)  # followed: its documents are the corpus's
    (corpus / "twice").symlink_to(elsewhere)  # the same folder again: not walked twice
    (corpus / "again").symlink_to(corpus / "sub")  # inside the corpus: walked as sub/
    (corpus / "sub" / "loop").symlink_to(corpus)  # a loop: not followed
    (elsewhere / "back").symlink_to(elsewhere)
    (corpus / "up").symlink_to("..")  # holds the corpus: its other folders were read
    found = [p.relative_to(corpus).as_posix() for p in iter_corpus_files(corpus)]
    assert found == ["linked/b.txt", "sub/a.txt"]
    assert [d.source for d in load_corpus(corpus).documents] == found
    (said,) = list_corpus(corpus).unreadable_folders
    assert (said.source, said.reason) == (
        "up/",
        "a link to a folder that holds the corpus folder: not read",
    )


def test_a_file_linked_under_another_name_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "rapport.txt").write_text("Le rapport du pôle.", encoding="utf-8")
    (tmp_path / "a-link.txt").symlink_to(tmp_path / "sub" / "rapport.txt")
    (tmp_path / "b-link.txt").symlink_to("sub/rapport.txt")
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere.txt"
    elsewhere.write_text("Un texte hors du corpus.", encoding="utf-8")
    (tmp_path / "outside-1.txt").symlink_to(elsewhere)  # only links: read under the first
    (tmp_path / "outside-2.txt").symlink_to(elsewhere)
    expected = ["outside-1.txt", "sub/rapport.txt"]
    assert [p.relative_to(tmp_path).as_posix() for p in iter_corpus_files(tmp_path)] == expected
    scan = load_corpus(tmp_path)
    assert ([d.source for d in scan.documents], scan.skipped) == (expected, ())


def test_sidecars_that_no_document_reads_are_reported(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (tmp_path / name).write_text("Un texte.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "table.xlsx").write_bytes(b"PK")
    for name in ("a.txt", "b", "C.TXT", "d.txt.META.JSON", "e.txt", "sub", "table.xlsx"):
        meta = name if name.endswith("JSON") else f"{name}.meta.json"
        (tmp_path / meta).write_text('{"title": "Titre"}', encoding="utf-8")
    scan = load_corpus(tmp_path)
    # Only a.txt's is read: the others are named so that no document finds its own.
    assert [d.info.title for d in scan.documents] == ["Titre"] + ["Un texte."] * 3
    assert reasons(scan) == {
        "b.meta.json": "metadata file not read: name it b.txt.meta.json, after its document",
        "C.TXT.meta.json": "metadata file not read: name it c.txt.meta.json, after its document",
        "d.txt.META.JSON": "metadata file not read: name it d.txt.meta.json, after its document",
        "e.txt.meta.json": "metadata file without its document (expected next to it: e.txt)",
        "sub.meta.json": "metadata file not used: sub is not read as a document",
        "table.xlsx": "unsupported file type '.xlsx' (.docx, .htm, .html, .markdown, .md, "
        ".pdf, .text, .txt, .xhtml)",
        "table.xlsx.meta.json": "metadata file not used: table.xlsx is not read as a document",
    }


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
    assert info.value.message_fr == "fichier vide"  # for the staff, beside the file's name


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
