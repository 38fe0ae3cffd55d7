"""Index generations on disk (atomic CURRENT pointer) and the document/chunk/sentence stores."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from poleqa.errors import IndexError_
from poleqa.types import Chunk, Document, DocumentInfo, PageSpan, Sentence

CURRENT = "CURRENT"
LOCK = ".lock"
GEN_PREFIX = "gen-"
PARTIAL_SUFFIX = ".partial"
_GEN_NAME = re.compile(r"^gen-\d{8}T\d{6}-\d{6}-\d+$")

DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.jsonl"
SENTENCES = "sentences.jsonl"
CHUNK_VECTORS = "chunk_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
DENSE = "dense.faiss"
BM25_DIR = "bm25"


class PointerError(Exception):
    """CURRENT is unreadable or names no valid generation."""


def new_generation_name() -> str:
    now = datetime.now(UTC)
    return f"{GEN_PREFIX}{now:%Y%m%dT%H%M%S}-{now:%f}-{os.getpid()}"


def current_pointer(index_dir: Path) -> Path:
    """The file naming the current generation: it changes, atomically, when a build switches."""
    return index_dir / CURRENT


def read_current(index_dir: Path) -> Path | None:
    """The folder of the current generation; None when no index was ever built here.

    Raises PointerError when CURRENT exists but is garbage or points at a missing folder.
    """
    pointer = current_pointer(index_dir)
    try:
        raw = pointer.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise PointerError(f"cannot read {pointer}: {e}") from e
    try:
        name = raw.decode("ascii").strip()
    except UnicodeDecodeError as e:
        raise PointerError(f"{pointer} is not a generation name") from e
    if not _GEN_NAME.match(name):
        raise PointerError(f"{pointer} does not name a generation ({name[:40]!r})")
    gen = index_dir / name
    if not gen.is_dir():
        raise PointerError(f"{pointer} names {name}, which does not exist")
    return gen


def switch_current(index_dir: Path, gen: Path) -> None:
    """Point CURRENT at `gen` atomically: readers see the old or the new name, never half."""
    tmp = index_dir / f".{CURRENT}.{os.getpid()}.tmp"
    with tmp.open("w", encoding="ascii") as f:
        f.write(gen.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, current_pointer(index_dir))
    fsync_dir(index_dir)


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not supported everywhere; best effort
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_generations(index_dir: Path, keep: Path | None) -> None:
    """Delete generations other than `keep`, and leftovers of interrupted builds.

    Only folders named like generations are touched: anything else in the folder is left alone.
    """
    if not index_dir.is_dir():
        return
    for entry in index_dir.iterdir():
        name = entry.name
        is_gen = name.startswith(GEN_PREFIX) and (
            _GEN_NAME.match(name) or name.endswith(PARTIAL_SUFFIX)
        )
        if is_gen and entry.is_dir() and (keep is None or entry.name != keep.name):
            shutil.rmtree(entry, ignore_errors=True)
        elif name.startswith(f".{CURRENT}.") and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                entry.unlink()


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Only one build at a time per index folder (readers never lock)."""
    path = index_dir / LOCK
    f = path.open("a+")
    try:
        try:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no fcntl (Windows): no lock, builds are rare
            pass
        except BlockingIOError as e:
            raise IndexError_(
                f"Another `poleqa index` is already building {index_dir}; wait for it to finish.",
                "Un index est déjà en cours de construction ; réessayez dans un instant.",
            ) from e
        yield
    finally:
        f.close()


# -- JSONL stores ----------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: Iterable[object]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def _read_jsonl(path: Path) -> Iterator[object]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def write_documents(path: Path, docs: Iterable[Document]) -> None:
    _write_jsonl(
        path,
        (
            {
                "info": {
                    "source": d.info.source,
                    "title": d.info.title,
                    "date": d.info.date,
                    "organisation": d.info.organisation,
                    "url": d.info.url,
                    "format": d.info.format,
                    "content_hash": d.info.content_hash,
                },
                "body_start": d.body_start,
                "pages": [[p.page, p.start, p.end] for p in d.pages],
                "text": d.text,
            }
            for d in docs
        ),
    )


def read_documents(path: Path) -> list[Document]:
    return [
        Document(
            info=DocumentInfo(**row["info"]),
            text=row["text"],
            body_start=int(row["body_start"]),
            pages=tuple(PageSpan(int(p), int(s), int(e)) for p, s, e in row["pages"]),
        )
        for row in _read_jsonl(path)
    ]


def write_chunks(path: Path, chunks: Iterable[Chunk]) -> None:
    _write_jsonl(
        path,
        (
            {"id": c.id, "source": c.source, "start": c.start, "end": c.end, "page": c.page}
            for c in chunks
        ),
    )


def read_chunks(path: Path, documents: dict[str, Document]) -> list[Chunk]:
    """Chunks with their text cut from the stored document text (so both can never disagree)."""
    out = []
    for row in _read_jsonl(path):
        doc = documents[row["source"]]
        start, end = int(row["start"]), int(row["end"])
        out.append(
            Chunk(
                id=int(row["id"]),
                source=row["source"],
                start=start,
                end=end,
                text=doc.text[start:end],
                page=row["page"],
            )
        )
    return out


def write_sentences(path: Path, sentences: Iterable[Sentence]) -> None:
    # Compact rows [source, start, end]: there are many more sentences than chunks.
    _write_jsonl(path, ([s.source, s.start, s.end] for s in sentences))


def read_sentences(path: Path) -> list[Sentence]:
    return [
        Sentence(id=i, source=src, start=int(s), end=int(e))
        for i, (src, s, e) in enumerate(_read_jsonl(path))
    ]
