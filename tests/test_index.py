"""The persisted index: build, load, incremental updates, atomic swaps, checks on load, search."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from support import ARA, DOCS, PARAMS, FakeEmbedder, real_embedder, write_corpus

from poleqa.config import Settings
from poleqa.errors import (
    CorpusError,
    IndexCorruptedError,
    IndexError_,
    IndexMismatchError,
    IndexMissingError,
)
from poleqa.index import (
    Index,
    SentenceVectorsMissingError,
    UnknownDocumentError,
    build_index,
    index_status,
    store,
)
from poleqa.index import lexical as lexical_mod
from poleqa.pipeline import Pipeline


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def built(corpus: Path, tmp_path: Path) -> tuple[Path, Path, FakeEmbedder]:
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "index", emb, **PARAMS)
    return corpus, tmp_path / "index", emb


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


def snapshot(index: Index) -> tuple:
    return (
        sorted(index.documents),
        [(c.source, c.start, c.end) for c in index.chunks],
        [(s.source, s.start, s.end) for s in index.sentences],
        np.asarray(index.chunk_vectors).tobytes(),
        index.sentence_vectors.tobytes(),
    )


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


# -- checks on load ------------------------------------------------------------------------


def test_missing_index(tmp_path: Path, corpus: Path) -> None:
    with pytest.raises(IndexMissingError, match=r"run `poleqa index --index .*` to build it"):
        Index.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissingError):
        Index.load(tmp_path / "empty")
    assert index_status(corpus, tmp_path / "empty", "x") == "missing"


def test_other_embedder_is_refused(built) -> None:
    corpus, index_dir, _ = built
    with pytest.raises(IndexMismatchError) as e:
        Index.load(index_dir, embedder_id="someone-else/384")
    assert "fake-bow/32" in e.value.message and "someone-else/384" in e.value.message
    assert "poleqa index" in e.value.message
    assert index_status(corpus, index_dir, "someone-else/384") == "mismatch"


def test_other_format_version_is_refused(built) -> None:
    corpus, index_dir, emb = built
    manifest = store.read_current(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["format_version"] = 999
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="format version 999"):
        Index.load(index_dir, emb.id)
    assert index_status(corpus, index_dir, emb.id) == "mismatch"
    # A rebuild replaces it (nothing of it is reused).
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert report.rebuilt
    Index.load(index_dir, emb.id)


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


@pytest.mark.parametrize(
    ("name", "damage", "expected"),
    [
        ("chunk_vectors.npy", _truncate, "chunk_vectors.npy has"),
        ("sentence_vectors.npy", _flip_last_byte, "sentence_vectors.npy does not match"),
        ("chunks.jsonl", _flip_last_byte, "chunks.jsonl does not match"),
        ("dense.faiss", os.remove, "dense.faiss is missing"),
        ("bm25/vocab.index.json", _flip_last_byte, "bm25/vocab.index.json does not match"),
        ("manifest.json", lambda p: p.write_text("{not json", encoding="utf-8"), "malformed"),
        ("manifest.json", os.remove, "no readable manifest"),
    ],
)
def test_damaged_files_are_refused(built, name, damage, expected) -> None:
    corpus, index_dir, emb = built
    damage(store.read_current(index_dir) / name)
    with pytest.raises(IndexCorruptedError, match=expected) as e:
        Index.load(index_dir, emb.id)
    assert f"run `poleqa index --index {index_dir}` to rebuild it" in e.value.message
    assert index_status(corpus, index_dir, emb.id) == "corrupted"
    # The next build repairs it from scratch.
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert report.rebuilt and report.written
    assert index_status(corpus, index_dir, emb.id) == "current"


@pytest.mark.parametrize("content", [b"garbage\n", b"gen-20990101T000000-000000-1\n", b"\xff\xfe"])
def test_damaged_pointer_is_refused(built, content) -> None:
    corpus, index_dir, emb = built
    (index_dir / "CURRENT").write_bytes(content)
    with pytest.raises(IndexCorruptedError, match="damaged"):
        Index.load(index_dir, emb.id)
    assert index_status(corpus, index_dir, emb.id) == "corrupted"
    build_index(corpus, index_dir, emb, **PARAMS)
    assert len(Index.load(index_dir, emb.id).documents) == 3


# -- status, corpus problems ---------------------------------------------------------------


def test_status_follows_the_corpus(built) -> None:
    corpus, index_dir, emb = built
    assert index_status(corpus, index_dir, emb.id) == "current"
    (corpus / "c_aqua.md").write_text(DOCS["c_aqua.md"] + " Modifié.", encoding="utf-8")
    assert index_status(corpus, index_dir, emb.id) == "stale"
    build_index(corpus, index_dir, emb, **PARAMS)
    assert index_status(corpus, index_dir, emb.id) == "current"
    (corpus / "c_aqua.md").unlink()
    assert index_status(corpus, index_dir, emb.id) == "stale"
    build_index(corpus, index_dir, emb, **PARAMS)
    (corpus / "e.txt").write_text("Un nouveau document sur les pôles.", encoding="utf-8")
    assert index_status(corpus, index_dir, emb.id) == "stale"


def test_status_is_stale_when_the_wanted_chunking_differs(built) -> None:
    corpus, index_dir, emb = built
    built_with = (PARAMS["chunk_size"], PARAMS["chunk_overlap"])
    assert index_status(corpus, index_dir, emb.id, built_with) == "current"
    assert index_status(corpus, index_dir, emb.id, (built_with[0] * 2, 0)) == "stale"


def test_unreadable_files_are_skipped_and_remembered(built) -> None:
    corpus, index_dir, emb = built
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 8)
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert [s.source for s in report.skipped] == ["binary.txt", "empty.txt"]
    assert all(s.reason for s in report.skipped)
    assert report.documents == 3
    assert index_status(corpus, index_dir, emb.id) == "current"
    assert build_index(corpus, index_dir, emb, **PARAMS).written is False


def test_empty_corpus_leaves_the_index_untouched(built, tmp_path: Path) -> None:
    _, index_dir, emb = built
    before = snapshot(Index.load(index_dir, emb.id))
    empty = tmp_path / "empty_corpus"
    empty.mkdir()
    (empty / "broken.txt").write_bytes(b"")
    with pytest.raises(CorpusError, match="No readable document"):
        build_index(empty, index_dir, emb, **PARAMS)
    with pytest.raises(CorpusError, match="Corpus folder not found"):
        build_index(tmp_path / "missing", index_dir, emb, **PARAMS)
    assert snapshot(Index.load(index_dir, emb.id)) == before


# -- flat vs HNSW --------------------------------------------------------------------------


def test_hnsw_above_the_flat_threshold(corpus: Path, tmp_path: Path) -> None:
    emb = FakeEmbedder()
    report = build_index(corpus, tmp_path / "idx", emb, **{**PARAMS, "flat_max_vectors": 3})
    assert report.index_kind == "hnsw" and report.chunks > 3
    index = Index.load(tmp_path / "idx", emb.id)
    assert index.manifest.dense.kind == "hnsw"
    assert index.manifest.dense.ef_search >= 64 and index.manifest.dense.hnsw_m == 32
    for chunk in index.chunks:
        assert index.dense_search(index.chunk_vectors[chunk.id], 1)[0][0] == chunk.id
    assert len(index.dense_search(index.chunk_vectors[0], 1000)) == len(index.chunks)
    aqua = index.chunk_ids("c_aqua.md")
    assert {c for c, _ in index.dense_search(index.chunk_vectors[0], 50, ids=aqua)} == set(aqua)
    # Same corpus under the threshold: flat, same top results.
    build_index(corpus, tmp_path / "flat", emb, **PARAMS)
    flat = Index.load(tmp_path / "flat", emb.id)
    assert flat.manifest.dense.kind == "flat"
    q = emb.embed_queries(["pôle de l'eau à Montpellier"])[0]
    hnsw_hits, flat_hits = index.dense_search(q, 3), flat.dense_search(q, 3)
    assert [c for c, _ in hnsw_hits] == [c for c, _ in flat_hits]
    assert [s for _, s in hnsw_hits] == pytest.approx([s for _, s in flat_hits], abs=1e-5)


def test_index_folder_can_be_moved(built, tmp_path: Path) -> None:
    _, index_dir, emb = built
    moved = tmp_path / "moved"
    shutil.copytree(index_dir, moved)
    assert len(Index.load(moved, emb.id).chunks) == len(Index.load(index_dir, emb.id).chunks)


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
