"""The index against system failures: power loss, full disks, unreadable files, overlapping
builds. The previous index stays intact and errors are poleqa's, with what to do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import PARAMS, FakeEmbedder

from poleqa.index import build_index, store

# -- power loss ------------------------------------------------------------------------------


def test_the_new_generation_is_on_the_disk_before_current_names_it(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_switch = os.fsync, store.switch_current

    def fsync(fd: int) -> None:
        # the generation under its .partial name, the manifest under its temporary one
        path = os.readlink(f"/proc/self/fd/{fd}").removesuffix(store.PARTIAL_SUFFIX)
        events.append(path.removesuffix(".tmp"))
        real_fsync(fd)

    def switch_current(index_dir: Path, gen: Path) -> None:
        events.append("switch")
        real_switch(index_dir, gen)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(store, "switch_current", switch_current)
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, FakeEmbedder(), **PARAMS)
    gen = store.read_current(index_dir)
    before_switch = {
        path.replace(f"{gen.name}{store.PARTIAL_SUFFIX}/", f"{gen.name}/")
        for path in events[: events.index("switch")]
    }
    wanted = {str(p.resolve()) for p in [index_dir, gen, *gen.rglob("*")]}
    assert wanted - before_switch == set()
