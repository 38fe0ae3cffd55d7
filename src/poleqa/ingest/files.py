"""Corpus files on disk: the walk (linked folders and files read once) and bounded reads."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from poleqa.errors import IngestError
from poleqa.names import SURROGATES

# A corpus file larger than this is skipped unread: an illustrated PDF report of a few hundred
# pages stays under it, a disk image or a database dump dropped in the folder is not read whole
# (twice: the scan fingerprints it, the build reads it). Its text must still fit within
# MAX_DOCUMENT_CHARS (config.py).
MAX_FILE_BYTES = 100_000_000

# What a file that is not a regular one is, in English (logs) and in French (staff).
_KINDS = {
    stat.S_IFIFO: ("a named pipe", "un tube nommé"),
    stat.S_IFCHR: ("a device", "un périphérique"),
    stat.S_IFBLK: ("a device", "un périphérique"),
    stat.S_IFSOCK: ("a socket", "une socket"),
    stat.S_IFDIR: ("a folder", "un dossier"),
}


def read_bounded(path: Path, what: str = "the file", what_fr: str = "") -> bytes:
    """The bytes of `path`, a regular file of at most MAX_FILE_BYTES; IngestError saying why
    otherwise (`what` names the file in it; `what_fr` in its French, empty for the document
    itself: « illisible : droits insuffisants »).

    Pipes, devices and sockets are never read: a named pipe would block the build (and the
    scan of `poleqa serve`) until something writes to it; /dev/zero never ends.
    """
    limit = MAX_FILE_BYTES
    try:
        _check(os.stat(path), limit, what, what_fr)
        # O_NONBLOCK: a pipe put in the file's place since the stat must not block the open.
        with open(path, "rb", opener=_open_nonblocking) as f:
            _check(os.fstat(f.fileno()), limit, what, what_fr)
            data = f.read(limit + 1)
    except PermissionError as exc:
        raise IngestError(
            f"cannot read {what}: permission denied",
            _fr(what_fr, "illisible : droits insuffisants"),
        ) from exc
    except FileNotFoundError as exc:
        gone_fr = broken_link(path, french=True) or "supprimé pendant la lecture"
        raise IngestError(
            f"cannot read {what}: {broken_link(path) or 'it was removed'}",
            _fr(what_fr, f"illisible : {gone_fr}"),
        ) from exc
    except OSError as exc:
        raise IngestError(
            f"cannot read {what}: {exc.strerror or exc}",
            _fr(what_fr, "illisible : erreur du système de fichiers"),
        ) from exc
    if len(data) > limit:  # grown since the stat
        raise IngestError(
            f"{what} holds more than {limit:,} bytes, the limit per file",
            _fr(what_fr, f"trop volumineux : plus de {_thousands_fr(limit)} octets"),
        )
    return data


def _fr(what_fr: str, reason: str) -> str:
    """The French reason about the file `what_fr` names (none: the document itself)."""
    return f"{what_fr} {reason}" if what_fr else reason


def _thousands_fr(n: int) -> str:
    # imported here: poleqa.text loads bm25s (a tenth of a second or more), which reading a
    # corpus does not otherwise need, for the rare file over the limit
    from poleqa.text import thousands_fr

    return thousands_fr(n)


def broken_link(path: Path, french: bool = False) -> str | None:
    """« a symbolic link to X, which does not exist » when `path` is one, else None;
    `french`: « lien symbolique vers X, qui n'existe pas »."""
    if not os.path.islink(path) or os.path.exists(path):
        return None
    try:
        target = os.readlink(path)
    except OSError:
        if french:
            return "lien symbolique dont la cible ne peut pas être lue"
        return "a symbolic link whose target cannot be read"
    if french:  # shown on a page: an undecodable byte of the target must not break it
        return f"lien symbolique vers {SURROGATES.sub(chr(0xFFFD), target)}, qui n'existe pas"
    return f"a symbolic link to {target}, which does not exist"


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _check(st: os.stat_result, limit: int, what: str, what_fr: str) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind, kind_fr = _KINDS.get(
            stat.S_IFMT(st.st_mode), ("not a regular file", "un fichier spécial")
        )
        raise IngestError(
            f"{what} is {kind}, not a regular file",
            _fr(what_fr, f"non lu : c'est {kind_fr}, pas un fichier ordinaire"),
        )
    if st.st_size > limit:
        size, most = _thousands_fr(st.st_size), _thousands_fr(limit)
        raise IngestError(
            f"{what} holds {st.st_size:,} bytes, above the limit of {limit:,} per file",
            _fr(what_fr, f"trop volumineux : {size} octets, {most} au plus"),
        )


@dataclass(frozen=True)
class Walk:
    """What a walk of a corpus folder found: its entries, and the folders it could not open
    (with why: their documents would otherwise drop out of the index without a word)."""

    entries: list[Path]
    unreadable: list[tuple[Path, str, str]]  # (folder, why in English, why in French)


def walk(root: Path) -> Walk:
    """Every entry under `root` that is not a folder, hidden ones (".name") left out, sorted
    by path relative to `root`; the folders that could not be opened beside them.

    A folder linked into the corpus (symbolic link) is walked like a folder unless its target
    is walked already: a link to a folder inside the corpus, a second link to the same folder,
    a link back to a parent (a loop). Each document is thus read once, under one path. A link
    to a folder holding the corpus (« .. ») is not walked, and said: it read the folders beside
    the corpus (other corpora, the index) as documents.
    """
    top = os.path.realpath(root)
    seen = {top}
    out: list[Path] = []
    unreadable: list[tuple[Path, str, str]] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except PermissionError:
            why = "cannot read the folder: permission denied"
            unreadable.append((folder, why, "dossier illisible : droits insuffisants"))
            continue
        except OSError as exc:
            why = f"cannot read the folder: {exc.strerror or exc}"
            unreadable.append((folder, why, "dossier illisible : erreur du système de fichiers"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            if not _is_folder(entry):
                out.append(path)
                continue
            real = os.path.realpath(path)
            inside = real == top or real.startswith(top + os.sep)
            if real in seen or (entry.is_symlink() and inside):
                continue
            if top.startswith(real.rstrip(os.sep) + os.sep):  # holds the corpus: not a part
                why = "a link to a folder that holds the corpus folder: not read"
                unreadable.append((path, why, "lien vers un dossier qui contient le corpus"))
                continue
            seen.add(real)
            subfolders.append(path)
        stack.extend(reversed(subfolders))  # depth first, in name order
    by_name = sorted(out, key=lambda p: p.relative_to(root).as_posix())
    return Walk(by_name, sorted(unreadable, key=lambda u: u[0].relative_to(root).as_posix()))


def once(paths: list[Path]) -> list[Path]:
    """`paths` without the symbolic links to a file listed under another path: a file is read
    once, under its own name (a linked file listed only through links: under the first)."""
    real = {path: os.path.realpath(path) for path in paths}
    own = {real[path] for path in paths if not os.path.islink(path)}
    linked: set[str] = set()
    kept = []
    for path in paths:
        target = real[path]
        # Only links to a regular file: a dangling link or one to a device is reported each time.
        if os.path.islink(path) and os.path.isfile(target):
            if target in own or target in linked:
                continue
            linked.add(target)
        kept.append(path)
    return kept


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows links
    except OSError:
        return False
