"""The index with the real model, its size limit, and its sentence vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import (
    ARA,
    DOCS,
    PARAMS,
    FakeEmbedder,
    generations,
    real_embedder,
)

from poleqa.config import Settings
from poleqa.errors import (
    IndexCorruptedError,
    IndexError_,
)
from poleqa.index import (
    Index,
    SentenceVectorsMissingError,
    build_index,
    index_status,
    store,
)
from poleqa.pipeline import Pipeline

# -- end to end with the real multilingual model (seed_index: tests/conftest.py) ----------


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "Combien de pôles de compétitivité compte la région Auvergne-Rhône-Alpes ?",
        "How many competitiveness clusters does Auvergne-Rhône-Alpes have?",
    ],
)
def test_real_model_finds_the_auvergne_rhone_alpes_document(seed_index, question) -> None:
    from poleqa.query import analyse
    from poleqa.retrieval import HybridRetriever

    _, index_dir, _ = seed_index
    embedder = real_embedder()
    index = Index.load(index_dir, embedder_id=embedder.id)
    assert index.manifest.embedder_id == embedder.id and index.manifest.dim == 384
    assert len(index.documents) == 5
    qvec = embedder.embed_queries([question])[0]
    # Dense alone ranks it in its top 3 (the English question's cosines are close together);
    # BM25 on French stems finds it first; the fused ranking (what `poleqa search` shows) too.
    assert ARA in {index.chunks[c].source for c, _ in index.dense_search(qvec, 3)}
    assert index.chunks[index.lexical_search(question, 1)[0][0]].source == ARA
    hits = HybridRetriever(index).retrieve(analyse(question, embedder), k=3)
    assert hits[0].info.source == ARA


# -- size limit --------------------------------------------------------------------------------


def test_documents_above_the_size_limit_are_skipped(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    emb = FakeEmbedder()
    limit = len(DOCS["a_medicen.md"]) - 1  # a_medicen.md is the longest of the three
    report = build_index(corpus, index_dir, emb, **PARAMS, max_document_chars=limit)
    reason = f"{limit + 1} characters, above the limit of {limit} (--max-document-chars)"
    assert [(s.source, s.reason) for s in report.skipped] == [("a_medicen.md", reason)]
    assert (report.documents, report.added) == (2, 2)
    assert not any("Lajoux" in text for text in emb.embedded)
    assert sorted(Index.load(index_dir, emb.id).documents) == ["b_xylofutur.md", "c_aqua.md"]
    # Remembered like the other skipped files: nothing to do until the file or the limit changes.
    assert index_status(corpus, index_dir, emb.id) == "current"
    again = build_index(corpus, index_dir, emb, **PARAMS, max_document_chars=limit)
    assert not again.written and len(again.skipped) == 1

    emb.embedded.clear()
    report = build_index(corpus, index_dir, emb, **PARAMS)  # the default limit: 2,000,000
    assert (report.added, report.unchanged, report.skipped) == (1, 2, ())
    assert emb.embedded and all("Medicen" in text for text in emb.embedded)
    # A lower limit also drops an unchanged document.
    report = build_index(corpus, index_dir, emb, **PARAMS, max_document_chars=limit)
    assert (report.removed, report.unchanged, len(report.skipped)) == (1, 2, 1)
    assert "a_medicen.md" not in Index.load(index_dir, emb.id).documents


def test_the_default_size_limit_is_two_million_characters() -> None:
    from poleqa.config import MAX_DOCUMENT_CHARS, Settings

    assert Settings().max_document_chars == MAX_DOCUMENT_CHARS == 2_000_000


# -- sentence vectors (both readers read them; without them, search only) ---------------------


def test_without_sentence_vectors_the_manifest_says_so(corpus: Path, tmp_path: Path) -> None:
    emb = FakeEmbedder()
    index_dir = tmp_path / "index"
    report = build_index(corpus, index_dir, emb, **PARAMS, sentence_vectors=False)
    assert not report.sentence_vectors and report.embedded_sentences == 0
    assert report.sentences > 0  # the sentences themselves are kept (cheap, text offsets)
    assert len(emb.embedded) == report.chunks  # only the chunks were embedded

    index = Index.load(index_dir, emb.id)
    assert index.manifest.sentence_vectors is False and not index.has_sentence_vectors
    assert json.loads((index.path / "manifest.json").read_text())["sentence_vectors"] is False
    assert not (index.path / store.SENTENCE_VECTORS).exists()
    assert len(index.sentences) == report.sentences
    assert index.sentences_in("a_medicen.md", 0, 10_000)
    with pytest.raises(SentenceVectorsMissingError) as e:
        index.sentence_vectors  # noqa: B018
    assert isinstance(e.value, IndexError_)
    assert "built without sentence vectors" in e.value.message
    assert f"poleqa index --index {index_dir} --sentence-vectors" in e.value.message
    assert "poleqa index --sentence-vectors" in e.value.message_fr

    build_index(corpus, tmp_path / "default", emb, **PARAMS)
    with_vectors = Index.load(tmp_path / "default", emb.id)
    assert with_vectors.manifest.sentence_vectors is True and with_vectors.has_sentence_vectors
    with_vectors.require_sentence_vectors()


def test_a_manifest_from_before_the_setting_has_sentence_vectors(built) -> None:
    _, index_dir, emb = built
    path = Index.load(index_dir).path / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["sentence_vectors"]
    path.write_text(json.dumps(data), encoding="utf-8")
    index = Index.load(index_dir, emb.id)
    assert index.has_sentence_vectors and index.sentence_vectors.shape[0] == len(index.sentences)
    data["sentence_vectors"] = "no"  # neither true nor false: a damaged manifest
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorruptedError, match="malformed"):
        Index.load(index_dir, emb.id)


def test_switching_sentence_vectors_adds_or_drops_them(built) -> None:
    corpus, index_dir, _ = built
    before = Index.load(index_dir)
    chunk_vectors = np.asarray(before.chunk_vectors).copy()
    sentence_vectors = before.sentence_vectors.copy()

    emb = FakeEmbedder()  # off: nothing is embedded, the vectors are dropped
    report = build_index(corpus, index_dir, emb, **PARAMS, sentence_vectors=False)
    assert report.written and not report.rebuilt and emb.embedded == []
    assert (report.embedded_chunks, report.embedded_sentences, report.unchanged) == (0, 0, 3)
    dropped = Index.load(index_dir, emb.id)
    assert not dropped.has_sentence_vectors and len(generations(index_dir)) == 1
    np.testing.assert_array_equal(np.asarray(dropped.chunk_vectors), chunk_vectors)
    assert build_index(corpus, index_dir, emb, **PARAMS, sentence_vectors=False).written is False

    # A document changes while they are off, then they are switched on again: every sentence
    # is embedded (the previous generation has none to lend), the unchanged chunks are not.
    (corpus / "c_aqua.md").write_text(DOCS["c_aqua.md"] + " Il compte 90 membres.", "utf-8")
    build_index(corpus, index_dir, emb, **PARAMS, sentence_vectors=False)
    emb = FakeEmbedder()
    report = build_index(corpus, index_dir, emb, **PARAMS, sentence_vectors=True)
    assert report.written and report.sentence_vectors
    assert report.embedded_chunks == 0 and report.embedded_sentences == report.sentences
    assert len(emb.embedded) == report.sentences
    added = Index.load(index_dir, emb.id)
    assert added.has_sentence_vectors and added.manifest.sentence_vectors
    assert added.sentence_vectors.shape == (len(added.sentences), 32)
    # The same vectors as a build that had them all along.
    fresh = build_index(corpus, index_dir.parent / "fresh", FakeEmbedder(), **PARAMS)
    assert fresh.sentences == report.sentences
    np.testing.assert_array_equal(
        added.sentence_vectors, Index.load(index_dir.parent / "fresh").sentence_vectors
    )
    unchanged = [s.id for s in added.sentences if s.source != "c_aqua.md"]
    old = [s.id for s in before.sentences if s.source != "c_aqua.md"]
    np.testing.assert_array_equal(added.sentence_vectors[unchanged], sentence_vectors[old])
    assert build_index(corpus, index_dir, emb, **PARAMS).written is False


def test_status_wants_sentence_vectors_only_when_asked(built) -> None:
    corpus, index_dir, emb = built
    assert index_status(corpus, index_dir, emb.id, sentence_vectors=True) == "current"
    assert index_status(corpus, index_dir, emb.id, sentence_vectors=False) == "current"
    build_index(corpus, index_dir, emb, **PARAMS, sentence_vectors=False)
    assert index_status(corpus, index_dir, emb.id, sentence_vectors=True) == "stale"
    assert index_status(corpus, index_dir, emb.id, sentence_vectors=False) == "current"
    assert index_status(corpus, index_dir, emb.id) == "current"


@pytest.mark.parametrize("reader", ["sentences", "trained"])
def test_the_readers_on_an_index_without_sentence_vectors(built, reader: str) -> None:
    corpus, index_dir, emb = built
    build_index(corpus, index_dir, emb, **PARAMS, sentence_vectors=False)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir, reader=reader)
    pipeline = Pipeline(settings, embedder=emb)
    assert pipeline.search("Où sont les scieries ?")  # retrieval needs no sentence vectors
    # both readers check before loading anything (the trained reader's judge reads them)
    with pytest.raises(SentenceVectorsMissingError, match="--sentence-vectors"):
        pipeline.ask("Combien d'adhérents compte Medicen ?")


def test_the_settings_say_whether_sentences_are_embedded() -> None:
    # both readers read them: embedded by default whichever reader is set, off only when asked
    assert all(Settings(reader=r).sentence_vectors for r in ("trained", "sentences"))
    assert not Settings(reader="trained").with_(sentence_vectors=False).sentence_vectors


def test_the_pipeline_adds_the_sentence_vectors_its_readers_need(
    corpus: Path, tmp_path: Path
) -> None:
    emb = FakeEmbedder()
    bare = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", sentence_vectors=False)
    bare = bare.with_(**PARAMS)
    report = Pipeline(bare, embedder=emb).build()
    assert not report.sentence_vectors and report.embedded_sentences == 0

    pipeline = Pipeline(bare.with_(sentence_vectors=True), embedder=emb)  # the default
    report = pipeline.ensure_index()  # the readers need them: added
    assert report is not None and report.sentence_vectors
    assert report.embedded_chunks == 0 and report.embedded_sentences == report.sentences
    assert pipeline.index.has_sentence_vectors
