"""Files written whole or not at all (`poleqa.atomic`), a full disk and a race included."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from poleqa import atomic
from poleqa.atomic import write_atomic, write_text_atomic


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fsync fails as on a full disk (after the bytes went to the page cache)."""

    def fsync(_: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", fsync)


@pytest.mark.parametrize("exclusive", [False, True])
def test_a_failed_write_leaves_what_was_there_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exclusive: bool
) -> None:
    target = tmp_path / "judge.json"
    if not exclusive:
        target.write_text('{"old": 1}\n', "utf-8")
    _full_disk(monkeypatch)
    with pytest.raises(OSError):
        write_atomic(target, b'{"new": 2}\n', exclusive=exclusive)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if exclusive else ["judge.json"])
    if not exclusive:
        assert target.read_text("utf-8") == '{"old": 1}\n'


def test_a_write_keeps_the_mode_open_would_give_or_the_file_had(tmp_path: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    target = tmp_path / "CURRENT"
    write_text_atomic(target, "gen-1\n")  # as `open` makes a file (mkstemp: private)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask == atomic.FILE_MODE
    target.chmod(0o600)
    write_text_atomic(target, "gen-2\n")  # a file replaced keeps its mode
    assert target.read_text("ascii") == "gen-2\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT"]


def test_a_link_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "judge.json"
    real.write_text("{}", "utf-8")
    (tmp_path / "lien.json").symlink_to(real)
    write_text_atomic(tmp_path / "lien.json", '{"new": 1}')
    assert (tmp_path / "lien.json").is_symlink() and real.read_text("utf-8") == '{"new": 1}'


def test_an_exclusive_write_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "fiche.md"
    target.write_bytes(b"made meanwhile")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"mine", exclusive=True)
    assert target.read_bytes() == b"made meanwhile"
    assert [p.name for p in tmp_path.iterdir()] == ["fiche.md"]


def test_without_hard_links_an_exclusive_write_goes_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_link(*_: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")  # as some network shares

    monkeypatch.setattr(atomic.os, "link", no_link)
    target = tmp_path / "fiche.md.meta.json"
    write_atomic(target, b"{}", exclusive=True)
    assert target.read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["fiche.md.meta.json"]
    with pytest.raises(FileExistsError):
        write_atomic(target, b"[]", exclusive=True)
    assert target.read_bytes() == b"{}"
    assert os.listdir(tmp_path) == ["fiche.md.meta.json"]
