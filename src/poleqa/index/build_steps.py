"""The work of a build once planned: embed what is new, then write and switch to a generation."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from poleqa import __version__
from poleqa.atomic import fsync_dir, write_text_atomic
from poleqa.errors import IndexError_
from poleqa.index import dense, jsonl, store
from poleqa.index.build_plan import BuildParams, BuildPlan, passage_text
from poleqa.index.lexical import BM25_PARAMS, Lexical
from poleqa.index.manifest import (
    FORMAT_VERSION,
    LEXICAL_TEXT,
    LEXICAL_TOKENIZER,
    MANIFEST_NAME,
    PASSAGE_TEMPLATE,
    DocumentEntry,
    Manifest,
    file_entry,
)
from poleqa.index.origin import corpus_record
from poleqa.index.previous import SENTENCE_TEXT
from poleqa.roles import Embedder
from poleqa.sentences import embedding_text
from poleqa.types import Chunk, Document, Sentence

# -- vectors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vectors:
    """The vectors of the new generation, one row per chunk and per sentence (if wanted)."""

    chunks: np.ndarray
    sentences: np.ndarray | None  # None: the generation is built without sentence vectors
    embedded_chunks: int  # rows embedded by this build (the others were reused)
    embedded_sentences: int
    timings: Mapping[str, float] = field(default_factory=dict)  # embed_chunks, embed_sentences


@dataclass
class _ToEmbed:
    """Rows of new or changed documents and their texts, to embed in one batch per kind."""

    chunk_rows: list[int] = field(default_factory=list)
    chunk_texts: list[str] = field(default_factory=list)
    sentence_rows: list[int] = field(default_factory=list)
    sentence_texts: list[str] = field(default_factory=list)


def compute_vectors(plan: BuildPlan, embedder: Embedder, progress: bool) -> Vectors:
    """Copy the vectors of unchanged documents and embed the others (normalised).

    Sentences are embedded only if the plan wants their vectors: all of them when the previous
    generation was built without (the setting switched on), none when it is switched off.
    """
    dim = int(embedder.dim)
    chunk_vectors = np.zeros((plan.n_chunks, dim), dtype=np.float32)
    sentence_vectors = (
        np.zeros((plan.n_sentences, dim), dtype=np.float32) if plan.sentence_vectors else None
    )
    todo = _reuse_vectors(plan, chunk_vectors, sentence_vectors)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    if todo.chunk_texts:
        vecs = _embed(embedder, todo.chunk_texts, "Embedding chunks", progress)
        chunk_vectors[todo.chunk_rows] = _normalised(vecs, len(todo.chunk_texts), dim, "chunk")
    timings["embed_chunks"] = time.perf_counter() - t
    t = time.perf_counter()
    if todo.sentence_texts and sentence_vectors is not None:
        vecs = _embed(embedder, todo.sentence_texts, "Embedding sentences", progress)
        sentence_vectors[todo.sentence_rows] = _normalised(
            vecs, len(todo.sentence_texts), dim, "sentence"
        )
    timings["embed_sentences"] = time.perf_counter() - t
    return Vectors(
        chunks=chunk_vectors,
        sentences=sentence_vectors,
        embedded_chunks=len(todo.chunk_texts),
        embedded_sentences=len(todo.sentence_texts),
        timings=timings,
    )


def _reuse_vectors(
    plan: BuildPlan, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray | None
) -> _ToEmbed:
    """Fill in the rows of unchanged documents; return the rows left to embed."""
    todo = _ToEmbed()
    prev = plan.prev
    row_s = 0
    for d in plan.docs:
        first = d.chunks[0].id
        rows = range(row_s, row_s + len(d.sentences))
        row_s += len(d.sentences)
        if d.status == "unchanged" and prev is not None:
            chunk_vectors[first : first + len(d.chunks)] = prev.chunk_vectors[d.old_chunk_ids]
        else:
            todo.chunk_rows += [c.id for c in d.chunks]
            todo.chunk_texts += [passage_text(d.doc, c) for c in d.chunks]
        if sentence_vectors is None or not rows:
            continue
        if d.status == "unchanged" and prev is not None and prev.sentence_vectors is not None:
            sentence_vectors[rows.start : rows.stop] = prev.sentence_vectors[d.old_sentence_ids]
        else:  # new or changed, or the previous generation has no sentence vectors
            todo.sentence_rows += list(rows)
            todo.sentence_texts += [embedding_text(d.doc, s, e) for s, e in d.sentences]
    return todo


def _embed(embedder: Embedder, texts: Sequence[str], desc: str, progress: bool) -> np.ndarray:
    with tqdm(
        total=len(texts), desc=desc, unit="text", file=sys.stderr, disable=not progress
    ) as bar:
        return embedder.embed_passages(texts, progress=bar.update)


def _normalised(vectors: np.ndarray, n: int, dim: int, what: str) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    if v.shape != (n, dim):
        raise IndexError_(
            f"The embedder returned {what} vectors of shape {v.shape}, expected {(n, dim)}."
        )
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.where(norms > 0, norms, 1.0), dtype=np.float32)


# -- the new generation ------------------------------------------------------------------------


def write_planned(
    plan: BuildPlan, params: BuildParams, embedder: Embedder, vectors: Vectors, t0: float
) -> None:
    """Write the planned generation, make it current, and delete the older ones."""
    all_chunks = [c for d in plan.docs for c in d.chunks]
    sentences: list[Sentence] = []
    for d in plan.docs:
        for s, e in d.sentences:
            sentences.append(Sentence(len(sentences), d.doc.source, s, e))
    lexical_texts = [passage_text(d.doc, c) for d in plan.docs for c in d.chunks]
    manifest = _manifest(plan, params, embedder, build_seconds=time.perf_counter() - t0)
    gen = write_generation(
        params.index_dir,
        manifest,
        [d.doc for d in plan.docs],
        all_chunks,
        sentences,
        vectors.chunks,
        vectors.sentences,
        lexical_texts,
    )
    store.switch_current(params.index_dir, gen)
    store.remove_stale_generations(params.index_dir, keep=gen)


def _manifest(
    plan: BuildPlan, params: BuildParams, embedder: Embedder, build_seconds: float
) -> Manifest:
    """The manifest of the planned generation, without its file checksums (added on writing)."""
    entries = tuple(
        DocumentEntry(d.doc.source, d.fingerprint, d.content_hash, len(d.chunks), len(d.sentences))
        for d in plan.docs
    )
    corpus_dir, corpus_from_index = corpus_record(params.corpus_dir, params.index_dir)
    return Manifest(
        format_version=FORMAT_VERSION,
        poleqa_version=__version__,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        embedder=_describe(embedder),
        chunk_size=params.chunk_size,
        chunk_overlap=params.chunk_overlap,
        passage_template=PASSAGE_TEMPLATE,
        sentence_text=SENTENCE_TEXT,
        dense=plan.dense,
        lexical={**BM25_PARAMS, "text": LEXICAL_TEXT, "tokenizer": LEXICAL_TOKENIZER},
        n_documents=len(plan.docs),
        n_chunks=plan.n_chunks,
        n_sentences=plan.n_sentences,
        build_seconds=round(build_seconds, 3),  # up to the writing of the files
        sentence_vectors=plan.sentence_vectors,
        corpus_dir=corpus_dir,
        corpus_from_index=corpus_from_index,
        documents=entries,
        skipped=plan.skipped_entries,
    )


def _describe(embedder: Embedder) -> dict[str, Any]:
    describe = getattr(embedder, "describe", None)
    info = dict(describe()) if callable(describe) else {}
    info = json.loads(json.dumps(info, default=str))  # paths and the like, as strings
    info["id"] = embedder.id
    info["dim"] = int(embedder.dim)
    return info


def write_generation(
    index_dir: Path,
    manifest: Manifest,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    sentences: Sequence[Sentence],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray | None,
    lexical_texts: Sequence[str],
) -> Path:
    """Write every file into `<name>.partial`, the manifest last, then rename it to `<name>`.

    `sentence_vectors` None: no sentence_vectors.npy (the manifest must say so).
    """
    if (sentence_vectors is not None) != manifest.sentence_vectors:
        raise IndexError_("the manifest and the sentence vectors given disagree")
    name = store.new_generation_name()
    partial = index_dir / (name + store.PARTIAL_SUFFIX)
    final = index_dir / name
    partial.mkdir()
    try:
        jsonl.write_documents(partial / store.DOCUMENTS, documents)
        jsonl.write_chunks(partial / store.CHUNKS, chunks)
        jsonl.write_sentences(partial / store.SENTENCES, sentences)
        _save_npy(partial / store.CHUNK_VECTORS, chunk_vectors)
        if sentence_vectors is not None:
            _save_npy(partial / store.SENTENCE_VECTORS, sentence_vectors)
        dense.save(dense.build(chunk_vectors, manifest.dense), partial / store.DENSE)
        Lexical.build(lexical_texts).save(partial / store.BM25_DIR)
        store.fsync_tree(partial)  # what the checksums describe is on the disk
        files = {
            p.relative_to(partial).as_posix(): file_entry(p)
            for p in sorted(partial.rglob("*"))
            if p.is_file()
        }
        _write_manifest(partial, replace(manifest, files=files))
        fsync_dir(partial)
        os.rename(partial, final)
        fsync_dir(index_dir)  # the rename is on the disk before CURRENT names `final`
    except BaseException:
        # Ctrl-C or a failure: the current index stays as it was; drop the half-written folder.
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    write_text_atomic(folder / MANIFEST_NAME, manifest.to_json())  # complete or absent


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as f:
        np.save(f, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
