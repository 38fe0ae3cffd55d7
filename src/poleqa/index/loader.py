"""The persisted index, loaded and verified: documents, chunks, sentences, FAISS and BM25."""

from __future__ import annotations

import bisect
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from poleqa.errors import (
    IndexCorruptedError,
    IndexError_,
    IndexMismatchError,
    IndexMissingError,
)
from poleqa.index import dense, jsonl, store
from poleqa.index.lexical import SAVED_FILES, Lexical
from poleqa.index.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    ManifestFormatError,
    read_format_version,
    sha256_file,
)
from poleqa.types import Chunk, Document, DocumentInfo, Sentence


class UnknownDocumentError(IndexError_):
    """A source that is not in the index was asked for."""

    message_fr = "Ce document n'est pas dans l'index."


class SentenceVectorsMissingError(IndexMismatchError):
    """A reader met an index built without sentence vectors (`--no-sentence-vectors`)."""

    message_fr = (
        "L'index a été construit sans les vecteurs de phrases dont la lecture a besoin : "
        "reconstruisez-le avec `poleqa index --sentence-vectors`."
    )


def _current_or_none(index_dir: Path) -> Path | None:
    try:
        return store.read_current(index_dir)
    except store.PointerError:
        return None


def _q(path: Path) -> str:
    """A path as a shell reads it in the commands advised (« mon index » quoted)."""
    return shlex.quote(str(path))


def _rebuild_hint(index_dir: Path) -> str:
    return f"run `poleqa index --index {_q(index_dir)}` to rebuild it"


def read_manifest(index_dir: Path) -> tuple[Path, Manifest]:
    """The current generation folder and its manifest, or the error that says what to run.

    Checks presence, the pointer, the format version; not the embedder nor the files.
    """
    try:
        gen = store.read_current(index_dir)
    except store.PointerUnreadableError as e:
        raise store.read_error(index_dir, e.os_error) from e
    except store.PointerError as e:
        raise IndexCorruptedError(
            f"The index in {index_dir} is damaged ({e}): {_rebuild_hint(index_dir)}."
        ) from e
    if gen is None:
        raise IndexMissingError(
            f"No index in {index_dir}: run `poleqa index --index {_q(index_dir)}` to build it."
        )
    path = gen / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as e:
        raise IndexCorruptedError(
            f"The index in {index_dir} has no readable manifest: {_rebuild_hint(index_dir)}."
        ) from e
    except OSError as e:
        raise store.read_error(index_dir, e) from e
    version = read_format_version(text)
    if version is not None and version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index in {index_dir} has format version {version}, this poleqa reads version "
            f"{FORMAT_VERSION}: {_rebuild_hint(index_dir)}."
        )
    try:
        manifest = Manifest.from_json(text)
    except ManifestFormatError as e:
        raise IndexCorruptedError(
            f"The manifest of the index in {index_dir} is malformed ({e}): "
            f"{_rebuild_hint(index_dir)}."
        ) from e
    return gen, manifest


def check_embedder(index_dir: Path, manifest: Manifest, embedder_id: str | None) -> None:
    if embedder_id is not None and manifest.embedder_id != embedder_id:
        name = manifest.embedder.get("name") or manifest.embedder_id
        raise IndexMismatchError(
            f"The index in {index_dir} was built with the embedding model {name!s} "
            f"({manifest.embedder_id}), not {embedder_id}: run `poleqa index --index "
            f"{_q(index_dir)} --model <the model you ask with>` to rebuild it, or ask with "
            f"--model {name}."
        )


def required_files(manifest: Manifest) -> list[str]:
    """The files a generation of this manifest must hold, so the manifest must list them."""
    names = [store.DOCUMENTS, store.CHUNKS, store.SENTENCES, store.CHUNK_VECTORS, store.DENSE]
    if manifest.sentence_vectors:
        names.append(store.SENTENCE_VECTORS)
    if manifest.n_chunks:
        names += [f"{store.BM25_DIR}/{name}" for name in SAVED_FILES]
    return names


def checked_index(index_dir: Path, embedder_id: str) -> tuple[Path, Manifest]:
    """The current generation of the index in `index_dir` and its manifest, checked: made by
    the model `embedder_id`, every file matching its checksum. IndexError_ (missing, damaged,
    another model or format) otherwise."""
    gen, manifest = read_manifest(index_dir)
    check_embedder(index_dir, manifest, embedder_id)
    verify_files(index_dir, gen, manifest)
    return gen, manifest


def verify_files(index_dir: Path, gen: Path, manifest: Manifest) -> None:
    """Every file the format requires is listed in the manifest; every file listed is there,
    with its size and sha256."""
    if not manifest.files:
        raise IndexCorruptedError(
            f"The manifest of the index in {index_dir} lists no files: {_rebuild_hint(index_dir)}."
        )
    unlisted = [name for name in required_files(manifest) if name not in manifest.files]
    if unlisted:
        raise IndexCorruptedError(
            f"The manifest of the index in {index_dir} does not list {', '.join(unlisted)}: "
            f"{_rebuild_hint(index_dir)}."
        )
    for name, entry in manifest.files.items():
        try:
            problem = _file_problem(gen / name, entry)
        except OSError as e:
            raise store.read_error(index_dir, e) from e
        if problem:
            raise IndexCorruptedError(
                f"The index in {index_dir} is damaged ({name} {problem}): "
                f"{_rebuild_hint(index_dir)}."
            )


def _file_problem(path: Path, entry: FileEntry) -> str | None:
    """What is wrong with the file of the index at `path`, None if it matches `entry`."""
    if not path.is_file():
        return "is missing"
    size = path.stat().st_size
    if size != entry.size:
        return f"has {size} bytes instead of {entry.size}"
    if sha256_file(path) != entry.sha256:
        return "does not match its checksum"
    return None


@dataclass(frozen=True)
class _Span:
    """Sentences of one document: ids [first, first+count), starts sorted for bisection."""

    first: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]


class Index:
    """A read-only view of one index generation, fully in memory (chunk vectors memory-mapped)."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        documents: Mapping[str, Document],
        chunks: Sequence[Chunk],
        sentences: Sequence[Sentence],
        sentence_vectors: np.ndarray | None,
        faiss_index: object,
        lexical: Lexical,
        chunk_vectors: np.ndarray,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.documents: Mapping[str, Document] = MappingProxyType(dict(documents))
        self.chunks: Sequence[Chunk] = tuple(chunks)
        self.sentences: Sequence[Sentence] = tuple(sentences)
        self._sentence_vectors = sentence_vectors
        self.chunk_vectors = chunk_vectors
        self._faiss = faiss_index
        self._lexical = lexical
        self._chunks_by_source: dict[str, list[int]] = {}
        for c in self.chunks:
            self._chunks_by_source.setdefault(c.source, []).append(c.id)
        spans: dict[str, list[Sentence]] = {}
        for s in self.sentences:
            spans.setdefault(s.source, []).append(s)
        self._sentence_spans = {
            src: _Span(ss[0].id, tuple(s.start for s in ss), tuple(s.end for s in ss))
            for src, ss in spans.items()
        }

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, embedder_id: str | None = None) -> Index:
        """Load the current generation in `path`, checking format, embedder and checksums.

        A build may swap generations while we read: if our generation vanished, read the new one.
        """
        path = Path(path)
        for attempt in range(3):
            before = _current_or_none(path)
            try:
                gen, manifest = read_manifest(path)
                check_embedder(path, manifest, embedder_id)
                return cls._load_generation(path, gen, manifest)
            except (FileNotFoundError, IndexCorruptedError) as e:
                if attempt < 2 and _current_or_none(path) != before:
                    continue  # swapped under our feet: read the new generation
                if isinstance(e, FileNotFoundError):  # deleted between the checks and the read
                    raise IndexCorruptedError(
                        f"The index in {path} is damaged ({e.filename or 'a file'} is missing): "
                        f"{_rebuild_hint(path)}."
                    ) from e
                raise
        raise AssertionError("unreachable")

    @classmethod
    def _load_generation(cls, index_dir: Path, gen: Path, manifest: Manifest) -> Index:
        verify_files(index_dir, gen, manifest)
        try:
            docs = jsonl.read_documents(gen / store.DOCUMENTS)
            by_source = {d.source: d for d in docs}
            chunks = jsonl.read_chunks(gen / store.CHUNKS, by_source)
            sentences = jsonl.read_sentences(gen / store.SENTENCES)
            sentence_vectors = (
                np.load(gen / store.SENTENCE_VECTORS, allow_pickle=False)
                if manifest.sentence_vectors
                else None
            )
            chunk_vectors = np.load(gen / store.CHUNK_VECTORS, mmap_mode="r", allow_pickle=False)
            faiss_index = dense.load(gen / store.DENSE, manifest.dense)
            lexical = Lexical.load(gen / store.BM25_DIR, len(chunks))
        except FileNotFoundError:
            raise
        except OSError as e:  # permissions, the disk: not the index's fault
            raise store.read_error(index_dir, e) from e
        except Exception as e:  # a parse error in a file whose checksum matched: a poleqa bug
            raise IndexCorruptedError(
                f"The index in {index_dir} cannot be read ({type(e).__name__}: {e}): "
                f"{_rebuild_hint(index_dir)}."
            ) from e
        problems = []
        if len(docs) != manifest.n_documents:
            problems.append("documents")
        if len(chunks) != manifest.n_chunks or faiss_index.ntotal != len(chunks):
            problems.append("chunks")
        if chunk_vectors.shape != (len(chunks), manifest.dim):
            problems.append("chunk vectors")
        if len(sentences) != manifest.n_sentences or (
            sentence_vectors is not None
            and sentence_vectors.shape != (len(sentences), manifest.dim)
        ):
            problems.append("sentences")
        if problems:
            raise IndexCorruptedError(
                f"The index in {index_dir} is inconsistent ({', '.join(problems)}): "
                f"{_rebuild_hint(index_dir)}."
            )
        return cls(
            path=gen,
            manifest=manifest,
            documents=by_source,
            chunks=chunks,
            sentences=sentences,
            sentence_vectors=sentence_vectors,
            faiss_index=faiss_index,
            lexical=lexical,
            chunk_vectors=chunk_vectors,
        )

    # -- documents ---------------------------------------------------------------------------
    def document(self, source: str) -> Document:
        try:
            return self.documents[source]
        except KeyError:
            raise UnknownDocumentError(
                f"No document {source!r} in the index.",
                f"Le document « {source} » n'est pas dans l'index.",
            ) from None

    def info(self, source: str) -> DocumentInfo:
        return self.document(source).info

    def chunk_ids(self, source: str) -> list[int]:
        """Ids of the chunks of one document, in text order."""
        return list(self._chunks_by_source.get(source, ()))

    # -- sentences ---------------------------------------------------------------------------
    @property
    def has_sentence_vectors(self) -> bool:
        """Whether every sentence was embedded (`poleqa index --sentence-vectors`)."""
        return self._sentence_vectors is not None

    @property
    def sentence_vectors(self) -> np.ndarray:
        """One normalised vector per sentence, row = Sentence.id; SentenceVectorsMissingError
        if the index was built without them (`--no-sentence-vectors`)."""
        vectors = self._sentence_vectors
        if vectors is None:
            raise self._no_sentence_vectors()
        return vectors

    def require_sentence_vectors(self) -> None:
        """Raise SentenceVectorsMissingError unless the index holds sentence vectors (what a
        reader checks when it is made, before any question)."""
        if self._sentence_vectors is None:
            raise self._no_sentence_vectors()

    def _no_sentence_vectors(self) -> SentenceVectorsMissingError:
        index_dir = self.path.parent
        return SentenceVectorsMissingError(
            f"The index in {index_dir} was built without sentence vectors, which the readers "
            f"need: rebuild it with `poleqa index --index {_q(index_dir)} --sentence-vectors` "
            "(only the sentences are embedded; the chunks are kept)."
        )

    def sentences_in(self, source: str, start: int, end: int) -> list[Sentence]:
        """Sentences of `source` overlapping [start, end), in text order."""
        span = self._sentence_spans.get(source)
        if span is None or end <= start:
            return []
        # First sentence whose end is after `start` (ends are increasing: sentences don't overlap).
        lo = bisect.bisect_right(span.ends, start)
        hi = bisect.bisect_left(span.starts, end)
        return [self.sentences[span.first + i] for i in range(lo, hi)]

    # -- search ----------------------------------------------------------------------------
    def dense_search(
        self, query_vector: np.ndarray, k: int, ids: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the k chunks nearest the query vector; `ids` restricts them."""
        return dense.search(self._faiss, query_vector, k, ids)

    def lexical_search(
        self, query: str, k: int, ids: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the k best chunks for the query words; `ids` restricts."""
        return self._lexical.search(query, k, ids)

    def __repr__(self) -> str:
        m = self.manifest
        vectors = "" if m.sentence_vectors else " (no vectors)"
        return (
            f"Index({self.path}, {m.n_documents} documents, {m.n_chunks} chunks, "
            f"{m.n_sentences} sentences{vectors}, {m.dense.kind}, {m.embedder_id})"
        )
