"""Index generations on disk: the atomic CURRENT pointer, the build lock, the cleanup."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from poleqa.atomic import fsync_dir, write_atomic
from poleqa.errors import IndexError_
from poleqa.index.manifest import MANIFEST_NAME

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LOCK = ".lock"
GEN_PREFIX = "gen-"
PARTIAL_SUFFIX = ".partial"
PROBE_PREFIX = ".write-test-"
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


class PointerUnreadableError(PointerError):
    """The system refused to read CURRENT (permissions, a disk error): not damage, so
    rebuilding would not help. `os_error` says why."""

    def __init__(self, message: str, os_error: OSError) -> None:
        super().__init__(message)
        self.os_error = os_error


class IndexReadOnlyError(IndexError_):
    """The index folder cannot be written (permissions, a read-only mount): nothing was built."""

    message_fr = (
        "Le dossier de l'index est en lecture seule : l'index ne peut pas y être mis à jour."
    )


# EACCES/EPERM: permissions (or a file owned by someone else); EROFS: a read-only mount.
_READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def is_read_only_error(e: OSError) -> bool:
    """True when `e` says the place cannot be written, as opposed to a full disk or a bug."""
    return isinstance(e, PermissionError) or e.errno in _READ_ONLY_ERRNOS


def read_only_error(index_dir: Path, what: str, cause: OSError | None = None) -> IndexReadOnlyError:
    """The error for a build that needs to write `what` into the read-only `index_dir`."""
    reason = f" ({cause.strerror or cause})" if cause is not None else ""
    return IndexReadOnlyError(
        f"The index folder {index_dir} is read-only{reason}: cannot write {what} there. "
        "Make the folder writable, or build the index into another folder with --index.",
        f"Le dossier de l'index est en lecture seule : {index_dir}. L'index ne peut pas y être "
        "mis à jour ; rendez ce dossier accessible en écriture.",
    )


def write_error(index_dir: Path, e: OSError, what: str = "the index") -> IndexError_:
    """The error for a build the system refused to write `what` (a full disk, a read-only
    folder…): nothing was switched, so the previous index is intact."""
    if is_read_only_error(e):
        return read_only_error(index_dir, what, e)
    where = f": {e.filename}" if e.filename else ""
    todo = "Free some disk space" if e.errno in _FULL_ERRNOS else "Check that folder"
    return IndexError_(
        f"Cannot write the index in {index_dir} ({e.strerror or e}{where}): the previous index "
        f"is kept. {todo}, then run `poleqa index` again.",
        "L'index n'a pas pu être mis à jour ; l'index précédent est conservé.",
    )


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def read_error(index_dir: Path, e: OSError) -> IndexError_:
    """The error for an index the system refused to read: permissions (a replica running as
    another user, a strict umask at build time) or the disk. Rebuilding would not help."""
    where = f": {e.filename}" if e.filename else ""
    todo = (
        "give the user running poleqa read access to the index folder and its files"
        if is_read_only_error(e)
        else "check the disk, then run `poleqa index` again if the index is damaged"
    )
    return IndexError_(
        f"Cannot read the index in {index_dir} ({e.strerror or e}{where}): {todo}.",
        "L'index des documents ne peut pas être lu : prévenez l'équipe qui l'administre.",
    )


def make_index_dir(index_dir: Path) -> None:
    """Create the index folder if needed; IndexReadOnlyError if its parent is read-only,
    IndexError_ if something else is in the way (a file where a folder should be)."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if is_read_only_error(e):
            raise read_only_error(index_dir, "the index", e) from e
        raise IndexError_(
            f"Cannot create the index folder {index_dir} ({e.strerror or e}): choose another "
            "folder with --index, or remove what is in the way.",
            "Le dossier de l'index ne peut pas être créé.",
        ) from e


def writable(index_dir: Path) -> bool:
    """Whether files can be created in `index_dir`.

    Tried with a probe file: permission bits say nothing of read-only mounts, ACLs or root.
    """
    probe = index_dir / f"{PROBE_PREFIX}{os.getpid()}.tmp"
    try:
        with probe.open("w", encoding="ascii"):
            pass
    except OSError as e:
        if is_read_only_error(e):
            return False
        raise
    with contextlib.suppress(OSError):
        probe.unlink()
    return True


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
    except IsADirectoryError as e:
        raise PointerError(f"{pointer} is a folder, not a file") from e
    except OSError as e:
        raise PointerUnreadableError(f"cannot read {pointer}: {e}", e) from e
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


def check_pointer(index_dir: Path) -> None:
    """IndexError_ now, before a build's long work, if CURRENT cannot be replaced (a folder
    there: os.replace refuses to put a file over it)."""
    pointer = current_pointer(index_dir)
    if pointer.is_dir():
        raise IndexError_(
            f"{pointer} is a folder, where the index keeps the name of its current generation: "
            f"move that folder out of {index_dir}, then run `poleqa index` again.",
            "L'index ne peut pas être mis à jour : son dossier est mal rangé.",
        )


def switch_current(index_dir: Path, gen: Path) -> None:
    """Point CURRENT at `gen` atomically: readers see the old or the new name, never half."""
    if not (gen / MANIFEST_NAME).is_file():  # deleted by a build that ran alongside this one
        raise IndexError_(
            f"The new index generation {gen} was deleted before it could be used: the previous "
            "index is kept; run `poleqa index` again."
        )
    write_atomic(current_pointer(index_dir), (gen.name + "\n").encode("ascii"))


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder` (itself included) to the disk.

    Before a switch to a new generation: after a power loss, CURRENT must not name files still
    empty (FAISS and bm25s do not fsync what they write).
    """
    for path in sorted(folder.rglob("*"), reverse=True):  # a folder after what it holds
        if path.is_dir():
            fsync_dir(path)
        else:
            with path.open("rb") as f:
                os.fsync(f.fileno())
    fsync_dir(folder)


def remove_stale_generations(index_dir: Path, keep: Path | None) -> None:
    """Delete the generations older than `keep` (the one this build keeps), and leftovers of
    interrupted builds and probes; with `keep` None, no generation.

    Never the generation CURRENT names, read again before each deletion (another build may
    have switched meanwhile), nor one newer than `keep`: if the lock did not hold (its file
    deleted, a network mount without locks) another build may be writing it or about to make
    it current. Names sort by time. Only folders named like generations are touched.
    """
    if not index_dir.is_dir():
        return
    for entry in sorted(index_dir.iterdir()):
        name = entry.name
        if _GEN_NAME.match(name.removesuffix(PARTIAL_SUFFIX)):
            base = name.removesuffix(PARTIAL_SUFFIX)
            if keep is None or base >= keep.name or not entry.is_dir():
                continue
            current = _current_name(index_dir)
            if current is None or current == base:
                continue  # unreadable now: deleting could take the index being served
            _remove_generation(entry)
        elif name.startswith((f".{CURRENT}.", PROBE_PREFIX)) and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                entry.unlink()


def _current_name(index_dir: Path) -> str | None:
    """The generation name in CURRENT, None if there is none or it is unreadable."""
    try:
        gen = read_current(index_dir)
    except PointerError:
        return None
    return gen.name if gen is not None else None


# Generations already reported as undeletable: a build cleans up twice, a server re-indexes
# often, and one line per folder is enough.
_UNDELETABLE: set[Path] = set()


def _remove_generation(path: Path) -> None:
    """Delete an unused generation; if it cannot be, say so once: the index works regardless."""
    failures: list[BaseException] = []
    # Keep deleting what can be after an error, and remember the first one for the warning.
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=lambda _f, _p, exc: failures.append(exc))
    else:
        shutil.rmtree(path, onerror=lambda _f, _p, info: failures.append(info[1]))
    if failures and path.exists() and path not in _UNDELETABLE:
        _UNDELETABLE.add(path)
        log.warning(
            "could not delete the unused index generation %s (%s): the index works; "
            "delete that folder by hand to free the space",
            path,
            failures[0],
        )


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Only one build at a time per index folder (readers never lock)."""
    f = _locked(index_dir, index_dir / LOCK)
    try:
        yield
    finally:
        f.close()


LOCK_TRIES = 3


def _locked(index_dir: Path, path: Path) -> IO[str]:
    """The lock file `path`, open and locked: the one at `path` now, not one deleted or
    replaced meanwhile (a lock on a deleted file would let the next build run alongside)."""
    for _ in range(LOCK_TRIES):
        f = _open_lock(index_dir, path)
        try:
            _flock(index_dir, f)
            if _same_file(f, path):
                return f
        except BaseException:
            f.close()
            raise
        f.close()
    raise IndexError_(
        f"The lock file {path} keeps being deleted or replaced while `poleqa index` takes it: "
        "stop whatever removes it, then run `poleqa index` again.",
        "Un index est déjà en cours de construction ; réessayez dans un instant.",
    )


def _open_lock(index_dir: Path, path: Path) -> IO[str]:
    try:
        return path.open("a+")
    except OSError as e:  # e.g. a lock file left by another user
        if is_read_only_error(e):
            raise read_only_error(index_dir, f"its lock file {path.name}", e) from e
        raise


def _flock(index_dir: Path, f: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): no lock, builds are rare
        return
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        raise IndexError_(
            f"Another `poleqa index` is already building {index_dir}; wait for it to finish.",
            "Un index est déjà en cours de construction ; réessayez dans un instant.",
        ) from e
    except OSError as e:  # ENOLCK: a network mount without locks
        raise IndexError_(
            f"Cannot lock {index_dir / LOCK} ({e.strerror or e}): the file system of the index "
            "folder has no locks. Mount it with locks, or build the index in a local folder and "
            "publish its generation as docs/deployment.md says (never over the served one).",
            "L'index ne peut pas être mis à jour : son dossier ne permet pas de verrou.",
        ) from e


def _same_file(f: IO[str], path: Path) -> bool:
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(f.fileno())
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)
