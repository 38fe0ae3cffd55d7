"""The persisted index: build, load, incremental updates, atomic swaps, search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import (
    DOCS,
    PARAMS,
    FakeEmbedder,
    generations,
    snapshot,
)

from poleqa.errors import (
    IndexError_,
)
from poleqa.index import (
    Index,
    UnknownDocumentError,
    build_index,
    index_status,
    store,
)
from poleqa.index import lexical as lexical_mod

# -- build and load ----------------------------------------------------------------------------


def test_build_and_load_round_trip(corpus: Path, tmp_path: Path) -> None:
    emb = FakeEmbedder()
    report = build_index(corpus, tmp_path / "index", emb, **PARAMS)
    index = Index.load(tmp_path / "index", embedder_id=emb.id)

    assert (report.documents, report.added, report.changed, report.removed) == (3, 3, 0, 0)
    assert report.index_kind == "flat" and report.rebuilt and report.skipped == ()
    assert report.chunks == len(index.chunks) > 3
    assert report.embedded_chunks == report.chunks
    assert report.embedded_sentences == report.sentences == len(index.sentences)
    assert sorted(index.documents) == sorted(DOCS)
    assert index.manifest.embedder_id == emb.id and index.manifest.dim == 32
    assert index.manifest.embedder["backend"] == "fake"
    assert index.manifest.dense.kind == "flat"
    assert (index.manifest.chunk_size, index.manifest.chunk_overlap) == (120, 20)
    for i, chunk in enumerate(index.chunks):
        assert chunk.id == i
        assert index.document(chunk.source).text[chunk.start : chunk.end] == chunk.text
    for i, sent in enumerate(index.sentences):
        assert sent.id == i
        doc = index.document(sent.source)
        assert sent.start >= doc.body_start
    assert index.sentence_vectors.shape == (len(index.sentences), 32)
    assert index.sentence_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(index.sentence_vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(index.chunk_vectors, axis=1), 1.0, rtol=1e-5)
    # Chunks are embedded with their document title in front.
    first = index.chunks[0]
    assert f"{index.info(first.source).title}\n\n{first.text}" in emb.embedded
    # The stored document is the ingested one.
    assert index.info("b_xylofutur.md").date == "2019-05-02"
    assert index.info("b_xylofutur.md").title == "Xylofutur"


def test_a_build_reports_the_metadata_files_no_document_reads(corpus: Path, tmp_path: Path) -> None:
    """A sidecar named in other letter case, or left behind by its document, would drop its
    metadata silently: the build says so, and indexes the documents as usual."""
    name = sorted(p.name for p in corpus.iterdir() if not p.name.endswith(".meta.json"))[0]
    (corpus / f"{name.upper()}.meta.json").write_text('{"title": "Titre"}', "utf-8")
    (corpus / "parti.txt.meta.json").write_text('{"title": "Titre"}', "utf-8")
    report = build_index(corpus, tmp_path / "index", FakeEmbedder(), **PARAMS)
    reasons = {s.source: s.reason for s in report.skipped}
    assert reasons == {
        f"{name.upper()}.meta.json": f"metadata file not read: name it {name}.meta.json, "
        "after its document",
        "parti.txt.meta.json": "metadata file without its document "
        "(expected next to it: parti.txt)",
    }
    assert report.documents == 3


def test_a_copy_of_a_document_is_skipped_and_indexed_once_the_original_goes(
    corpus: Path, tmp_path: Path
) -> None:
    # indexed twice, the same passage came back twice among the citations, crowding out the
    # other documents
    (corpus / "sub").mkdir()
    (corpus / "sub" / "copie.md").write_bytes((corpus / "a_medicen.md").read_bytes())
    emb, index_dir = FakeEmbedder(), tmp_path / "index"
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert report.documents == 3
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("sub/copie.md", "same file as a_medicen.md")
    ]
    assert index_status(corpus, index_dir, emb.id) == "current"  # the skip is remembered
    (corpus / "a_medicen.md").unlink()
    assert index_status(corpus, index_dir, emb.id) == "stale"
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert (report.documents, report.added, report.removed, report.skipped) == (3, 1, 1, ())
    assert "sub/copie.md" in Index.load(index_dir, emb.id).documents


def test_unknown_document_is_a_poleqa_error(built) -> None:
    _, index_dir, emb = built
    index = Index.load(index_dir, emb.id)
    with pytest.raises(UnknownDocumentError, match=r"nope\.md"):
        index.document("nope.md")


def test_dense_search_finds_the_chunk_of_its_own_vector(built) -> None:
    _, index_dir, emb = built
    index = Index.load(index_dir, emb.id)
    for chunk in index.chunks:
        hits = index.dense_search(index.chunk_vectors[chunk.id], 3)
        assert hits[0][0] == chunk.id
        assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert len(index.dense_search(index.chunk_vectors[0], 10_000)) == len(index.chunks)


def test_lexical_search_uses_folded_french_stems(built) -> None:
    _, index_dir, emb = built
    index = Index.load(index_dir, emb.id)
    hits = index.lexical_search("Où sont les SCIERIES ?", 5)
    assert hits and {index.chunks[c].source for c, _ in hits} == {"b_xylofutur.md"}
    # "fusionné" and "fusion" share a stem; the accent does not matter.
    hits = index.lexical_search("fusionne", 5)
    assert index.chunks[hits[0][0]].source == "c_aqua.md"
    assert index.lexical_search("zzzz qwerty", 5) == []
    assert index.lexical_search("le la les", 5) == []  # stop words only


def test_search_restricted_to_ids(built) -> None:
    _, index_dir, emb = built
    index = Index.load(index_dir, emb.id)
    aqua = index.chunk_ids("c_aqua.md")
    q = emb.embed_queries(["pôle de compétitivité santé"])[0]
    assert {c for c, _ in index.dense_search(q, 50, ids=aqua)} == set(aqua)
    assert index.lexical_search("pôle", 50, ids=aqua)
    assert {c for c, _ in index.lexical_search("pôle", 50, ids=aqua)} <= set(aqua)
    assert index.dense_search(q, 5, ids=[]) == []


def test_sentences_in_returns_the_overlapping_sentences(built) -> None:
    _, index_dir, emb = built
    index = Index.load(index_dir, emb.id)
    doc = index.document("a_medicen.md")
    all_sents = [s for s in index.sentences if s.source == "a_medicen.md"]
    assert len(all_sents) >= 4
    target = all_sents[1]
    got = index.sentences_in("a_medicen.md", target.start + 1, target.end - 1)
    assert got == [target]
    got = index.sentences_in("a_medicen.md", all_sents[0].start, all_sents[2].start + 1)
    assert got == all_sents[:3]
    assert index.sentences_in("a_medicen.md", 0, len(doc.text)) == all_sents
    assert index.sentences_in("a_medicen.md", 5, 5) == []
    assert index.sentences_in("nope.md", 0, 100) == []
    assert "276 adhérents" in " ".join(doc.text[s.start : s.end] for s in all_sents)


# -- incremental ---------------------------------------------------------------------------


def test_changing_one_file_re_embeds_only_it(built) -> None:
    corpus, index_dir, _ = built
    before = Index.load(index_dir)
    (corpus / "b_xylofutur.md").write_text(
        DOCS["b_xylofutur.md"] + " Il compte 180 adhérents en 2019.", encoding="utf-8"
    )
    emb = FakeEmbedder()
    report = build_index(corpus, index_dir, emb, **PARAMS)
    after = Index.load(index_dir, emb.id)

    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 1, 0, 2)
    assert not report.rebuilt
    n_b_chunks = len(after.chunk_ids("b_xylofutur.md"))
    n_b_sents = sum(s.source == "b_xylofutur.md" for s in after.sentences)
    assert report.embedded_chunks == n_b_chunks
    assert report.embedded_sentences == n_b_sents
    assert len(emb.embedded) == n_b_chunks + n_b_sents
    assert all("Xylofutur" in t for t in emb.embedded)
    # The vectors of unchanged documents are the stored ones, moved to their new rows.
    for source in ("a_medicen.md", "c_aqua.md"):
        old = np.asarray(before.chunk_vectors)[before.chunk_ids(source)]
        new = np.asarray(after.chunk_vectors)[after.chunk_ids(source)]
        np.testing.assert_array_equal(old, new)
    hits = after.lexical_search("180 adhérents 2019", 3)
    assert after.chunks[hits[0][0]].source == "b_xylofutur.md"
    assert "180 adhérents" in after.document("b_xylofutur.md").text


def test_deleting_a_file_removes_it_everywhere(built) -> None:
    corpus, index_dir, emb = built
    (corpus / "b_xylofutur.md").unlink()
    report = build_index(corpus, index_dir, emb, **PARAMS)
    index = Index.load(index_dir, emb.id)

    assert (report.documents, report.removed, report.unchanged) == (2, 1, 2)
    assert report.embedded_chunks == 0 and report.embedded_sentences == 0
    assert "b_xylofutur.md" not in index.documents
    assert all(c.source != "b_xylofutur.md" for c in index.chunks)
    assert all(s.source != "b_xylofutur.md" for s in index.sentences)
    assert index.lexical_search("scieries papetiers Bordeaux", 10) == []
    q = emb.embed_queries(["Xylofutur scieries papetiers Bordeaux"])[0]
    ids = [c for c, _ in index.dense_search(q, 100)]
    assert sorted(ids) == list(range(len(index.chunks)))
    assert all(index.chunks[c].source != "b_xylofutur.md" for c in ids)
    assert [e.source for e in index.manifest.documents] == ["a_medicen.md", "c_aqua.md"]


def test_an_indexed_document_whose_new_version_cannot_be_read_is_kept(built) -> None:
    # a typo in its sidecar (« Date ») dropped it from the chat, exit 0, among other lines
    corpus, index_dir, emb = built
    sidecar = corpus / "b_xylofutur.md.meta.json"
    sidecar.write_text('{"title": "Xylofutur", "Date": "2015"}', encoding="utf-8")
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert (report.documents, report.removed, report.unchanged) == (3, 0, 3)
    (said,) = report.skipped
    assert said.source == "b_xylofutur.md"
    assert said.reason.endswith("; the version indexed before is kept until the file is fixed")
    assert said.reason_fr.endswith(" ; la version indexée avant est gardée jusqu'à correction")
    index = Index.load(index_dir, emb.id)
    assert "b_xylofutur.md" in index.documents  # still answered from
    assert index_status(corpus, index_dir, emb.id) != "current"  # the file is not what it holds
    sidecar.write_text('{"title": "Xylofutur", "date": "2015"}', encoding="utf-8")
    fixed = build_index(corpus, index_dir, emb, **PARAMS)
    assert (fixed.changed, fixed.skipped) == (1, ())
    assert Index.load(index_dir, emb.id).documents["b_xylofutur.md"].info.date == "2015"


def test_adding_a_file(built) -> None:
    corpus, index_dir, emb = built
    (corpus / "sub").mkdir()
    (corpus / "sub" / "d_new.txt").write_text(
        "Le pôle Valorial traite de l'alimentation en Bretagne.", encoding="utf-8"
    )
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 0, 0, 3)
    index = Index.load(index_dir, emb.id)
    assert "sub/d_new.txt" in index.documents
    assert index.chunks[index.lexical_search("Valorial", 1)[0][0]].source == "sub/d_new.txt"


def test_nothing_changed_writes_nothing(built) -> None:
    corpus, index_dir, _ = built
    gens = generations(index_dir)
    emb = FakeEmbedder()
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert not report.written and emb.embedded == []
    assert (report.documents, report.unchanged, report.added) == (3, 3, 0)
    assert generations(index_dir) == gens
    assert index_status(corpus, index_dir, emb.id) == "current"


def test_other_chunking_or_embedder_rebuilds_everything(built) -> None:
    corpus, index_dir, _ = built
    emb = FakeEmbedder()
    report = build_index(corpus, index_dir, emb, **{**PARAMS, "chunk_size": 200})
    assert report.rebuilt and report.embedded_chunks == report.chunks
    assert Index.load(index_dir).manifest.chunk_size == 200

    other = FakeEmbedder(dim=16, name="other")
    report = build_index(corpus, index_dir, other, **PARAMS)
    assert report.rebuilt and report.embedded_chunks == report.chunks
    index = Index.load(index_dir, other.id)
    assert index.chunk_vectors.shape == (report.chunks, 16)
    assert len(generations(index_dir)) == 1


# -- atomicity ---------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["embed", "lexical", "switch"])
def test_interrupted_build_leaves_the_previous_index(built, monkeypatch, step) -> None:
    corpus, index_dir, emb = built
    before = snapshot(Index.load(index_dir, emb.id))
    gens = generations(index_dir)
    (corpus / "a_medicen.md").write_text(DOCS["a_medicen.md"] + " Ajout.", encoding="utf-8")
    (corpus / "c_aqua.md").unlink()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if step == "embed":
        monkeypatch.setattr(emb, "embed_passages", interrupt)
    elif step == "lexical":
        monkeypatch.setattr(lexical_mod.Lexical, "build", interrupt)
    else:
        monkeypatch.setattr(store, "switch_current", interrupt)
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, index_dir, emb, **PARAMS)

    assert snapshot(Index.load(index_dir, emb.id)) == before
    assert index_status(corpus, index_dir, emb.id) == "stale"
    monkeypatch.undo()
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert (report.changed, report.removed) == (1, 1)
    assert generations(index_dir) != gens and len(generations(index_dir)) == 1
    assert not [p for p in index_dir.iterdir() if p.name.endswith(".partial")]


def test_leftovers_are_cleaned_and_other_files_kept(built) -> None:
    corpus, index_dir, emb = built
    (index_dir / "gen-20200101T000000-000000-1.partial").mkdir()
    (index_dir / "gen-20200101T000000-000000-2").mkdir()
    (index_dir / "README.md").write_text("mine", encoding="utf-8")
    (index_dir / ".write-test-1.tmp").touch()  # a write probe left by a killed build
    (corpus / "c_aqua.md").write_text(DOCS["c_aqua.md"] + " Fin.", encoding="utf-8")
    build_index(corpus, index_dir, emb, **PARAMS)
    assert len(generations(index_dir)) == 1
    assert (index_dir / "README.md").read_text(encoding="utf-8") == "mine"
    assert not (index_dir / ".write-test-1.tmp").exists()


def test_one_build_at_a_time(built) -> None:
    corpus, index_dir, emb = built
    (corpus / "c_aqua.md").unlink()
    with store.build_lock(index_dir), pytest.raises(IndexError_, match="already building"):
        build_index(corpus, index_dir, emb, **PARAMS)
    assert "c_aqua.md" in Index.load(index_dir, emb.id).documents
    assert build_index(corpus, index_dir, emb, **PARAMS).removed == 1


def test_loaded_index_keeps_working_after_a_swap(built) -> None:
    corpus, index_dir, emb = built
    old = Index.load(index_dir, emb.id)
    old_gen = old.path
    (corpus / "a_medicen.md").unlink()
    build_index(corpus, index_dir, emb, **PARAMS)
    assert not old_gen.exists()  # the old generation is gone from disk…
    # …but a reader that loaded it still answers from it.
    assert old.chunks[old.lexical_search("Lajoux", 1)[0][0]].source == "a_medicen.md"
    assert old.dense_search(old.chunk_vectors[0], 1)[0][0] == 0
    assert "a_medicen.md" not in Index.load(index_dir, emb.id).documents


def test_load_retries_when_a_build_swaps_generations_meanwhile(built, monkeypatch) -> None:
    corpus, index_dir, emb = built
    original = Index._load_generation.__func__
    calls = []

    def swap_then_load(cls, index_dir_, gen, manifest):
        calls.append(gen.name)
        if len(calls) == 1:  # a build finishes while this reader is loading `gen`
            (corpus / "c_aqua.md").unlink()
            build_index(corpus, index_dir, emb, **PARAMS)
            assert not gen.exists()
        return original(cls, index_dir_, gen, manifest)

    monkeypatch.setattr(Index, "_load_generation", classmethod(swap_then_load))
    index = Index.load(index_dir, emb.id)
    assert len(calls) == 2 and calls[0] != calls[1]
    assert sorted(index.documents) == ["a_medicen.md", "b_xylofutur.md"]


def test_a_document_emptied_or_of_another_corpus_is_not_kept(built, tmp_path: Path) -> None:
    # kept only when its metadata file alone is at fault: emptied, it goes as meant; and an
    # index rebuilt from another folder (--replace) never keeps that folder's text
    corpus, index_dir, emb = built
    (corpus / "b_xylofutur.md").write_text("", encoding="utf-8")
    build_index(corpus, index_dir, emb, **PARAMS)
    assert "b_xylofutur.md" not in Index.load(index_dir, emb.id).documents
    other = tmp_path / "other"
    other.mkdir()
    (other / "a_medicen.md").write_text("# Autre\n\nUn autre texte.\n", encoding="utf-8")
    (other / "a_medicen.md.meta.json").write_text('{"Date": "2015"}', encoding="utf-8")
    (other / "d.md").write_text("# D\n\nLe pôle D est à Dijon.\n", encoding="utf-8")
    build_index(other, index_dir, emb, replace=True, **PARAMS)
    assert sorted(Index.load(index_dir, emb.id).documents) == ["d.md"]
