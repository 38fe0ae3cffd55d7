"""An INGEST_VERSION bump: every file is read again, only the documents it changed are embedded."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from support import DOCS, PARAMS, FakeEmbedder, real_embedder, write_corpus

from poleqa import ingest
from poleqa.index import Index, build_index, build_plan, index_status, store
from poleqa.index.build_plan import content_hash, passage_text
from poleqa.ingest import file_fingerprint
from poleqa.ingest.base import Extracted
from poleqa.sentences import embedding_text
from poleqa.types import Document

OLD_VERSION = ingest.INGEST_VERSION - 1


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources the builds read (the others are taken from the index: fingerprint unchanged)."""
    seen: list[str] = []
    real = build_plan.read_document

    def counting(
        root: Path, path: Path, data: tuple[bytes, bytes | None] | None = None
    ) -> Document:
        seen.append(path.relative_to(root).as_posix())
        return real(root, path, data)

    monkeypatch.setattr(build_plan, "read_document", counting)
    return seen


def _build_under_old_version(
    monkeypatch: pytest.MonkeyPatch, corpus: Path, index_dir: Path, embedder: object
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(ingest, "INGEST_VERSION", OLD_VERSION)  # read by bytes_fingerprint
        build_index(corpus, index_dir, embedder, **PARAMS)
        assert index_status(corpus, index_dir, embedder.id) == "current"


def _vectors(index: Index, source: str) -> tuple[bytes, bytes]:
    """The chunk and sentence vectors of `source`, as bytes."""
    sentences = [s.id for s in index.sentences if s.source == source]
    return (
        np.asarray(index.chunk_vectors)[index.chunk_ids(source)].tobytes(),
        np.asarray(index.sentence_vectors)[sentences].tobytes(),
    )


def _embedded_for(index: Index, source: str) -> list[str]:
    """What a build embeds for `source`: its passages, then its sentences."""
    doc = index.document(source)
    chunks = [passage_text(doc, index.chunks[c]) for c in index.chunk_ids(source)]
    sentences = [embedding_text(doc, s.start, s.end) for s in index.sentences if s.source == source]
    return chunks + sentences


def test_a_version_bump_re_embeds_only_the_document_whose_text_changed(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    index_dir = tmp_path / "index"
    _build_under_old_version(monkeypatch, corpus, index_dir, FakeEmbedder())
    before = Index.load(index_dir)
    old_fingerprints = {e.source: e.fingerprint for e in before.manifest.documents}
    assert index_status(corpus, index_dir, FakeEmbedder().id) == "stale"  # the version changed
    (corpus / "b_xylofutur.md").write_text(
        DOCS["b_xylofutur.md"] + " Il compte 180 adhérents en 2019.", encoding="utf-8"
    )
    reads.clear()
    emb = FakeEmbedder()
    report = build_index(corpus, index_dir, emb, **PARAMS)
    after = Index.load(index_dir, emb.id)

    assert sorted(reads) == sorted(DOCS)  # every file read again under the new version
    assert report.written and not report.rebuilt
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 1, 0, 2)
    assert emb.embedded == _embedded_for(after, "b_xylofutur.md")
    assert (report.embedded_chunks, report.embedded_sentences) == (
        len(after.chunk_ids("b_xylofutur.md")),
        sum(s.source == "b_xylofutur.md" for s in after.sentences),
    )
    assert "180 adhérents" in after.document("b_xylofutur.md").text
    for source in ("a_medicen.md", "c_aqua.md"):
        assert _vectors(after, source) == _vectors(before, source)
        assert after.document(source).text == before.document(source).text
    # The new fingerprints are recorded, in the manifest and in the stored documents (citations
    # and document links compare them with the files): the next build reads nothing.
    for entry in after.manifest.documents:
        now = file_fingerprint(corpus, corpus / entry.source)
        assert entry.fingerprint == now != old_fingerprints[entry.source]
        assert after.info(entry.source).content_hash == now
        assert entry.content_hash == content_hash(after.document(entry.source))
    assert index_status(corpus, index_dir, emb.id) == "current"
    reads.clear()
    again = build_index(corpus, index_dir, emb, **PARAMS)
    assert not again.written and again.unchanged == 3 and reads == []
    assert len(emb.embedded) == report.embedded_chunks + report.embedded_sentences


def test_a_document_whose_extraction_the_new_version_changes_is_re_embedded(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old reader lost a_medicen.md's date (as version 2 did behind « Date\\u200b: »): the
    file did not change, its extraction did, so it is embedded again with its date."""
    index_dir, real_clean = tmp_path / "index", ingest.clean_extracted

    def old_reader(extracted: Extracted) -> Extracted:
        cleaned = real_clean(extracted)
        return replace(cleaned, date=None) if "Medicen" in cleaned.text else cleaned

    with monkeypatch.context() as patch:
        patch.setattr(ingest, "clean_extracted", old_reader)  # read_document's global
        _build_under_old_version(monkeypatch, corpus, index_dir, FakeEmbedder())
    before = Index.load(index_dir)
    assert before.info("a_medicen.md").date is None
    emb = FakeEmbedder()
    report = build_index(corpus, index_dir, emb, **PARAMS)
    after = Index.load(index_dir, emb.id)

    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 1, 0, 2)
    assert after.info("a_medicen.md").date == "2016-10-01"
    assert emb.embedded == _embedded_for(after, "a_medicen.md")
    for source in ("b_xylofutur.md", "c_aqua.md"):
        assert _vectors(after, source) == _vectors(before, source)


def _hash_with_fingerprint(doc: Document) -> str:
    """build_plan.content_hash as it was when it covered info.content_hash (INGEST_VERSION 2)."""
    info = doc.info
    meta = [info.source, info.title, info.date, info.organisation, info.url, info.format]
    meta += [info.content_hash, doc.body_start, [[p.page, p.start, p.end] for p in doc.pages]]
    h = hashlib.sha256(json.dumps(meta, ensure_ascii=False).encode("utf-8") + b"\0")
    h.update(doc.text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def test_an_index_whose_manifest_hashed_the_fingerprint_is_reused(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexes written before this hash left the fingerprint out keep their vectors too."""
    index_dir = tmp_path / "index"
    _build_under_old_version(monkeypatch, corpus, index_dir, FakeEmbedder())
    before = Index.load(index_dir)
    manifest = store.read_current(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in data["documents"]:
        entry["content_hash"] = _hash_with_fingerprint(before.document(entry["source"]))
    assert data["documents"][0]["content_hash"] != before.manifest.documents[0].content_hash
    manifest.write_text(json.dumps(data), encoding="utf-8")  # not among the checksummed files
    emb = FakeEmbedder()
    report = build_index(corpus, index_dir, emb, **PARAMS)
    assert report.written and (report.changed, report.unchanged) == (0, 3)
    assert emb.embedded == [] and report.embedded_chunks == report.embedded_sentences == 0
    after = Index.load(index_dir, emb.id)
    assert np.asarray(after.chunk_vectors).tobytes() == np.asarray(before.chunk_vectors).tobytes()
    assert after.sentence_vectors.tobytes() == before.sentence_vectors.tobytes()


class CountingEmbedder:
    """The real model, counting the passages it is asked to embed."""

    def __init__(self) -> None:
        self.inner = real_embedder()
        self.embedded: list[str] = []

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def describe(self) -> dict:
        return self.inner.describe()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str], progress: object = None) -> np.ndarray:
        self.embedded += list(texts)
        return self.inner.embed_passages(texts, progress=progress)


@pytest.mark.slow
def test_with_the_real_model_a_version_bump_embeds_nothing_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingEmbedder()
    corpus, index_dir = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    _build_under_old_version(monkeypatch, corpus, index_dir, counting)
    before = Index.load(index_dir, counting.id)
    assert len(counting.embedded) == len(before.chunks) + len(before.sentences) > 3
    assert index_status(corpus, index_dir, counting.id) == "stale"
    counting.embedded.clear()
    report = build_index(corpus, index_dir, counting, **PARAMS)
    after = Index.load(index_dir, counting.id)
    assert counting.embedded == [] and report.written
    assert (report.embedded_chunks, report.embedded_sentences, report.unchanged) == (0, 0, 3)
    assert after.manifest.dim == 384
    assert np.asarray(after.chunk_vectors).tobytes() == np.asarray(before.chunk_vectors).tobytes()
    assert after.sentence_vectors.tobytes() == before.sentence_vectors.tobytes()
    assert index_status(corpus, index_dir, counting.id) == "current"
