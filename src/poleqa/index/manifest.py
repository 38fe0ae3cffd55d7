"""The index manifest (manifest.json): what was built, from what, with which model; checksums."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Bump when the on-disk layout or the meaning of a stored file changes: older indexes are refused.
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DENSE_KINDS = ("flat", "hnsw")

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
    fingerprint: str  # poleqa.ingest.bytes_fingerprint of the bytes the build read
    content_hash: str  # build_plan.content_hash: extracted text, offsets, metadata; no fingerprint
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
    # The corpus folder the documents were read from, resolved, and that folder relative to the
    # resolved index folder (the same corpus when both moved together): `poleqa index` refuses
    # to replace the documents with another folder's (poleqa.index.origin). None in manifests
    # written before these fields: any folder may update such an index, as it could then.
    corpus_dir: str | None = None
    corpus_from_index: str | None = None
    documents: tuple[DocumentEntry, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    files: Mapping[str, FileEntry] = field(default_factory=dict)

    @property
    def embedder_id(self) -> str:
        return str(self.embedder.get("id", ""))

    @property
    def dim(self) -> int:
        return int(self.embedder["dim"])  # checked by from_json

    def to_json(self) -> str:
        data = asdict(self)
        data["embedder"] = dict(self.embedder)
        data["lexical"] = dict(self.lexical)
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse manifest.json; ManifestFormatError (naming the field) when it is malformed."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise ManifestFormatError("it is not valid JSON") from e
        m = _object(data, "the manifest")
        embedder = _object(_get(m, "embedder"), "embedder")
        _text(_get(embedder, "id", "embedder."), "embedder.id")
        _count(_get(embedder, "dim", "embedder."), "embedder.dim", minimum=1)
        return cls(
            format_version=_count(_get(m, "format_version"), "format_version"),
            poleqa_version=_text(_get(m, "poleqa_version"), "poleqa_version"),
            created=_text(_get(m, "created"), "created"),
            embedder=embedder,
            chunk_size=_count(_get(m, "chunk_size"), "chunk_size", minimum=1),
            chunk_overlap=_count(_get(m, "chunk_overlap"), "chunk_overlap"),
            passage_template=_text(_get(m, "passage_template"), "passage_template"),
            sentence_text=_text(_get(m, "sentence_text"), "sentence_text"),
            dense=_dense(_object(_get(m, "dense"), "dense")),
            lexical=_object(_get(m, "lexical"), "lexical"),
            n_documents=_count(_get(m, "n_documents"), "n_documents"),
            n_chunks=_count(_get(m, "n_chunks"), "n_chunks"),
            n_sentences=_count(_get(m, "n_sentences"), "n_sentences"),
            build_seconds=_seconds(_get(m, "build_seconds"), "build_seconds"),
            sentence_vectors=_flag(m.get("sentence_vectors", True), "sentence_vectors"),
            corpus_dir=_optional_text(m.get("corpus_dir"), "corpus_dir"),
            corpus_from_index=_optional_text(m.get("corpus_from_index"), "corpus_from_index"),
            documents=tuple(
                _document(_object(d, f"documents[{i}]"), f"documents[{i}]")
                for i, d in enumerate(_list(_get(m, "documents"), "documents"))
            ),
            skipped=tuple(
                _skipped(_object(d, f"skipped[{i}]"), f"skipped[{i}]")
                for i, d in enumerate(_list(_get(m, "skipped"), "skipped"))
            ),
            files={
                _file_name(name): _file(_object(f, f"files[{name!r}]"), f"files[{name!r}]")
                for name, f in _object(_get(m, "files"), "files").items()
            },
        )


class ManifestFormatError(ValueError):
    """manifest.json is not JSON, or a field is missing or of the wrong type (named)."""


# Each check returns the value, typed, or raises ManifestFormatError naming the field: a
# manifest edited by hand must give an index error, never AttributeError or OverflowError.


def _get(data: Mapping[str, Any], key: str, where: str = "") -> Any:
    if key not in data:
        raise ManifestFormatError(f"{where}{key} is missing")
    return data[key]


def _object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestFormatError(f"{name} is not a JSON object")
    return value


def _list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ManifestFormatError(f"{name} is not a list")
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ManifestFormatError(f"{name} is not a string")
    return value


def _optional_text(value: object, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _count(value: object, name: str, minimum: int = 0) -> int:
    # bool is an int in Python, not in a manifest; floats (1e999 included) are refused too.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ManifestFormatError(f"{name} is not a whole number of at least {minimum}")
    return value


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise ManifestFormatError(f"{name} is not a number of seconds")
    return float(value)


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ManifestFormatError(f"{name} is not true or false")
    return value


def _dense(d: dict[str, Any]) -> DenseParams:
    kind = _get(d, "kind", "dense.")
    if kind not in DENSE_KINDS:
        raise ManifestFormatError(f"dense.kind is not one of {', '.join(DENSE_KINDS)}")

    def optional(key: str) -> int | None:
        value = d.get(key)
        return None if value is None else _count(value, f"dense.{key}", minimum=1)

    return DenseParams(
        kind=kind,
        metric=_text(d.get("metric", "inner_product"), "dense.metric"),
        flat_max_vectors=_count(d.get("flat_max_vectors", 50_000), "dense.flat_max_vectors"),
        hnsw_m=optional("hnsw_m"),
        ef_construction=optional("ef_construction"),
        ef_search=optional("ef_search"),
    )


def _document(d: dict[str, Any], name: str) -> DocumentEntry:
    where = name + "."
    return DocumentEntry(
        source=_text(_get(d, "source", where), where + "source"),
        fingerprint=_text(_get(d, "fingerprint", where), where + "fingerprint"),
        content_hash=_text(_get(d, "content_hash", where), where + "content_hash"),
        chunks=_count(_get(d, "chunks", where), where + "chunks"),
        sentences=_count(_get(d, "sentences", where), where + "sentences"),
    )


def _skipped(d: dict[str, Any], name: str) -> SkippedEntry:
    where = name + "."
    return SkippedEntry(
        source=_text(_get(d, "source", where), where + "source"),
        fingerprint=_text(_get(d, "fingerprint", where), where + "fingerprint"),
        reason=_text(_get(d, "reason", where), where + "reason"),
    )


def _file_name(name: str) -> str:
    """A name relative to the generation folder: nothing absolute, no `..` climbing out."""
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise ManifestFormatError(f"files names {name[:80]!r}, which is not a file of the index")
    return name


def _file(d: dict[str, Any], name: str) -> FileEntry:
    where = name + "."
    return FileEntry(
        sha256=_text(_get(d, "sha256", where), where + "sha256"),
        size=_count(_get(d, "size", where), where + "size"),
    )


def read_format_version(text: str) -> int | None:
    """The format version of a manifest even when the rest does not parse (older formats)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    version = data.get("format_version") if isinstance(data, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def file_entry(path: Path) -> FileEntry:
    return FileEntry(sha256=sha256_file(path), size=path.stat().st_size)
