"""The index already built, as a build reuses it: its rows and vectors, when they still fit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poleqa import __version__
from poleqa.errors import IndexError_, IndexMissingError
from poleqa.index import jsonl, store
from poleqa.index.loader import checked_index
from poleqa.index.manifest import PASSAGE_TEMPLATE, DocumentEntry, Manifest
from poleqa.types import Chunk, Document

# Recorded in the manifest: sentence vectors are reused only if they were embedded the same way.
# Changed when what `embedding_text` gives changes: an index embedded otherwise is rebuilt. 2:
# table rows of more than two columns read with their column names (they never were).
SENTENCE_TEXT = "poleqa.sentences.embedding_text 2"


@dataclass
class Previous:
    """The current generation, loaded because this build can reuse its rows and vectors."""

    manifest: Manifest
    documents: dict[str, Document]
    entries: dict[str, DocumentEntry]
    chunk_rows: dict[str, list[Chunk]]  # chunks of each document (old ids)
    sentence_rows: dict[str, list[tuple[int, int, int]]]  # (old id, start, end)
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray | None  # None when that generation was built without them


def reusable(manifest: Manifest, chunking: tuple[int, int] | None) -> bool:
    """Whether a build may reuse the rows and vectors of the generation of `manifest`: same
    chunking (None: any), passage template, sentence text and poleqa version (whose chunker
    and sentence splitter cut the rows). The one test of the builder and of `index_status`."""
    return (
        (chunking is None or chunking == (manifest.chunk_size, manifest.chunk_overlap))
        and manifest.passage_template == PASSAGE_TEMPLATE
        and manifest.sentence_text == SENTENCE_TEXT
        and manifest.poleqa_version == __version__
    )


def load_previous(
    index_dir: Path, chunking: tuple[int, int], embedder_id: str
) -> tuple[Previous | None, IndexError_ | None]:
    """The current generation if its vectors can be reused by a build with `chunking`, else
    None; and why an index there cannot be read as it is (damaged, another model or format),
    for the build to say that it starts over (None: none there, or readable)."""
    try:
        gen, manifest = checked_index(index_dir, embedder_id)
    except IndexMissingError:
        return None, None
    except IndexError_ as e:
        return None, e  # build from scratch
    if not reusable(manifest, chunking):
        return None, None
    try:
        docs = {d.source: d for d in jsonl.read_documents(gen / store.DOCUMENTS)}
        chunks = jsonl.read_chunks(gen / store.CHUNKS, docs)
        sentences = jsonl.read_sentences(gen / store.SENTENCES)
        chunk_vectors = np.load(gen / store.CHUNK_VECTORS, mmap_mode="r", allow_pickle=False)
        sentence_vectors = (
            np.load(gen / store.SENTENCE_VECTORS, mmap_mode="r", allow_pickle=False)
            if manifest.sentence_vectors
            else None
        )
    except Exception:  # unreadable despite matching checksums: do not reuse anything
        return None, None
    chunk_rows: dict[str, list[Chunk]] = {}
    for c in chunks:
        chunk_rows.setdefault(c.source, []).append(c)
    sentence_rows: dict[str, list[tuple[int, int, int]]] = {}
    for s in sentences:
        sentence_rows.setdefault(s.source, []).append((s.id, s.start, s.end))
    previous = Previous(
        manifest=manifest,
        documents=docs,
        entries={e.source: e for e in manifest.documents},
        chunk_rows=chunk_rows,
        sentence_rows=sentence_rows,
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
    )
    return previous, None
