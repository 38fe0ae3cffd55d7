"""The index against system failures: power loss, full disks, unreadable files, overlapping
builds. The previous index stays intact and errors are poleqa's, with what to do."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from support import DOCS, PARAMS, FakeEmbedder, generations, snapshot

from poleqa.errors import IndexCorruptedError, IndexError_
from poleqa.index import Index, build_index, dense, index_status, jsonl, store

# -- power loss ------------------------------------------------------------------------------


def test_the_new_generation_is_on_the_disk_before_current_names_it(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_switch = os.fsync, store.switch_current

    def fsync(fd: int) -> None:
        # the generation under its .partial name, the manifest under its temporary one
        path = os.readlink(f"/proc/self/fd/{fd}").removesuffix(store.PARTIAL_SUFFIX)
        events.append(re.sub(r"/\.([^/]+)\.[^./]+\.tmp$", r"/\1", path))
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


# -- overlapping builds (the lock file deleted, or locks not shared on a network mount) -------

OLD, NEW = "gen-20000101T000000-000000-1", "gen-29990101T000000-000000-1"


def _fake_generation(index_dir: Path, name: str) -> Path:
    (index_dir / name).mkdir()
    (index_dir / name / "manifest.json").write_text("{}", encoding="utf-8")
    return index_dir / name


def test_cleanup_keeps_the_current_generation_and_newer_ones(built) -> None:
    _, index_dir, _ = built
    current = store.read_current(index_dir)
    for name in (OLD, OLD + ".partial", NEW, NEW + ".partial"):
        _fake_generation(index_dir, name)
    store.remove_stale_generations(index_dir, keep=current)
    assert generations(index_dir) == sorted([current.name, NEW, NEW + ".partial"])
    # Another build switched CURRENT back (it wrote its generation earlier): it stays too.
    store.remove_stale_generations(index_dir, keep=index_dir / NEW)
    assert generations(index_dir) == sorted([current.name, NEW, NEW + ".partial"])
    assert store.read_current(index_dir) == current


def test_overlapping_builds_leave_a_loadable_index(built, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index_dir, emb = built
    (corpus / "c_aqua.md").write_text(DOCS["c_aqua.md"] + " Fin.", encoding="utf-8")
    a_at_switch, a_go, b_embedding, b_go = (threading.Event() for _ in range(4))
    real_switch = store.switch_current

    def switch_current(index_dir_: Path, gen: Path) -> None:
        if threading.current_thread().name == "A":
            a_at_switch.set()
            assert a_go.wait(30)
        real_switch(index_dir_, gen)

    class SlowB(FakeEmbedder):
        def embed_passages(self, texts: Sequence[str], progress: object = None) -> np.ndarray:
            b_embedding.set()
            assert b_go.wait(30)
            return super().embed_passages(texts, progress)

    monkeypatch.setattr(store, "switch_current", switch_current)
    errors: list[BaseException] = []

    def build(embedder: FakeEmbedder) -> None:
        try:
            build_index(corpus, index_dir, embedder, **PARAMS)
        except BaseException as e:
            errors.append(e)

    a = threading.Thread(name="A", target=build, args=(FakeEmbedder(),), daemon=True)
    b = threading.Thread(name="B", target=build, args=(SlowB(),), daemon=True)
    try:
        a.start()
        assert a_at_switch.wait(30)  # A's generation is complete, CURRENT not yet switched
        (index_dir / ".lock").unlink()  # someone tidies the folder: B takes a new lock file
        b.start()
        assert b_embedding.wait(30)  # B has cleaned up at its start
        a_go.set()
        a.join(30)
        assert "c_aqua.md" in Index.load(index_dir, emb.id).documents
        assert index_status(corpus, index_dir, emb.id) == "current"
    finally:
        a_go.set()
        b_go.set()
        if b.is_alive():
            b.join(30)
    assert errors == []
    assert len(Index.load(index_dir, emb.id).documents) == 3
    assert len(generations(index_dir)) == 1  # B's, newer: A's was deleted after B's switch


def test_a_lock_file_deleted_before_it_is_locked_is_taken_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_flock, calls = fcntl.flock, []

    def flock(fd: int, operation: int) -> None:
        calls.append(fd)
        if len(calls) == 1:  # between the open and the lock, the file is deleted
            (tmp_path / ".lock").unlink()
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    with store.build_lock(tmp_path):
        assert len(calls) == 2  # the deleted file's lock was let go, the new one locked
        with pytest.raises(IndexError_) as e, store.build_lock(tmp_path):
            pass
    assert e.value.message == (
        f"Another `poleqa index` is already building {tmp_path}; wait for it to finish."
    )


def test_the_switch_refuses_a_generation_deleted_meanwhile(built) -> None:
    corpus, index_dir, emb = built
    gone = _fake_generation(index_dir, NEW)
    shutil.rmtree(gone)
    with pytest.raises(IndexError_) as e:
        store.switch_current(index_dir, gone)
    assert e.value.message == (
        f"The new index generation {gone} was deleted before it could be used: the previous "
        "index is kept; run `poleqa index` again."
    )
    assert index_status(corpus, index_dir, emb.id) == "current"


# -- what the system refuses: a full disk, a file in the way, permissions ---------------------


def test_a_full_disk_is_said_and_the_previous_index_kept(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, index_dir, emb = built
    before = snapshot(Index.load(index_dir, emb.id))
    (corpus / "c_aqua.md").write_text(DOCS["c_aqua.md"] + " Fin.", encoding="utf-8")

    def save(index: object, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dense, "save", save)
    with pytest.raises(IndexError_) as e:
        build_index(corpus, index_dir, emb, **PARAMS)
    assert e.value.message == (
        f"Cannot write the index in {index_dir} (No space left on device): the previous index "
        "is kept. Free some disk space, then run `poleqa index` again."
    )
    assert snapshot(Index.load(index_dir, emb.id)) == before
    assert len(generations(index_dir)) == 1  # the half-written one removed


def test_a_document_the_splitter_cannot_place_is_skipped_not_the_build(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import poleqa.chunking as chunking

    class Misplacing:  # a splitter giving a passage that is not in the text
        def split_text(self, text: str) -> list[str]:
            return ["nulle part ailleurs"] if "Medicen" in text else [text.strip()]

    monkeypatch.setattr(chunking, "_splitter", lambda size, overlap: Misplacing())
    report = build_index(corpus, tmp_path / "index", FakeEmbedder(), **PARAMS)
    assert [s.source for s in report.skipped] == ["a_medicen.md"]
    assert report.skipped[0].reason == (
        "a passage of the splitter is not in the text: 'nulle part ailleurs'"
    )
    assert report.documents == len(DOCS) - 1


def test_a_skipped_name_is_reported_as_shown_whatever_the_reason(
    corpus: Path, tmp_path: Path
) -> None:
    (corpus / "long\nnom.md").write_text("# Long\n\n" + "Texte du pôle. " * 40, "utf-8")
    (corpus / "vide\tnom.md").write_text("", "utf-8")
    report = build_index(
        corpus, tmp_path / "index", FakeEmbedder(), **PARAMS, max_document_chars=300
    )
    shown = sorted(s.source for s in report.skipped)
    assert "long\\nnom.md" in shown and "vide\\tnom.md" in shown


def test_a_file_where_the_index_folder_should_be(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    index_dir = tmp_path / "afile" / "index"
    with pytest.raises(IndexError_) as e:
        build_index(corpus, index_dir, FakeEmbedder(), **PARAMS)
    assert e.value.message == (
        f"Cannot create the index folder {index_dir} (Not a directory): choose another folder "
        "with --index, or remove what is in the way."
    )


def test_a_folder_named_current_stops_the_build_before_the_embedding(built) -> None:
    corpus, index_dir, _ = built
    (index_dir / "CURRENT").unlink()
    (index_dir / "CURRENT").mkdir()
    emb = FakeEmbedder()
    with pytest.raises(IndexError_) as e:
        build_index(corpus, index_dir, emb, **PARAMS)
    assert e.value.message == (
        f"{index_dir / 'CURRENT'} is a folder, where the index keeps the name of its current "
        f"generation: move that folder out of {index_dir}, then run `poleqa index` again."
    )
    assert emb.embedded == []
    with pytest.raises(IndexCorruptedError, match="CURRENT is a folder, not a file"):
        Index.load(index_dir, emb.id)


def test_a_file_system_without_locks_is_said(built, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index_dir, emb = built

    def flock(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", flock)
    with pytest.raises(IndexError_) as e:
        build_index(corpus, index_dir, emb, **PARAMS)
    assert e.value.message == (
        f"Cannot lock {index_dir / '.lock'} (No locks available): the file system of the index "
        "folder has no locks. Mount it with locks, or build the index in a local folder and "
        "publish its generation as docs/deployment.md says (never over the served one)."
    )


def _unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`path` unreadable for this process, as a file of mode 600 is for another user (root
    reads whatever the mode, so then its reads are refused the way the kernel would)."""
    path.chmod(0)
    real_open = Path.open

    def open_(self: Path, mode: str = "r", *args: object, **kwargs: object):
        if self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, mode, *args, **kwargs)

    if os.geteuid() == 0:
        monkeypatch.setattr(Path, "open", open_)


@pytest.mark.parametrize("name", ["CURRENT", "chunks.jsonl", "manifest.json"])
def test_an_index_this_user_cannot_read_says_so(
    built, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    corpus, index_dir, emb = built
    path = index_dir / name if name == "CURRENT" else store.read_current(index_dir) / name
    _unreadable(path, monkeypatch)
    message = (
        f"Cannot read the index in {index_dir} (Permission denied: {path}): give the user "
        "running poleqa read access to the index folder and its files."
    )
    with pytest.raises(IndexError_) as e:
        Index.load(index_dir, emb.id)
    assert e.value.message == message
    with pytest.raises(IndexError_) as e:
        index_status(corpus, index_dir, emb.id)
    assert e.value.message == message


def test_a_file_deleted_while_loading_is_a_damaged_index(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, index_dir, emb = built
    path = store.read_current(index_dir) / "documents.jsonl"

    def read_documents(p: Path) -> list:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))

    monkeypatch.setattr(jsonl, "read_documents", read_documents)
    with pytest.raises(IndexCorruptedError) as e:
        Index.load(index_dir, emb.id)
    assert e.value.message == (
        f"The index in {index_dir} is damaged ({path} is missing): "
        f"run `poleqa index --index {index_dir}` to rebuild it."
    )


def _gone(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie no one reaps has)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_a_build_ends_when_the_process_that_asked_for_it_is_gone(tmp_path: Path) -> None:
    # A server stopped during « Réindexer » left its build running: minutes later it
    # published its index and deleted the one the next server had started with.
    asker = tmp_path / "asker.py"
    asker.write_text(
        "import subprocess, sys, time\n"
        "code = 'import os; from poleqa.pipeline import _exit_with_parent; p = os.getppid(); "
        'print("watching", flush=True); _exit_with_parent(p, 0.05); '
        "import time; time.sleep(60)'\n"
        "child = subprocess.Popen([sys.executable, '-c', code])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n",
        encoding="utf-8",
    )
    parent = subprocess.Popen([sys.executable, str(asker)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert parent.stdout.readline() == "watching\n"  # poleqa imported: the child is watching
    time.sleep(0.3)
    assert not _gone(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while not _gone(child):
        assert time.monotonic() < deadline, "the build outlived the process that asked for it"
        time.sleep(0.05)
