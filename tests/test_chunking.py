"""Chunking: exact offsets into the document text, body only, sizes, pages, repeated text."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from poleqa.chunking import chunk_document
from poleqa.config import Settings
from poleqa.ingest import load_corpus
from poleqa.types import Chunk, Document, DocumentInfo, PageSpan

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real_documents() -> list[Document]:
    docs = [
        *load_corpus(REPO / "corpus").documents,
        *load_corpus(REPO / "eval/dev/corpus").documents,
    ]
    assert len(docs) == 37
    return docs


def make_doc(text: str, body_start: int = 0, pages: tuple[PageSpan, ...] = ()) -> Document:
    return Document(DocumentInfo(source="doc.txt", title="t"), text, body_start, pages)


def check_chunks(doc: Document, chunks: list[Chunk], size: int) -> None:
    """The invariants every caller relies on."""
    previous: Chunk | None = None
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip()
        assert len(chunk.text) <= size
        assert chunk.start >= doc.body_start
        assert chunk.source == doc.source
        if previous is not None:
            assert chunk.id == previous.id + 1
            assert chunk.start > previous.start and chunk.end > previous.end
        previous = chunk
    # Every non-space character of the body is in some chunk.
    covered = bytearray(len(doc.text))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    missed = [
        i
        for i in range(doc.body_start, len(doc.text))
        if not covered[i] and not doc.text[i].isspace()
    ]
    assert missed == []


@pytest.mark.parametrize(
    "size, overlap", [(Settings().chunk_size, Settings().chunk_overlap), (300, 60), (120, 0)]
)
def test_offsets_round_trip_on_seeds_and_dev_docs(
    real_documents: list[Document], size: int, overlap: int
) -> None:
    for doc in real_documents:
        chunks = chunk_document(doc, size, overlap)
        assert chunks
        check_chunks(doc, chunks, size)


def test_only_the_body_is_chunked(real_documents: list[Document]) -> None:
    md_docs = [d for d in real_documents if d.info.format == "md"]
    assert md_docs and all(d.body_start > 0 for d in md_docs)
    for doc in md_docs:
        chunks = chunk_document(doc, 800, 120)
        assert chunks[0].start == doc.body_start
        assert all("Source: http" not in c.text for c in chunks)


def test_ids_start_at_first_id() -> None:
    doc = make_doc("Une phrase. " * 200)
    chunks = chunk_document(doc, 200, 40, first_id=17)
    assert [c.id for c in chunks] == list(range(17, 17 + len(chunks)))


def test_chunks_end_at_sentence_ends_in_french_prose() -> None:
    sentences = [
        f"Le pôle numéro {i} a reçu l’aide de l’État pour {i} projets innovants." for i in range(40)
    ]
    doc = make_doc(" ".join(sentences))
    chunks = chunk_document(doc, 250, 0)
    assert len(chunks) > 5
    assert all(c.text.endswith("innovants.") for c in chunks)
    assert all(c.text.startswith("Le pôle numéro") for c in chunks)


def test_closing_guillemets_stay_with_their_sentence() -> None:
    text = "Il a dit : « Le pôle est prêt. » Puis il est parti. Une autre phrase ici. " * 5
    chunks = chunk_document(make_doc(text), 60, 0)
    assert chunks[0].text == "Il a dit : « Le pôle est prêt. » Puis il est parti."
    assert all(not c.text.startswith("»") for c in chunks)


def test_paragraphs_and_headings_are_preferred_boundaries() -> None:
    paragraph = "Texte du paragraphe sur les pôles de compétitivité. " * 3
    text = "\n\n".join(f"# Section {i}\n\n{paragraph.strip()}" for i in range(6))
    chunks = chunk_document(make_doc(text), 400, 0)
    # Two sections fit in 400 characters: chunks hold whole sections and start at a heading.
    assert [c.text.count("# Section") for c in chunks] == [2, 2, 2]
    assert all(c.text.startswith("# Section") and c.text.endswith("compétitivité.") for c in chunks)


def test_repeated_text_gets_its_own_offsets() -> None:
    paragraph = "Le même paragraphe, répété mot pour mot dans le document."
    text = "\n\n".join([paragraph] * 30)
    doc = make_doc(text)
    chunks = chunk_document(doc, 130, 60)
    check_chunks(doc, chunks, 130)
    assert chunks[-1].end == len(text)
    # langchain's own start_index would put every identical chunk at the first match.
    assert len({c.start for c in chunks}) == len(chunks)


def test_periodic_text_is_chunked_quickly_and_exactly() -> None:
    doc = make_doc("a" * 50_000)
    chunks = chunk_document(doc, 800, 120)
    check_chunks(doc, chunks, 800)
    assert chunks[-1].end == 50_000


def test_random_texts_keep_exact_offsets() -> None:
    rng = random.Random(1234)
    words = ["pôle", "de", "la", "compétitivité", "État.", "l’innovation,", "a", "\n", "\n\n",
             "# Titre\n", "; ", "  ", "5\u00a0000", "…", "« ", "»", "- item\n"]  # fmt: skip
    for _ in range(400):
        text = "".join(
            rng.choice(words) + rng.choice([" ", "", "\n"]) for _ in range(rng.randint(0, 250))
        )
        if rng.random() < 0.3:  # repeated passages
            text = text[: rng.randint(1, 60)] * rng.randint(1, 20)
        body_start = rng.randint(0, min(len(text), 20))
        size = rng.randint(5, 300)
        overlap = rng.randint(0, size - 1)
        doc = make_doc(text, body_start)
        check_chunks(doc, chunk_document(doc, size, overlap), size)


def test_pages_come_from_the_document() -> None:
    page1 = "Première page du rapport sur les pôles. " * 5
    page2 = "Deuxième page du rapport sur les pôles. " * 5
    text = f"{page1.strip()}\n\n{page2.strip()}"
    pages = (
        PageSpan(1, 0, len(page1.strip())),
        PageSpan(2, len(page1.strip()) + 2, len(text)),
    )
    chunks = chunk_document(make_doc(text, pages=pages), 120, 0)
    assert [c.page for c in chunks] == [1] * 2 + [2] * 2
    assert next(c.start for c in chunks if c.page == 2) == pages[1].start


def test_empty_or_blank_body_gives_no_chunks() -> None:
    assert chunk_document(make_doc(""), 800, 120) == []
    assert chunk_document(make_doc(" \n\u00a0\n "), 800, 120) == []
    assert chunk_document(make_doc("# Titre\nDate: 2020\n", body_start=20), 800, 120) == []


@pytest.mark.parametrize("size, overlap", [(0, 0), (100, 100), (100, -1)])
def test_invalid_sizes_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_document(make_doc("Du texte."), size, overlap)
