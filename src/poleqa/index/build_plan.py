"""What a build must do: the corpus read, what the previous generation lends, the new rows."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from poleqa.chunking import chunk_document
from poleqa.config import MAX_DOCUMENT_CHARS
from poleqa.errors import CorpusError, IndexError_, IngestError
from poleqa.index import dense
from poleqa.index.manifest import (
    DenseParams,
    SkippedEntry,
)
from poleqa.index.previous import Previous
from poleqa.index.skips import (
    Skips,
    copy_of,
    kept_reasons,
    no_readable_document,
    sidecar_only,
    too_long,
)
from poleqa.ingest import (
    bytes_fingerprint,
    file_fingerprint,
    list_corpus,
    read_document,
    read_file_bytes,
    shown_name,
    unsupported_reason,
    unsupported_reason_fr,
)
from poleqa.sentences import split_sentences
from poleqa.types import Chunk, Document, Skipped

# {source: (path, fingerprint)} of the files a build may index, sorted by source.
CorpusFiles = dict[str, tuple[Path, str]]


@dataclass(frozen=True)
class BuildParams:
    """Where a build reads and writes, and the settings that shape the index."""

    corpus_dir: Path
    index_dir: Path
    chunk_size: int
    chunk_overlap: int
    flat_max_vectors: int
    progress: bool = False
    max_document_chars: int = MAX_DOCUMENT_CHARS  # longer documents are skipped
    sentence_vectors: bool = True  # embed every sentence (both readers read them)
    # Whether an index read from another corpus folder may be replaced (`poleqa index
    # --replace`); if not, the build refuses it before embedding (index/origin.py).
    replace: bool = False


# -- what is embedded ------------------------------------------------------------------------


def passage_text(doc: Document, chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk (PASSAGE_TEMPLATE): title, blank line, text."""
    title = doc.info.title.strip()
    return f"{title}\n\n{chunk.text}" if title else chunk.text


def split_document_sentences(doc: Document) -> list[tuple[int, int]]:
    """(start, end) of the sentences of a document's body."""
    return split_sentences(doc.text, doc.body_start)


def content_hash(doc: Document) -> str:
    """sha256 of everything the index embeds and serves of a document (text, body start, pages,
    info) except `info.content_hash`: that bytes fingerprint is salted with INGEST_VERSION, and a
    version bump, which has every file read again, must not re-embed the documents whose
    extraction came out the same (the manifest still records the new fingerprint)."""
    h = hashlib.sha256()
    info = doc.info
    meta = [info.source, info.title, info.date, info.organisation, info.url, info.format]
    meta += [doc.body_start, [[p.page, p.start, p.end] for p in doc.pages]]
    h.update(json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    h.update(b"\0")
    h.update(doc.text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


# -- the corpus, through poleqa.ingest ----------------------------------------------------------


def scan_corpus(corpus_dir: Path) -> tuple[CorpusFiles, list[Skipped]]:
    """{source: (path, fingerprint)} of the supported files, and the files left out (why)."""
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"Corpus folder not found: {corpus_dir}",
            f"Le dossier des documents est introuvable : {corpus_dir}",
        )
    listing = list_corpus(corpus_dir)  # one walk for the documents and what is left out
    out = {}
    skipped = []
    for path in listing.documents:
        source = path.relative_to(corpus_dir).as_posix()
        try:
            out[source] = (path, str(file_fingerprint(corpus_dir, path)))
        except IngestError as e:
            skipped.append(Skipped(shown_name(source), e.message, e.message_fr))
    skipped += [
        Skipped(
            shown_name(p.relative_to(corpus_dir).as_posix()),
            unsupported_reason(p, False),
            unsupported_reason_fr(p),
        )
        for p in listing.unsupported
    ]
    skipped += listing.unused_sidecars  # a misnamed one would silently drop its metadata
    skipped += listing.unreadable_folders  # their documents would drop out without a word
    return dict(sorted(out.items())), skipped


# -- the documents of the new generation -------------------------------------------------------


@dataclass
class PlannedDoc:
    """A document of the new generation and where its vectors come from."""

    doc: Document
    fingerprint: str
    content_hash: str
    status: str  # added | changed | unchanged
    chunks: list[Chunk] = field(default_factory=list)  # ids are final
    sentences: list[tuple[int, int]] = field(default_factory=list)
    old_chunk_ids: list[int] = field(default_factory=list)  # when reused
    old_sentence_ids: list[int] = field(default_factory=list)


def read_corpus(
    params: BuildParams,
    files: CorpusFiles,
    skips: Skips,
    prev: Previous | None,
    keep_indexed: bool = True,
) -> list[PlannedDoc]:
    """Read what changed, take the previous text of what did not, and classify each document.
    Skipped: documents above the size limit (unchanged ones too if it was lowered), copies.
    `keep_indexed`: a document whose metadata no longer reads keeps its indexed version."""
    corpus_dir = params.corpus_dir
    docs: list[PlannedDoc] = []
    first_of: dict[str, str] = {}  # fingerprint → the first source holding it
    for source, (path, scanned) in files.items():
        if scanned in first_of:  # a copy: cited twice, it would crowd the other documents out
            skips.add(source, scanned, *copy_of(shown_name(first_of[scanned])))
            continue
        entry = prev.entries.get(source) if prev else None
        if prev and entry and entry.fingerprint == scanned and source in prev.documents:
            doc, fingerprint = prev.documents[source], scanned
        else:
            try:
                data = read_file_bytes(corpus_dir, path)
            except IngestError as e:  # unreadable since the scan: not remembered, so stale
                skips.reported.append(Skipped(shown_name(source), e.message, e.message_fr))
                continue
            # The bytes read, not those scanned: a file rewritten in between (a copy under
            # way) must look changed to the next status, or its document stays missing.
            try:
                doc = read_document(corpus_dir, path, data)
                fingerprint = doc.info.content_hash  # bytes_fingerprint of `data`, taken once
            except IngestError as e:
                kept = prev.documents.get(source) if prev and entry and keep_indexed else None
                if kept is None or entry is None or not sidecar_only(corpus_dir, path, data):
                    skips.add(source, bytes_fingerprint(*data), e.message, e.message_fr)
                    continue
                # An indexed document whose metadata file no longer reads (a typo: « Date »)
                # went from the chat unnoticed: it is served as it was, said, and its old
                # fingerprint keeps the next status saying the file changed. A document
                # emptied or replaced by one without text goes, as its author meant.
                skips.reported.append(Skipped(shown_name(source), *kept_reasons(e)))
                doc, fingerprint = kept, entry.fingerprint
        reasons = too_long(doc, params.max_document_chars)
        if reasons is not None:
            skips.add(source, fingerprint, *reasons)
            continue
        first_of.setdefault(fingerprint, source)
        chash = content_hash(doc)
        if prev and entry and _indexed_as(prev, source, chash):
            status = "unchanged"
        else:
            status = "changed" if entry else "added"
        docs.append(PlannedDoc(doc, fingerprint, chash, status))
    if not docs:
        raise no_readable_document(corpus_dir, skips.reported)
    return docs


def _indexed_as(prev: Previous, source: str, chash: str) -> bool:
    """Whether `prev` holds `source` with the content hash `chash`. Hashed now from the stored
    document, not read from the manifest: manifests written while the hash still covered the
    version-salted fingerprint (INGEST_VERSION 2) would otherwise match no document at all."""
    old = prev.documents.get(source)
    return old is not None and content_hash(old) == chash


def chunk_corpus(
    params: BuildParams, docs: list[PlannedDoc], skips: Skips, prev: Previous | None
) -> list[PlannedDoc]:
    """Chunk and split new or changed documents; take the others' rows from `prev`.

    Rows are numbered in document order; documents without any chunk are left out (skipped).
    """
    next_chunk = 0
    kept: list[PlannedDoc] = []
    for d in docs:
        if d.status == "unchanged" and prev is not None:
            _reuse_rows(d, prev, next_chunk)
        else:
            try:  # one document the splitter cannot place is skipped, not the whole build
                d.chunks = chunk_document(
                    d.doc, params.chunk_size, params.chunk_overlap, next_chunk
                )
            except IngestError as e:
                skips.add(d.doc.source, d.fingerprint, e.message, e.message_fr)
                continue
            d.sentences = split_document_sentences(d.doc)
        if not d.chunks:
            skips.add(d.doc.source, d.fingerprint, "no text to index", "aucun texte à indexer")
            continue
        for i, c in enumerate(d.chunks):
            if c.id != next_chunk + i:
                raise IndexError_(f"chunk_document numbered the chunks of {c.source} wrongly")
        next_chunk += len(d.chunks)
        kept.append(d)
    if not kept:
        raise CorpusError(
            f"No document with text to index in {params.corpus_dir}; index not changed.",
            "Aucun document avec du texte à indexer dans le dossier des documents : l'index "
            "n'a pas changé.",
        )
    return kept


def _reuse_rows(d: PlannedDoc, prev: Previous, first_chunk: int) -> None:
    """Give an unchanged document its previous chunks (renumbered from `first_chunk`)."""
    old = prev.chunk_rows.get(d.doc.source, [])
    d.old_chunk_ids = [c.id for c in old]
    d.chunks = [
        Chunk(first_chunk + i, c.source, c.start, c.end, c.text, c.page) for i, c in enumerate(old)
    ]
    rows = prev.sentence_rows.get(d.doc.source, [])
    d.old_sentence_ids = [r[0] for r in rows]
    d.sentences = [(s, e) for _, s, e in rows]


# -- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildPlan:
    """The documents of the new generation, what they reuse, and how it differs from the old."""

    docs: tuple[PlannedDoc, ...]
    skipped: tuple[Skipped, ...]  # reported, sorted by source
    skipped_entries: tuple[SkippedEntry, ...]  # recorded in the manifest, sorted by source
    prev: Previous | None
    current: Path | None  # the current generation; None if there is none or its pointer is bad
    dense: DenseParams
    sentence_vectors: bool  # whether the new generation holds a vector per sentence
    added: int
    changed: int
    unchanged: int
    removed: int
    # Whether the previous generation was read from this build's corpus folder (or does not
    # say): if not, it is rewritten to record this one, even with the same documents.
    same_corpus: bool = True

    @property
    def n_chunks(self) -> int:
        return sum(len(d.chunks) for d in self.docs)

    @property
    def n_sentences(self) -> int:
        return sum(len(d.sentences) for d in self.docs)

    @property
    def up_to_date(self) -> bool:
        """True when the current generation already holds exactly what this build would write."""
        prev = self.prev
        return (
            prev is not None
            and self.current is not None
            and self.same_corpus
            and self.added == self.changed == self.removed == 0
            and tuple(prev.manifest.skipped) == self.skipped_entries
            and prev.manifest.dense == self.dense
            and prev.manifest.sentence_vectors == self.sentence_vectors
            and [e.fingerprint for e in prev.manifest.documents]
            == [d.fingerprint for d in self.docs]
        )


def make_plan(
    docs: list[PlannedDoc],
    skips: Skips,
    prev: Previous | None,
    current: Path | None,
    flat_max_vectors: int,
    sentence_vectors: bool = True,
    same_corpus: bool = True,
) -> BuildPlan:
    """Count the changes and choose the dense index for the documents kept."""
    n_chunks = sum(len(d.chunks) for d in docs)
    return BuildPlan(
        docs=tuple(docs),
        skipped=tuple(sorted(skips.reported, key=lambda s: s.source)),
        skipped_entries=tuple(sorted(skips.remembered, key=lambda s: s.source)),
        prev=prev,
        current=current,
        dense=dense.choose_params(n_chunks, flat_max_vectors),
        sentence_vectors=sentence_vectors,
        added=sum(d.status == "added" for d in docs),
        changed=sum(d.status == "changed" for d in docs),
        unchanged=sum(d.status == "unchanged" for d in docs),
        removed=len(set(prev.entries) - {d.doc.source for d in docs}) if prev else 0,
        same_corpus=same_corpus,
    )
