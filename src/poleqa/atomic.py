"""Files written whole or not at all: beside their place, synced to the disk, then renamed there."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; once, at import, before any thread
    os.umask(mask)
    return mask


# The mode `open` would give a new file (mkstemp makes it private): the index's files, the
# shipped judge, a staff upload are read by whoever reads the others beside them.
FILE_MODE = 0o666 & ~_umask()
# What a link failing for one of these says of the target or the disk, not of the file system:
# written in place instead, it would fail too or replace a file made meanwhile.
_REAL_FAILURES = (errno.EEXIST, errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


def fsync_dir(path: Path) -> None:
    """A folder's entries (a rename, a new file) flushed to the disk; best effort."""
    with contextlib.suppress(OSError):  # not supported everywhere
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: bytes, exclusive: bool = False) -> None:
    """`data` as the file `path`, whole or not at all: a cut or a full disk leaves the file
    that was there (or none), never a truncated one. With `exclusive`, a file at `path` is
    never replaced, one made meanwhile included (FileExistsError). A symbolic link is
    written through: the file it names is replaced."""
    if path.is_symlink():
        path = path.resolve()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        # a file replaced keeps its mode
        os.chmod(tmp, _mode_of(path) if not exclusive else FILE_MODE)
        if exclusive:
            _link(Path(tmp), path, data)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):  # renamed: nothing left
            os.unlink(tmp)
    fsync_dir(path.parent)


def _mode_of(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:  # none yet
        return FILE_MODE


def write_text_atomic(path: Path, text: str) -> None:
    """`text` in UTF-8 as the file `path`, whole or not at all (`write_atomic`)."""
    write_atomic(path, text.encode("utf-8"))


def _link(tmp: Path, path: Path, data: bytes) -> None:
    """`tmp` under the name `path`, which must not exist."""
    try:
        os.link(tmp, path)
    except OSError as e:
        if e.errno in _REAL_FAILURES:
            raise
        # a file system without hard links (some network shares): written in place, still
        # never over a file (« xb »), and removed if the writing fails
        with open(path, "xb") as out:
            try:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            except OSError:
                path.unlink(missing_ok=True)  # made by this call: no one else's
                raise
