"""Ingestion's one cleaning pass: invisible characters, breaks, blank files, long titles."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from documents import reasons
from fpdf import FPDF
from support import PARAMS, FakeEmbedder, write_corpus

from poleqa import ingest
from poleqa.index import Index, build_index, index_status
from poleqa.ingest import load_corpus, read_document
from poleqa.ingest.base import Extracted
from poleqa.ingest.cleaning import clean_extracted
from poleqa.types import PageSpan

# Soft hyphen, zero-width space, non-joiner, joiner, word joiner, a BOM inside the text.
SPLIT = "Le com\u00adpte des mem\u200bbres\u200c du p\u2060ôle\u200d de l’\ufeffÉtat."
JOINED = "Le compte des membres du pôle de l’État."


def _write(path: Path, text: str) -> None:
    if path.suffix == ".docx":
        d = docx.Document()
        d.add_paragraph(text)
        d.save(str(path))
    elif path.suffix == ".html":
        path.write_text(f"<html><body><p>{text}</p></body></html>", encoding="utf-8")
    else:
        path.write_text(text + "\n", encoding="utf-8")


@pytest.mark.parametrize("name", ["doc.txt", "doc.md", "doc.html", "doc.docx"])
def test_invisible_characters_do_not_split_words(tmp_path: Path, name: str) -> None:
    _write(tmp_path / name, SPLIT)
    doc = read_document(tmp_path, tmp_path / name)
    assert doc.text.strip() == JOINED
    assert doc.info.title == JOINED


def test_html_entities_of_invisible_characters_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        "<html><head><title>Le com&shy;pte</title></head>"
        "<body><p>Le com&shy;pte des mem&#x200B;bres&#8204;.</p></body></html>",
        encoding="utf-8",
    )
    doc = read_document(tmp_path, tmp_path / "page.html")
    assert (doc.text, doc.info.title) == ("Le compte des membres.", "Le compte")


def test_md_header_and_body_start_follow_the_cleaned_text(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(
        "# Le p\u00adôle\u200b Vert\nDate: 2023-03-30\n\nLe com\u00adpte.\n", encoding="utf-8"
    )
    doc = read_document(tmp_path, path)
    assert doc.text == "# Le pôle Vert\nDate: 2023-03-30\n\nLe compte.\n"
    assert doc.text[doc.body_start :] == "Le compte.\n"
    assert (doc.info.title, doc.info.date) == ("Le pôle Vert", "2023-03-30")


def test_page_spans_follow_the_cleaned_text() -> None:
    # characters dropped before a page's start move it (PDF text with soft hyphens)
    text = "Le com\u00adpte des mem\u00adbres.\n\nDeuxième page du com\u00adpte."
    second = text.index("Deuxième")
    pages = (PageSpan(1, 0, second - 2), PageSpan(2, second, len(text)))
    doc = clean_extracted(Extracted(text=text, title=None, pages=pages))
    assert doc.text == "Le compte des membres.\n\nDeuxième page du compte."
    assert [doc.text[p.start : p.end] for p in doc.pages] == [
        "Le compte des membres.",
        "Deuxième page du compte.",
    ]


def test_pdf_page_spans_follow_a_sentence_run_on_to_the_next_page(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in ("Le pôle compte des membres", "dans toute la région. Fin."):
        pdf.add_page()
        pdf.cell(text=text)
    (tmp_path / "r.pdf").write_bytes(bytes(pdf.output()))
    doc = read_document(tmp_path, tmp_path / "r.pdf")
    assert doc.text == "Le pôle compte des membres dans toute la région. Fin."  # one sentence
    assert [doc.text[p.start : p.end] for p in doc.pages] == [
        "Le pôle compte des membres",
        "dans toute la région. Fin.",
    ]


def test_vertical_tabs_and_form_feeds_become_newlines(tmp_path: Path) -> None:
    # Word's exported line breaks (many: not a sign of a binary file) and a PDF's page break.
    text = "Titre\x0bsous-titre\n" + "ligne\x0b" * 20 + "\x0cPage deux.\n"
    (tmp_path / "export.txt").write_text(text, encoding="utf-8")
    (tmp_path / "export.md").write_text(text, encoding="utf-8")
    for name in ("export.txt", "export.md"):
        doc = read_document(tmp_path, tmp_path / name)
        assert doc.text == text.replace("\x0b", "\n").replace("\x0c", "\n")
        assert doc.info.title == "Titre"


def test_files_of_only_whitespace_and_invisible_characters_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "invisible.txt").write_text("\u200b\u00ad \ufeff\n\u2060\n", encoding="utf-8")
    (tmp_path / "nbsp.md").write_text("\u00a0\u00a0\n\u200b", encoding="utf-8")
    (tmp_path / "spaces16.txt").write_bytes(" \n \t".encode("utf-16"))
    (tmp_path / "blank.md").write_text(" \n\t\n", encoding="utf-8")
    (tmp_path / "invisible.html").write_text("<p>&shy;&#x200B;</p>", encoding="utf-8")
    (tmp_path / "ok.txt").write_text("Un\u00ad texte.", encoding="utf-8")
    scan = load_corpus(tmp_path)
    assert [d.source for d in scan.documents] == ["ok.txt"]
    assert reasons(scan) == {
        "blank.md": "the file holds only whitespace",
        "invisible.txt": "the file holds only whitespace",
        "nbsp.md": "the file holds only whitespace",
        "spaces16.txt": "the file holds only whitespace",
        "invisible.html": "no text could be extracted from the file",
    }


def test_a_title_from_a_long_first_line_is_cut_at_a_word(tmp_path: Path) -> None:
    line = " ".join(["compétitivité"] * 1000)  # one line of 13,999 characters
    (tmp_path / "long.txt").write_text(line + "\n\nSuite.", encoding="utf-8")
    title = read_document(tmp_path, tmp_path / "long.txt").info.title
    assert len(title) <= 200 and title.endswith("…")
    assert line.startswith(title[:-1] + " ")  # whole words only
    (tmp_path / "one-word.txt").write_text("x" * 10_000, encoding="utf-8")
    assert read_document(tmp_path, tmp_path / "one-word.txt").info.title == "x" * 199 + "…"


def test_a_huge_html_title_is_capped(tmp_path: Path) -> None:
    words = "pôle compétitivité innovation " * 500
    (tmp_path / "seo.html").write_text(
        f"<html><head><title>{words}</title></head><body><p>Texte.</p></body></html>",
        encoding="utf-8",
    )
    title = read_document(tmp_path, tmp_path / "seo.html").info.title
    assert len(title) <= 200 and title.endswith("…")
    assert words.startswith(title[:-1] + " ")


def test_an_index_of_the_previous_ingest_version_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is extracted changed in version 8 (a header date MM/AAAA read): an index built
    # before must be updated; its files are read again, and the documents whose extraction
    # came out the same keep their vectors (tests/test_index_ingest_version.py).
    assert ingest.INGEST_VERSION == 8
    corpus, index_dir, emb = write_corpus(tmp_path / "corpus"), tmp_path / "index", FakeEmbedder()
    with monkeypatch.context() as patch:
        patch.setattr(ingest, "INGEST_VERSION", 7)
        build_index(corpus, index_dir, emb, **PARAMS)
        assert index_status(corpus, index_dir, emb.id) == "current"
    assert index_status(corpus, index_dir, emb.id) == "stale"
    emb.embedded.clear()
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert report.written and (report.changed, report.unchanged) == (0, report.documents)
    assert emb.embedded == []
    assert index_status(corpus, index_dir, emb.id) == "current"


def test_a_first_line_of_invisible_characters_is_not_the_title(tmp_path: Path) -> None:
    text = "\u200b\u00ad\nLe pôle Vert\n\nIl compte 40 membres.\n"
    (tmp_path / "a.txt").write_text(text, "utf-8")
    assert read_document(tmp_path, tmp_path / "a.txt").info.title == "Le pôle Vert"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.md", "---\ntitre: [non fermé\n---\n\nLe pôle Vert compte 40 membres.\n"),  # not YAML
        ("b.md", "---\n\nLe pôle Vert compte 40 membres.\n"),  # a rule first
        ("c.txt", "==========\n* * *\nLe pôle Vert compte 40 membres.\n"),
    ],
)
def test_a_title_is_never_a_line_of_marks(tmp_path: Path, name: str, text: str) -> None:
    # titled « --- », the citations named no document
    (tmp_path / name).write_text(text, "utf-8")
    title = read_document(tmp_path, tmp_path / name).info.title
    assert title == ("titre: [non fermé" if name == "a.md" else "Le pôle Vert compte 40 membres.")


INVISIBLES = {"zero-width space": "\u200b", "BOM": "\ufeff", "soft hyphen": "\u00ad",
              "word joiner": "\u2060"}  # fmt: skip
DATE_LINES = ["Date{c}: 2021-03-04", "Date: {c}2021-03-04", "{c}Date: 2021-03-04",
              "Da{c}te : 2021-03-04{c}", "Date: 2021-{c}03-04"]  # fmt: skip


@pytest.mark.parametrize("line", DATE_LINES)
@pytest.mark.parametrize("char", INVISIBLES.values(), ids=INVISIBLES.keys())
def test_an_md_date_line_with_an_invisible_character_gives_the_date(
    tmp_path: Path, char: str, line: str
) -> None:
    date_line = line.format(c=char)
    # the line after it is read as a header line too: the header did not end at the date
    text = (
        f"# Le pôle Vert\n{date_line}\nSource: https://example.org/vert\n\nIl compte 40 membres.\n"
    )
    (tmp_path / "vert.md").write_text(text, encoding="utf-8")
    doc = read_document(tmp_path, tmp_path / "vert.md")
    info = doc.info
    assert (info.date, info.url, info.title) == (
        "2021-03-04",
        "https://example.org/vert",
        "Le pôle Vert",
    )
    assert doc.text == text.replace(char, "")
    assert doc.text[doc.body_start :] == "Il compte 40 membres.\n"


@pytest.mark.parametrize("char", INVISIBLES.values(), ids=INVISIBLES.keys())
def test_an_indexed_md_keeps_its_date_and_exact_offsets(tmp_path: Path, char: str) -> None:
    corpus = write_corpus(tmp_path / "corpus", {
        "vert.md": f"# Le pôle Vert\nDate{char}: {char}2021-03-04\n\n{char}Le pôle Vert compte "
        "40 membres. Son siège est à Tours, où il a été créé en 2005 par des industriels.\n",
    })  # fmt: skip
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "index", emb, **PARAMS)
    index = Index.load(tmp_path / "index", emb.id)
    doc = index.document("vert.md")
    assert doc.info.date == "2021-03-04" and char not in doc.text
    assert doc.text[doc.body_start :].startswith("Le pôle Vert compte 40 membres.")
    chunks = [index.chunks[i] for i in index.chunk_ids("vert.md")]
    assert chunks and all(doc.text[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].start == doc.body_start
    sentences = index.sentences_in("vert.md", 0, len(doc.text))
    assert doc.text[sentences[0].start : sentences[0].end] == "Le pôle Vert compte 40 membres."
