"""Build the index incrementally into a new generation and switch to it atomically."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from poleqa.config import MAX_DOCUMENT_CHARS
from poleqa.errors import (
    CorpusError,
    IndexCorruptedError,
    IndexError_,
    IndexMismatchError,
    IndexMissingError,
)
from poleqa.index import store
from poleqa.index.build_plan import (
    BuildParams,
    BuildPlan,
    CorpusFiles,
    chunk_corpus,
    content_hash,
    make_plan,
    passage_text,
    read_corpus,
    scan_corpus,
    split_document_sentences,
)
from poleqa.index.build_steps import Vectors, compute_vectors, write_generation, write_planned
from poleqa.index.loader import checked_index, read_manifest
from poleqa.index.manifest import Manifest
from poleqa.index.origin import check_corpus, replace_command, same_corpus
from poleqa.index.previous import load_previous, reusable
from poleqa.index.skips import Skips
from poleqa.ingest import list_corpus
from poleqa.roles import Embedder
from poleqa.types import DocumentNote, Skipped

# Also re-exported: the helpers this module held before the build was split into steps.
__all__ = [
    "BuildParams",
    "BuildReport",
    "CorpusChanges",
    "build_index",
    "content_hash",
    "corpus_changes",
    "index_status",
    "passage_text",
    "recorded_chunking",
    "split_document_sentences",
    "write_generation",
]


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
    sentence_vectors: bool = True  # whether the index holds a vector per sentence
    # Documents indexed with something to fix (a date in their header that is not one), said
    # by the build that reads them: those it reuses unread were said when they were read.
    notes: tuple[DocumentNote, ...] = ()
    # Why the index there could not be read as it was (damaged, another model): built anew.
    started_over: str | None = None


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    chunk_size: int,
    chunk_overlap: int,
    flat_max_vectors: int,
    progress: bool = False,
    max_document_chars: int = MAX_DOCUMENT_CHARS,
    sentence_vectors: bool = True,
    replace: bool = False,
) -> BuildReport:
    """Index `corpus_dir` into `index_dir`, reusing the vectors of unchanged documents.

    `sentence_vectors`: also embed every sentence (both readers read them;
    `Settings.sentence_vectors`). Switching it adds them to, or drops them from, the current
    index without embedding the chunks again.

    The new index is written to a new generation folder and made current by an atomic rename of
    the CURRENT pointer: an interrupted build leaves the previous index intact. Documents longer
    than `max_document_chars` characters are skipped. A read-only `index_dir` that is up to date
    is left as it is; one that needs writing raises IndexReadOnlyError before any embedding.
    An index read from another corpus folder is left as it is too (IndexOtherCorpusError,
    before any embedding) unless `replace`.
    """
    t0 = time.perf_counter()
    params = BuildParams(
        corpus_dir=Path(corpus_dir),
        index_dir=Path(index_dir),
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        flat_max_vectors=flat_max_vectors,
        progress=progress,
        max_document_chars=max_document_chars,
        sentence_vectors=sentence_vectors,
        replace=replace,
    )
    _refuse_index_in_corpus(params.index_dir, params.corpus_dir)
    files, unreadable = scan_corpus(params.corpus_dir)  # before touching the index folder
    store.make_index_dir(params.index_dir)
    try:
        if not store.writable(params.index_dir):
            # Nothing can be written here, so no other build can run here: read without the lock.
            return _build(params, embedder, files, unreadable, t0, read_only=True)
        with store.build_lock(params.index_dir):
            return _build(params, embedder, files, unreadable, t0, read_only=False)
    except OSError as e:  # whatever else the system refused: said, and the index kept
        raise store.write_error(params.index_dir, e) from e


def _refuse_index_in_corpus(index_dir: Path, corpus_dir: Path) -> None:
    """CorpusError if the corpus walk would read the index (its README.md a document, its
    other files « unsupported » at every build); a hidden folder (« .index ») is not walked."""
    index, corpus = index_dir.resolve(), corpus_dir.resolve()
    if not index.is_relative_to(corpus):
        return
    if any(part.startswith(".") for part in index.relative_to(corpus).parts):
        return
    raise CorpusError(
        f"The index folder {index_dir} is inside the corpus folder {corpus_dir}: its files "
        "would be read as documents. Choose an index folder outside the corpus.",
        f"Le dossier de l'index ({index_dir}) est dans le dossier des documents "
        f"({corpus_dir}) : ses fichiers seraient lus comme des documents. Choisissez un "
        "dossier d'index hors du corpus.",
    )


def _build(
    params: BuildParams,
    embedder: Embedder,
    files: CorpusFiles,
    unreadable: list[Skipped],
    t0: float,
    read_only: bool,
) -> BuildReport:
    """The build, under the index folder's lock unless the folder is read-only: plan, embed,
    write, switch."""
    timings: dict[str, float] = {}
    current = _current_after_cleanup(params.index_dir, clean=not read_only)
    if not read_only:
        store.check_pointer(params.index_dir)  # before the embedding, the long part
    chunking = (params.chunk_size, params.chunk_overlap)
    prev, unusable = load_previous(params.index_dir, chunking, embedder.id)
    skips = Skips(reported=list(unreadable))  # reported, not remembered: they are not indexable

    same = prev is None or same_corpus(prev.manifest, params.corpus_dir, params.index_dir)
    t = time.perf_counter()
    # an indexed version is kept only for this folder's own documents (--replace reads another)
    docs = read_corpus(params, files, skips, prev, keep_indexed=same)
    timings["read"] = time.perf_counter() - t
    t = time.perf_counter()
    docs = chunk_corpus(params, docs, skips, prev)
    timings["chunk"] = time.perf_counter() - t

    plan = make_plan(
        docs, skips, prev, current, params.flat_max_vectors, params.sentence_vectors, same
    )
    if plan.up_to_date:
        return _report(plan, None, timings, t0, unusable)
    if read_only:  # refused before the embedding, the long part
        raise store.read_only_error(params.index_dir, _what_to_write(plan))
    if not params.replace:  # under the lock, before the embedding: nothing written yet
        command = replace_command(params.corpus_dir, params.index_dir)
        check_corpus(params.index_dir, params.corpus_dir, command)
    vectors = compute_vectors(plan, embedder, params.progress)
    timings.update(vectors.timings)
    t = time.perf_counter()
    try:
        write_planned(plan, params, embedder, vectors, t0)
    except OSError as e:  # a full disk; made read-only since the check, or writable in part
        raise store.write_error(params.index_dir, e, _what_to_write(plan)) from e
    timings["write"] = time.perf_counter() - t
    return _report(plan, vectors, timings, t0, unusable)


def _what_to_write(plan: BuildPlan) -> str:
    """What a build would have written, for the read-only error."""
    if plan.prev is None:
        return f"a new index of {len(plan.docs)} documents"
    return (
        f"the updated index ({plan.added} documents added, {plan.changed} changed, "
        f"{plan.removed} removed)"
    )


def _current_after_cleanup(index_dir: Path, clean: bool = True) -> Path | None:
    """The current generation, once the leftovers of interrupted builds are deleted (if
    `clean`: a read-only folder is only read)."""
    try:
        current = store.read_current(index_dir)
        if clean:
            store.remove_stale_generations(index_dir, keep=current)
    except store.PointerError:
        return None  # damaged pointer: delete nothing until a new generation is in place
    return current


def _report(
    plan: BuildPlan,
    vectors: Vectors | None,
    timings: Mapping[str, float],
    t0: float,
    unusable: IndexError_ | None,
) -> BuildReport:
    """The summary of a build; `vectors` is None when the index was already up to date,
    `unusable` why the index there could not be read as it was."""
    return BuildReport(
        documents=len(plan.docs),
        chunks=plan.n_chunks,
        added=plan.added,
        changed=plan.changed,
        removed=plan.removed,
        unchanged=plan.unchanged,
        skipped=plan.skipped,
        seconds=time.perf_counter() - t0,
        index_kind=plan.dense.kind,
        sentences=plan.n_sentences,
        embedded_chunks=vectors.embedded_chunks if vectors is not None else 0,
        embedded_sentences=vectors.embedded_sentences if vectors is not None else 0,
        rebuilt=vectors is not None and plan.prev is None,
        written=vectors is not None,
        timings=timings,
        sentence_vectors=plan.sentence_vectors,
        started_over=None if unusable is None else unusable.message,
        notes=tuple(note for d in plan.docs for note in d.doc.notes),
    )


# -- status ----------------------------------------------------------------------------------


def recorded_chunking(index_dir: Path) -> tuple[int, int] | None:
    """The (chunk_size, chunk_overlap) the index in `index_dir` was built with, None without a
    readable one: `poleqa index` keeps it unless told otherwise."""
    try:
        _, manifest = read_manifest(Path(index_dir))
    except IndexError_:
        return None
    return manifest.chunk_size, manifest.chunk_overlap


def index_status(
    corpus_dir: Path,
    index_dir: Path,
    embedder_id: str,
    chunking: tuple[int, int] | None = None,
    sentence_vectors: bool = False,
) -> str:
    """ "missing" | "corrupted" | "mismatch" | "stale" | "current".

    "stale": the corpus changed, or a build would not reuse the index (other chunking, passage
    template, sentence text or poleqa version: `previous.reusable`). `chunking` is the
    wanted (chunk_size, chunk_overlap); None accepts whatever was built.
    `sentence_vectors` True: an index without them is "stale" (both readers need them);
    False accepts either (unused vectors do no harm; `poleqa index` drops them). An index the
    system refuses to read (permissions) raises IndexError_: rebuilding would not help.
    """
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    try:
        _, manifest = checked_index(index_dir, embedder_id)
    except IndexMissingError:
        return "missing"
    except IndexMismatchError:
        return "mismatch"
    except IndexCorruptedError:
        return "corrupted"
    files, _ = scan_corpus(corpus_dir)
    known = {e.source: e.fingerprint for e in manifest.documents}
    known.update({s.source: s.fingerprint for s in manifest.skipped})
    now = {source: fp for source, (_, fp) in files.items()}
    if not reusable(manifest, chunking):  # a build would not reuse it: it redoes everything
        return "stale"
    if sentence_vectors and not manifest.sentence_vectors:
        return "stale"
    return "current" if known == now else "stale"


@dataclass(frozen=True)
class CorpusChanges:
    """The documents added to and removed from a corpus folder since an index was built."""

    added: int
    removed: int

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def corpus_changes(corpus_dir: Path, manifest: Manifest) -> CorpusChanges:
    """The documents of `corpus_dir` the index of `manifest` does not know, and those it holds
    that are gone, by name (the folder listed, no file read: `ask` pays for no hashing of the
    corpus; `index_status` compares contents)."""
    now = {p.relative_to(corpus_dir).as_posix() for p in list_corpus(corpus_dir).documents}
    indexed = {d.source for d in manifest.documents}
    known = indexed | {s.source for s in manifest.skipped}
    return CorpusChanges(added=len(now - known), removed=len(indexed - now))
