"""Build the index incrementally into a new generation and switch to it atomically."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from poleqa import __version__
from poleqa.errors import CorpusError, IndexError_, IngestError
from poleqa.index import dense, store
from poleqa.index.lexical import BM25_PARAMS, Lexical
from poleqa.index.loader import check_embedder, read_manifest, verify_files
from poleqa.index.manifest import (
    FORMAT_VERSION,
    LEXICAL_TEXT,
    LEXICAL_TOKENIZER,
    MANIFEST_NAME,
    PASSAGE_TEMPLATE,
    DocumentEntry,
    Manifest,
    SkippedEntry,
    file_entry,
)
from poleqa.roles import Embedder
from poleqa.types import Chunk, Document, Sentence, Skipped


@dataclass(frozen=True)
class BuildReport:
    """What a build did; `skipped` lists the files that could not be read, with the reason."""

    documents: int
    chunks: int
    added: int
    changed: int
    removed: int
    unchanged: int
    skipped: tuple[Skipped, ...]
    seconds: float
    index_kind: str  # "flat" | "hnsw"
    sentences: int = 0
    embedded_chunks: int = 0  # chunks embedded by this build (the others were reused)
    embedded_sentences: int = 0
    rebuilt: bool = False  # True when nothing could be reused (new index, other model or chunking)
    written: bool = True  # False when the index was already up to date
    timings: Mapping[str, float] = field(default_factory=dict)  # seconds per step


# -- what is embedded ------------------------------------------------------------------------


def passage_text(doc: Document, chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk (PASSAGE_TEMPLATE): title, blank line, text."""
    title = doc.info.title.strip()
    return f"{title}\n\n{chunk.text}" if title else chunk.text


def _sentence_text_fn() -> tuple[str, Callable[[Document, int, int], str]]:
    from poleqa import sentences

    fn = getattr(sentences, "embedding_text", None)
    if fn is not None:
        return "poleqa.sentences.embedding_text", fn
    return "sentence", lambda doc, s, e: doc.text[s:e]


def split_document_sentences(doc: Document) -> list[tuple[int, int]]:
    from poleqa.sentences import split_sentences

    return split_sentences(doc.text, doc.body_start)


def content_hash(doc: Document) -> str:
    """sha256 of everything the index keeps about a document (text, body start, pages, info)."""
    h = hashlib.sha256()
    info = doc.info
    meta = [info.source, info.title, info.date, info.organisation, info.url, info.format]
    meta += [info.content_hash, doc.body_start, [[p.page, p.start, p.end] for p in doc.pages]]
    h.update(json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    h.update(b"\0")
    h.update(doc.text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _describe(embedder: Embedder) -> dict[str, Any]:
    describe = getattr(embedder, "describe", None)
    info = dict(describe()) if callable(describe) else {}
    info = json.loads(json.dumps(info, default=str))  # paths and the like, as strings
    info["id"] = embedder.id
    info["dim"] = int(embedder.dim)
    return info


def _normalised(vectors: np.ndarray, n: int, dim: int, what: str) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    if v.shape != (n, dim):
        raise IndexError_(
            f"The embedder returned {what} vectors of shape {v.shape}, expected {(n, dim)}."
        )
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.where(norms > 0, norms, 1.0), dtype=np.float32)


# -- the corpus, through poleqa.ingest ----------------------------------------------------------


def _scan_corpus(corpus_dir: Path) -> tuple[dict[str, tuple[Path, str]], list[Skipped]]:
    """{source: (path, fingerprint)} of the supported files, and the files left out (why)."""
    from poleqa.ingest import FORMATS, file_fingerprint, iter_corpus_files

    if not corpus_dir.is_dir():
        raise CorpusError(
            f"Corpus folder not found: {corpus_dir}",
            f"Le dossier des documents est introuvable : {corpus_dir}",
        )
    out = {}
    skipped = []
    for path in iter_corpus_files(corpus_dir):
        source = path.relative_to(corpus_dir).as_posix()
        try:
            out[source] = (path, str(file_fingerprint(corpus_dir, path)))
        except IngestError as e:
            skipped.append(Skipped(source, e.message))
    skipped += [
        Skipped(p.relative_to(corpus_dir).as_posix(), f"unsupported file type {p.suffix!r}")
        for p in _unsupported_files(corpus_dir, FORMATS)
    ]
    return dict(sorted(out.items())), skipped


def _unsupported_files(root: Path, formats: Mapping[str, object]) -> list[Path]:
    """Visible files poleqa cannot read (not sidecars, not the root README), to report them."""
    from poleqa.ingest.metadata import is_sidecar

    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if (
            p.is_file()
            and p.suffix.lower() not in formats
            and not any(part.startswith((".", "~$")) for part in rel.parts)
            and not is_sidecar(p)
            and not (len(rel.parts) == 1 and p.name.lower() == "readme.md")
        ):
            out.append(p)
    return sorted(out)


def _read(path: Path, corpus_dir: Path) -> Document:
    from poleqa.ingest import read_document

    return read_document(corpus_dir, path)


# -- the previous generation, for reuse ----------------------------------------------------


@dataclass
class _Previous:
    manifest: Manifest
    documents: dict[str, Document]
    entries: dict[str, DocumentEntry]
    chunk_rows: dict[str, list[Chunk]]  # chunks of each document (old ids)
    sentence_rows: dict[str, list[tuple[int, int, int]]]  # (old id, start, end)
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray


def _load_previous(
    index_dir: Path, embedder_id: str, chunk_size: int, chunk_overlap: int, sentence_text: str
) -> _Previous | None:
    """The current generation if its vectors can be reused by this build, else None."""
    try:
        gen, manifest = read_manifest(index_dir)
        check_embedder(index_dir, manifest, embedder_id)
        verify_files(index_dir, gen, manifest)
    except IndexError_:
        return None  # missing, other model, other format, damaged: build from scratch
    if (
        manifest.chunk_size != chunk_size
        or manifest.chunk_overlap != chunk_overlap
        or manifest.passage_template != PASSAGE_TEMPLATE
        or manifest.sentence_text != sentence_text
        or manifest.poleqa_version != __version__
    ):
        return None
    try:
        docs = {d.source: d for d in store.read_documents(gen / store.DOCUMENTS)}
        chunks = store.read_chunks(gen / store.CHUNKS, docs)
        sentences = store.read_sentences(gen / store.SENTENCES)
        chunk_vectors = np.load(gen / store.CHUNK_VECTORS, mmap_mode="r", allow_pickle=False)
        sentence_vectors = np.load(gen / store.SENTENCE_VECTORS, mmap_mode="r", allow_pickle=False)
    except Exception:  # unreadable despite matching checksums: do not reuse anything
        return None
    chunk_rows: dict[str, list[Chunk]] = {}
    for c in chunks:
        chunk_rows.setdefault(c.source, []).append(c)
    sentence_rows: dict[str, list[tuple[int, int, int]]] = {}
    for s in sentences:
        sentence_rows.setdefault(s.source, []).append((s.id, s.start, s.end))
    return _Previous(
        manifest=manifest,
        documents=docs,
        entries={e.source: e for e in manifest.documents},
        chunk_rows=chunk_rows,
        sentence_rows=sentence_rows,
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
    )


# -- the build -------------------------------------------------------------------------------


@dataclass
class _Doc:
    """A document of the new generation and where its vectors come from."""

    doc: Document
    fingerprint: str
    content_hash: str
    status: str  # added | changed | unchanged
    chunks: list[Chunk] = field(default_factory=list)  # ids are final
    sentences: list[tuple[int, int]] = field(default_factory=list)
    old_chunk_ids: list[int] = field(default_factory=list)  # when reused
    old_sentence_ids: list[int] = field(default_factory=list)


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    chunk_size: int,
    chunk_overlap: int,
    flat_max_vectors: int,
    progress: bool = False,
) -> BuildReport:
    """Index `corpus_dir` into `index_dir`, reusing the vectors of unchanged documents.

    The new index is written to a new generation folder and made current by an atomic rename of
    the CURRENT pointer: an interrupted build leaves the previous index intact.
    """
    t0 = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    files, unreadable = _scan_corpus(corpus_dir)  # before touching the index folder
    index_dir.mkdir(parents=True, exist_ok=True)
    with store.build_lock(index_dir):
        return _build_locked(
            corpus_dir,
            index_dir,
            embedder,
            files,
            unreadable,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            flat_max_vectors=flat_max_vectors,
            progress=progress,
            t0=t0,
        )


def _build_locked(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    files: dict[str, tuple[Path, str]],
    unreadable: list[Skipped],
    *,
    chunk_size: int,
    chunk_overlap: int,
    flat_max_vectors: int,
    progress: bool,
    t0: float,
) -> BuildReport:
    from poleqa.chunking import chunk_document

    timings: dict[str, float] = {}
    try:
        current = store.read_current(index_dir)
        store.remove_stale_generations(index_dir, keep=current)  # leftovers of interrupted builds
    except store.PointerError:
        current = None  # damaged pointer: delete nothing until a new generation is in place
    sentence_kind, sentence_text = _sentence_text_fn()
    prev = _load_previous(index_dir, embedder.id, chunk_size, chunk_overlap, sentence_kind)

    # 1. Read what changed; reuse what did not.
    t = time.perf_counter()
    docs: list[_Doc] = []
    skipped: list[Skipped] = list(unreadable)  # reported, not remembered: they are not indexable
    skipped_entries: list[SkippedEntry] = []
    for source, (path, fingerprint) in files.items():
        entry = prev.entries.get(source) if prev else None
        if prev and entry and entry.fingerprint == fingerprint and source in prev.documents:
            doc = prev.documents[source]
        else:
            try:
                doc = _read(path, corpus_dir)
            except IngestError as e:
                skipped.append(Skipped(source, e.message))
                skipped_entries.append(SkippedEntry(source, fingerprint, e.message))
                continue
        chash = content_hash(doc)
        if prev and entry and entry.content_hash == chash:
            status = "unchanged"
        else:
            status = "changed" if entry else "added"
        docs.append(_Doc(doc, fingerprint, chash, status))
    timings["read"] = time.perf_counter() - t
    if not docs:
        raise CorpusError(
            f"No readable document in {corpus_dir}"
            + (f" ({len(skipped)} files skipped)" if skipped else "")
            + "; the index was not changed."
        )

    # 2. Chunk and split new or changed documents; take the others' rows from the old generation.
    t = time.perf_counter()
    next_chunk = next_sentence = 0
    kept_docs: list[_Doc] = []
    for d in docs:
        if d.status == "unchanged" and prev is not None:
            old = prev.chunk_rows.get(d.doc.source, [])
            d.old_chunk_ids = [c.id for c in old]
            d.chunks = [
                Chunk(next_chunk + i, c.source, c.start, c.end, c.text, c.page)
                for i, c in enumerate(old)
            ]
            rows = prev.sentence_rows.get(d.doc.source, [])
            d.old_sentence_ids = [r[0] for r in rows]
            d.sentences = [(s, e) for _, s, e in rows]
        else:
            d.chunks = chunk_document(d.doc, chunk_size, chunk_overlap, next_chunk)
            d.sentences = split_document_sentences(d.doc)
        if not d.chunks:
            skipped.append(Skipped(d.doc.source, "no text to index"))
            skipped_entries.append(SkippedEntry(d.doc.source, d.fingerprint, "no text to index"))
            continue
        for i, c in enumerate(d.chunks):
            if c.id != next_chunk + i:
                raise IndexError_(f"chunk_document numbered the chunks of {c.source} wrongly")
        next_chunk += len(d.chunks)
        next_sentence += len(d.sentences)
        kept_docs.append(d)
    docs = kept_docs
    if not docs:
        raise CorpusError(f"No document with text to index in {corpus_dir}; index not changed.")
    timings["chunk"] = time.perf_counter() - t

    added = sum(d.status == "added" for d in docs)
    changed = sum(d.status == "changed" for d in docs)
    unchanged = sum(d.status == "unchanged" for d in docs)
    removed = len(set(prev.entries) - {d.doc.source for d in docs}) if prev else 0
    n_chunks, n_sentences = next_chunk, next_sentence
    params = dense.choose_params(n_chunks, flat_max_vectors)
    skipped_t = tuple(sorted(skipped, key=lambda s: s.source))
    skipped_entries.sort(key=lambda s: s.source)

    if (
        prev is not None
        and current is not None
        and added == changed == removed == 0
        and tuple(prev.manifest.skipped) == tuple(skipped_entries)
        and prev.manifest.dense == params
        and [e.fingerprint for e in prev.manifest.documents] == [d.fingerprint for d in docs]
    ):
        return BuildReport(
            documents=len(docs),
            chunks=n_chunks,
            added=0,
            changed=0,
            removed=0,
            unchanged=unchanged,
            skipped=skipped_t,
            seconds=time.perf_counter() - t0,
            index_kind=params.kind,
            sentences=n_sentences,
            written=False,
            timings=timings,
        )

    # 3. Embed what is new.
    dim = int(embedder.dim)
    chunk_vectors = np.zeros((n_chunks, dim), dtype=np.float32)
    sentence_vectors = np.zeros((n_sentences, dim), dtype=np.float32)
    new_chunk_rows: list[int] = []
    new_chunk_texts: list[str] = []
    new_sentence_rows: list[int] = []
    new_sentence_texts: list[str] = []
    row_s = 0
    for d in docs:
        first = d.chunks[0].id
        if d.status == "unchanged" and prev is not None:
            chunk_vectors[first : first + len(d.chunks)] = prev.chunk_vectors[d.old_chunk_ids]
            if d.old_sentence_ids:
                sentence_vectors[row_s : row_s + len(d.sentences)] = prev.sentence_vectors[
                    d.old_sentence_ids
                ]
        else:
            new_chunk_rows += [c.id for c in d.chunks]
            new_chunk_texts += [passage_text(d.doc, c) for c in d.chunks]
            new_sentence_rows += list(range(row_s, row_s + len(d.sentences)))
            new_sentence_texts += [sentence_text(d.doc, s, e) for s, e in d.sentences]
        row_s += len(d.sentences)

    t = time.perf_counter()
    if new_chunk_texts:
        vecs = _embed(embedder, new_chunk_texts, "Embedding chunks", progress)
        chunk_vectors[new_chunk_rows] = _normalised(vecs, len(new_chunk_texts), dim, "chunk")
    timings["embed_chunks"] = time.perf_counter() - t
    t = time.perf_counter()
    if new_sentence_texts:
        vecs = _embed(embedder, new_sentence_texts, "Embedding sentences", progress)
        sentence_vectors[new_sentence_rows] = _normalised(
            vecs, len(new_sentence_texts), dim, "sentence"
        )
    timings["embed_sentences"] = time.perf_counter() - t

    # 4. Write the new generation, then switch to it.
    t = time.perf_counter()
    all_chunks = [c for d in docs for c in d.chunks]
    sentences = []
    for d in docs:
        for s, e in d.sentences:
            sentences.append(Sentence(len(sentences), d.doc.source, s, e))
    lexical_texts = [passage_text(d.doc, c) for d in docs for c in d.chunks]
    entries = tuple(
        DocumentEntry(d.doc.source, d.fingerprint, d.content_hash, len(d.chunks), len(d.sentences))
        for d in docs
    )
    seconds = time.perf_counter() - t0
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        poleqa_version=__version__,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        embedder=_describe(embedder),
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        passage_template=PASSAGE_TEMPLATE,
        sentence_text=sentence_kind,
        dense=params,
        lexical={**BM25_PARAMS, "text": LEXICAL_TEXT, "tokenizer": LEXICAL_TOKENIZER},
        n_documents=len(docs),
        n_chunks=n_chunks,
        n_sentences=len(sentences),
        build_seconds=round(seconds, 3),  # up to the writing of the files
        documents=entries,
        skipped=tuple(skipped_entries),
    )
    gen = write_generation(
        index_dir,
        manifest,
        [d.doc for d in docs],
        all_chunks,
        sentences,
        chunk_vectors,
        sentence_vectors,
        lexical_texts,
    )
    store.switch_current(index_dir, gen)
    store.remove_stale_generations(index_dir, keep=gen)
    timings["write"] = time.perf_counter() - t
    seconds = time.perf_counter() - t0
    return BuildReport(
        documents=len(docs),
        chunks=n_chunks,
        added=added,
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        skipped=skipped_t,
        seconds=seconds,
        index_kind=params.kind,
        sentences=len(sentences),
        embedded_chunks=len(new_chunk_texts),
        embedded_sentences=len(new_sentence_texts),
        rebuilt=prev is None,
        timings=timings,
    )


def _embed(embedder: Embedder, texts: Sequence[str], desc: str, progress: bool) -> np.ndarray:
    from tqdm import tqdm

    with tqdm(
        total=len(texts), desc=desc, unit="text", file=sys.stderr, disable=not progress
    ) as bar:
        return embedder.embed_passages(texts, progress=bar.update)


def write_generation(
    index_dir: Path,
    manifest: Manifest,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    sentences: Sequence[Sentence],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    lexical_texts: Sequence[str],
) -> Path:
    """Write every file into `<name>.partial`, the manifest last, then rename it to `<name>`."""
    name = store.new_generation_name()
    partial = index_dir / (name + store.PARTIAL_SUFFIX)
    final = index_dir / name
    partial.mkdir()
    try:
        store.write_documents(partial / store.DOCUMENTS, documents)
        store.write_chunks(partial / store.CHUNKS, chunks)
        store.write_sentences(partial / store.SENTENCES, sentences)
        _save_npy(partial / store.CHUNK_VECTORS, chunk_vectors)
        _save_npy(partial / store.SENTENCE_VECTORS, sentence_vectors)
        dense.save(dense.build(chunk_vectors, manifest.dense), partial / store.DENSE)
        Lexical.build(lexical_texts).save(partial / store.BM25_DIR)
        files = {
            p.relative_to(partial).as_posix(): file_entry(p)
            for p in sorted(partial.rglob("*"))
            if p.is_file()
        }
        from dataclasses import replace

        manifest = replace(manifest, files=files)
        tmp = partial / (MANIFEST_NAME + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.write(manifest.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, partial / MANIFEST_NAME)
        store.fsync_dir(partial)
        os.rename(partial, final)
    except BaseException:
        # Ctrl-C or a failure: the current index stays as it was; drop the half-written folder.
        import shutil

        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as f:
        np.save(f, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


# -- status ----------------------------------------------------------------------------------


def index_status(
    corpus_dir: Path,
    index_dir: Path,
    embedder_id: str,
    chunking: tuple[int, int] | None = None,
) -> str:
    """ "missing" | "corrupted" | "mismatch" | "stale" (corpus or chunking changed) | "current".

    `chunking` is the wanted (chunk_size, chunk_overlap); None accepts whatever was built.
    """
    from poleqa.errors import IndexCorruptedError, IndexMismatchError, IndexMissingError

    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    try:
        gen, manifest = read_manifest(index_dir)
        check_embedder(index_dir, manifest, embedder_id)
        verify_files(index_dir, gen, manifest)
    except IndexMissingError:
        return "missing"
    except IndexMismatchError:
        return "mismatch"
    except IndexCorruptedError:
        return "corrupted"
    files, _ = _scan_corpus(corpus_dir)
    known = {e.source: e.fingerprint for e in manifest.documents}
    known.update({s.source: s.fingerprint for s in manifest.skipped})
    now = {source: fp for source, (_, fp) in files.items()}
    if chunking is not None and chunking != (manifest.chunk_size, manifest.chunk_overlap):
        return "stale"
    return "current" if known == now else "stale"
