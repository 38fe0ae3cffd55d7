"""The index manifest (manifest.json): what was built, from what, with which model; checksums."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Bump when the on-disk layout or the meaning of a stored file changes: older indexes are refused.
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"

# What is embedded for a chunk: the document title, a blank line, then the chunk text.
PASSAGE_TEMPLATE = "title\\n\\ntext"
# What BM25 indexes for a chunk (same text: a title word matches every chunk of its document).
LEXICAL_TEXT = "title\\n\\ntext"
LEXICAL_TOKENIZER = "poleqa.text.stems (Snowball french, accents folded, elisions, stop words)"


@dataclass(frozen=True)
class FileEntry:
    """A file of the index generation: its sha256 and size, checked on load."""

    sha256: str
    size: int


@dataclass(frozen=True)
class DocumentEntry:
    """One indexed document: how to tell whether it changed, and what it contributed."""

    source: str
    fingerprint: str  # poleqa.ingest.file_fingerprint of the file when it was read
    content_hash: str  # sha256 of the extracted text, body start, pages and metadata
    chunks: int
    sentences: int


@dataclass(frozen=True)
class SkippedEntry:
    """A corpus file that could not be read at build time (kept so `status` sees no change)."""

    source: str
    fingerprint: str
    reason: str


@dataclass(frozen=True)
class DenseParams:
    """The FAISS index: exact inner product (flat) or HNSW above `flat_max_vectors` vectors."""

    kind: str  # "flat" | "hnsw"
    metric: str = "inner_product"
    flat_max_vectors: int = 50_000
    hnsw_m: int | None = None
    ef_construction: int | None = None
    ef_search: int | None = None


@dataclass(frozen=True)
class Manifest:
    """Mirror of manifest.json."""

    format_version: int
    poleqa_version: str
    created: str  # ISO 8601 UTC
    embedder: Mapping[str, Any]  # Embedder.describe(): id, dim, backend, weights hash…
    chunk_size: int
    chunk_overlap: int
    passage_template: str
    sentence_text: str  # "poleqa.sentences.embedding_text" or "sentence"
    dense: DenseParams
    lexical: Mapping[str, Any]
    n_documents: int
    n_chunks: int
    n_sentences: int
    build_seconds: float
    # Whether every sentence was embedded (sentence_vectors.npy): both readers read them; an
    # index without them serves search only. Manifests written before this field had them.
    sentence_vectors: bool = True
    documents: tuple[DocumentEntry, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    files: Mapping[str, FileEntry] = field(default_factory=dict)

    @property
    def embedder_id(self) -> str:
        return str(self.embedder.get("id", ""))

    @property
    def dim(self) -> int:
        return int(self.embedder.get("dim", 0))

    def to_json(self) -> str:
        data = asdict(self)
        data["embedder"] = dict(self.embedder)
        data["lexical"] = dict(self.lexical)
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse manifest.json; raises ValueError/KeyError/TypeError when it is malformed."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("manifest is not a JSON object")
        return cls(
            format_version=int(data["format_version"]),
            poleqa_version=str(data["poleqa_version"]),
            created=str(data["created"]),
            embedder=dict(data["embedder"]),
            chunk_size=int(data["chunk_size"]),
            chunk_overlap=int(data["chunk_overlap"]),
            passage_template=str(data["passage_template"]),
            sentence_text=str(data["sentence_text"]),
            dense=DenseParams(**data["dense"]),
            lexical=dict(data["lexical"]),
            n_documents=int(data["n_documents"]),
            n_chunks=int(data["n_chunks"]),
            n_sentences=int(data["n_sentences"]),
            build_seconds=float(data["build_seconds"]),
            sentence_vectors=_flag(data.get("sentence_vectors", True), "sentence_vectors"),
            documents=tuple(DocumentEntry(**d) for d in data["documents"]),
            skipped=tuple(SkippedEntry(**s) for s in data["skipped"]),
            files={name: FileEntry(**f) for name, f in data["files"].items()},
        )


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} is not true or false")
    return value


def read_format_version(text: str) -> int | None:
    """The format version of a manifest even when the rest does not parse (older formats)."""
    try:
        data = json.loads(text)
        return int(data["format_version"]) if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def file_entry(path: Path) -> FileEntry:
    return FileEntry(sha256=sha256_file(path), size=path.stat().st_size)
