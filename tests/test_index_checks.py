"""The persisted index refused or reported: checks on load, status, corpus problems, HNSW."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from support import (
    DOCS,
    PARAMS,
    FakeEmbedder,
    snapshot,
)

from poleqa import ingest
from poleqa.errors import (
    CorpusError,
    IndexCorruptedError,
    IndexMismatchError,
    IndexMissingError,
)
from poleqa.index import (
    Index,
    build_index,
    index_status,
    store,
)
from poleqa.types import Skipped

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


def test_a_bm25_file_edited_with_its_checksum_is_refused_on_load(built) -> None:
    # checksums agree (recomputed by hand), the content does not: bm25s read an emptied
    # params file without a word and the first search failed with a traceback
    _, index_dir, emb = built
    params = store.read_current(index_dir) / "bm25" / "params.index.json"
    params.write_text("{}", encoding="utf-8")
    digest = hashlib.sha256(params.read_bytes()).hexdigest()
    edit = {"sha256": digest, "size": params.stat().st_size}
    _edit_manifest(index_dir, lambda d: d["files"].__setitem__("bm25/params.index.json", edit))
    with pytest.raises(IndexCorruptedError, match="BM25 of None chunks, the index has") as e:
        Index.load(index_dir, emb.id)
    assert f"run `poleqa index --index {index_dir}` to rebuild it" in e.value.message


def _edit_manifest(index_dir: Path, edit: Callable[[dict], object]) -> None:
    manifest = store.read_current(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    edit(data)
    manifest.write_text(json.dumps(data), encoding="utf-8")


def _set(where: str, value: object) -> Callable[[dict], object]:
    """An edit of the manifest: `where` is a dotted path ("embedder.dim", "documents.0.chunks")."""
    *parents, key = where.split(".")

    def edit(data: dict) -> None:
        for part in parents:
            data = data[int(part)] if isinstance(data, list) else data[part]
        data[key] = value

    return edit


COUNT = "is not a whole number of at least"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_set("files", []), "files is not a JSON object"),
        (_set("files", None), "files is not a JSON object"),
        (lambda d: d["files"].update(bm25=7), "files['bm25'] is not a JSON object"),
        # JSON's 1e999 is Python's float infinity: int() of it raised OverflowError.
        (_set("format_version", float("inf")), f"format_version {COUNT} 0"),
        (_set("n_chunks", float("inf")), f"n_chunks {COUNT} 0"),
        (_set("embedder.dim", "x"), f"embedder.dim {COUNT} 1"),
        (_set("dense.kind", "ivf"), "dense.kind is not one of flat, hnsw"),
        (_set("documents.0.chunks", True), f"documents[0].chunks {COUNT} 0"),
        (lambda d: d.pop("created"), "created is missing"),
    ],
)
def test_a_hand_edited_manifest_is_refused_and_repaired(built, edit, reason) -> None:
    corpus, index_dir, emb = built
    _edit_manifest(index_dir, edit)
    with pytest.raises(IndexCorruptedError) as e:
        Index.load(index_dir, emb.id)
    assert e.value.message == (
        f"The manifest of the index in {index_dir} is malformed ({reason}): "
        f"run `poleqa index --index {index_dir}` to rebuild it."
    )
    assert index_status(corpus, index_dir, emb.id) == "corrupted"
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert report.rebuilt and report.written
    assert index_status(corpus, index_dir, emb.id) == "current"


def test_a_manifest_must_list_every_file_of_the_format(built) -> None:
    corpus, index_dir, emb = built
    keep = {"documents.jsonl", "sentences.jsonl", "bm25/vocab.index.json"}
    _edit_manifest(index_dir, lambda d: d.__setitem__("files", {n: d["files"][n] for n in keep}))
    with pytest.raises(IndexCorruptedError) as e:
        Index.load(index_dir, emb.id)
    assert e.value.message == (
        f"The manifest of the index in {index_dir} does not list chunks.jsonl, "
        "chunk_vectors.npy, dense.faiss, sentence_vectors.npy, bm25/data.csc.index.npy, "
        "bm25/indices.csc.index.npy, bm25/indptr.csc.index.npy, bm25/params.index.json: "
        f"run `poleqa index --index {index_dir}` to rebuild it."
    )
    assert index_status(corpus, index_dir, emb.id) == "corrupted"
    assert build_index(corpus, index_dir, emb, **PARAMS).rebuilt


@pytest.mark.parametrize("name", ["../CURRENT", "/etc/hostname", "bm25/../dense.faiss", ""])
def test_a_manifest_naming_files_outside_its_generation_is_refused(built, name) -> None:
    corpus, index_dir, emb = built
    _edit_manifest(index_dir, lambda d: d["files"].__setitem__(name, {"sha256": "0", "size": 0}))
    with pytest.raises(IndexCorruptedError) as e:
        Index.load(index_dir, emb.id)
    assert e.value.message == (
        f"The manifest of the index in {index_dir} is malformed (files names {name!r}, "
        f"which is not a file of the index): run `poleqa index --index {index_dir}` to rebuild it."
    )
    assert index_status(corpus, index_dir, emb.id) == "corrupted"


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


@pytest.mark.parametrize(
    ("key", "value"),
    [("poleqa_version", "0.0.9"), ("passage_template", "text"), ("sentence_text", "sentence")],
)
def test_status_is_stale_when_a_build_would_not_reuse_the_index(built, key, value) -> None:
    corpus, index_dir, emb = built
    _edit_manifest(index_dir, lambda d: d.__setitem__(key, value))  # e.g. built by an older poleqa
    assert index_status(corpus, index_dir, emb.id) == "stale"
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert report.rebuilt and report.embedded_chunks == report.chunks
    assert index_status(corpus, index_dir, emb.id) == "current"


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


def test_a_file_rewritten_during_a_build_is_read_again_by_the_next(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, reads = ingest._read_bytes, Counter[str]()

    def read_bytes(path: Path) -> bytes:
        reads[path.name] += 1
        # c_aqua.md is being copied again when the build reads it (scanned whole, read empty)
        return b"" if path.name == "c_aqua.md" and reads[path.name] == 2 else real(path)

    monkeypatch.setattr(ingest, "_read_bytes", read_bytes)
    emb, index_dir = FakeEmbedder(), tmp_path / "index"
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert [(s.source, s.reason) for s in report.skipped] == [("c_aqua.md", "the file is empty")]
    assert index_status(corpus, index_dir, emb.id) == "stale"  # the copy is over: it changed
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert (report.added, report.skipped) == (1, ())
    assert sorted(Index.load(index_dir, emb.id).documents) == sorted(DOCS)


def test_a_named_pipe_in_the_corpus_blocks_neither_the_build_nor_the_status(built) -> None:
    corpus, index_dir, emb = built
    os.mkfifo(corpus / "pipe.txt")  # reading it would wait for a writer, for ever
    results: list[object] = []

    def build_then_status() -> None:
        results.append(build_index(corpus, index_dir, emb, **PARAMS))
        results.append(index_status(corpus, index_dir, emb.id))

    worker = threading.Thread(target=build_then_status, daemon=True)
    worker.start()
    worker.join(20)
    assert len(results) == 2, "still reading the pipe"
    report, status = results
    assert report.skipped == (
        Skipped(
            "pipe.txt",
            "the file is a named pipe, not a regular file",
            "non lu : c'est un tube nommé, pas un fichier ordinaire",
        ),
    )
    assert (report.documents, report.written, status) == (3, False, "current")


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
