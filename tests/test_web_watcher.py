"""The IndexWatcher: a server reloads the index another process swapped in, one thread loading
while the others answer from the loaded one, and keeps serving the one it has when the new one
is damaged (also after its own « Réindexer »)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from webfake import FakePipeline

from poleqa.errors import IndexCorruptedError, IndexError_
from poleqa.feedback import FeedbackStore
from poleqa.index.builder import BuildReport
from poleqa.web import render
from poleqa.web.app import ChatApp, IndexWatcher, Session
from poleqa.web.common import RETRY_SECONDS
from poleqa.web.staff import StaffApp


def test_index_watcher_reloads_once_per_pointer_change(tmp_path: Path) -> None:
    pipeline = FakePipeline()
    pointer = tmp_path / "CURRENT"
    pointer.write_text("gen-1", encoding="utf-8")
    watcher = IndexWatcher(pipeline, pointer)
    watcher.check()
    assert pipeline.reloads == 0
    pointer.write_text("gen-2", encoding="utf-8")
    watcher.check()
    watcher.check()
    assert pipeline.reloads == 1


def test_a_generation_that_fails_to_load_is_retried_after_a_while_not_per_question(
    tmp_path: Path,
) -> None:
    class Broken(FakePipeline):
        broken = True

        def reload(self) -> None:
            super().reload()
            if self.broken:
                raise IndexCorruptedError("chunk_vectors.npy: checksum mismatch")

    pipeline, now = Broken(), [0.0]
    pointer = tmp_path / "CURRENT"
    pointer.write_text("gen-1", encoding="utf-8")
    watcher = IndexWatcher(pipeline, pointer, clock=lambda: now[0])
    pointer.write_text("gen-2", encoding="utf-8")
    for _ in range(5):  # five questions: one try, the generation served is still gen-1
        watcher.check()
    assert pipeline.reloads == 1 and watcher.version() == "gen-1"
    now[0] += RETRY_SECONDS
    pipeline.broken = False  # e.g. the files arrived on a shared disk
    watcher.check()
    watcher.check()
    assert pipeline.reloads == 2 and watcher.version() == "gen-2"


def test_a_pointer_that_is_not_text_is_a_damaged_index_not_a_crash(tmp_path: Path) -> None:
    class Damaged(FakePipeline):
        def reload(self) -> None:
            super().reload()
            raise IndexCorruptedError("The index in index is damaged (CURRENT is not a name)")

    pipeline = Damaged()
    pointer = tmp_path / "CURRENT"
    pointer.write_bytes(b"\xff\xfe")
    IndexWatcher(pipeline, pointer)  # at start-up: the repair build comes next
    pointer.write_text("gen-1\n", encoding="utf-8")
    watcher = IndexWatcher(pipeline, pointer)
    chat = ChatApp(pipeline, FeedbackStore(tmp_path / "data"), watcher)
    pointer.write_bytes(b"\xff\xfe")  # damaged while serving: the loaded index keeps answering
    _, _, session, _ = chat.ask("Combien de pôles ?", Session())
    assert pipeline.reloads == 1 and session.exchanges[0].answer is not None
    assert watcher.version() == "gen-1"


class HeldReload(FakePipeline):
    """Reloading waits until `release` is set (a large index being loaded and checked)."""

    def __init__(self) -> None:
        super().__init__()
        self.loading = threading.Event()
        self.release = threading.Event()

    def reload(self) -> None:
        self.loading.set()
        self.release.wait(60)
        super().reload()


def test_questions_asked_during_a_reload_are_answered_from_the_loaded_index(
    tmp_path: Path,
) -> None:
    pipeline = HeldReload()
    pointer = tmp_path / "CURRENT"
    pointer.write_text("gen-1", encoding="utf-8")
    chat = ChatApp(pipeline, FeedbackStore(tmp_path / "data"), IndexWatcher(pipeline, pointer))
    pointer.write_text("gen-2", encoding="utf-8")
    with ThreadPoolExecutor(2) as pool:
        reloading = pool.submit(chat.ask, "Combien de pôles ?", Session())
        assert pipeline.loading.wait(10)
        meanwhile = pool.submit(chat.ask, "Combien de pôles en 2019 ?", Session())
        _, _, other, _ = meanwhile.result(timeout=10)  # while the reload still waits
        assert (other.exchanges[0].index_version, pipeline.reloads) == ("gen-1", 0)
        pipeline.release.set()
        _, _, first, _ = reloading.result(timeout=10)
    assert (first.exchanges[0].index_version, pipeline.reloads) == ("gen-2", 1)


class FailingReindex(FakePipeline):
    """« Réindexer » publishes a generation that then fails to load, as `Pipeline.build` says:
    the index it served keeps serving."""

    def __init__(self, pointer: Path) -> None:
        super().__init__()
        self.pointer = pointer

    def build(self, progress: bool = False, isolated: bool = False) -> BuildReport:
        self.pointer.write_text("gen-2", encoding="utf-8")
        self.reload()
        raise IndexError_(
            "The index was rebuilt but cannot be loaded: checksum mismatch",
            "L'index a été reconstruit mais ne peut pas être chargé.",
        )


def test_a_reindex_whose_index_fails_to_load_is_retried_after_a_while(tmp_path: Path) -> None:
    pointer, now = tmp_path / "CURRENT", [0.0]
    pointer.write_text("gen-1", encoding="utf-8")
    pipeline = FailingReindex(pointer)
    watcher = IndexWatcher(pipeline, pointer, clock=lambda: now[0])
    store = FeedbackStore(tmp_path / "data")
    staff = StaffApp(pipeline, store, watcher)
    chat = ChatApp(pipeline, store, watcher)
    shown = staff.reindex()
    assert shown == render.message_html("L'index a été reconstruit mais ne peut pas être chargé.")
    for _ in range(3):  # the questions that follow are answered, not held up by a new try
        _, _, session, _ = chat.ask("Combien de pôles ?", Session())
    assert (pipeline.reloads, session.exchanges[0].index_version) == (1, "gen-1")
    now[0] += RETRY_SECONDS
    chat.ask("Combien de pôles ?", Session())
    assert (pipeline.reloads, watcher.version()) == (2, "gen-2")
