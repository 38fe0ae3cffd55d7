"""The IndexWatcher: a server reloads the index another process swapped in, and keeps serving
the one it has when the new one is damaged."""

from __future__ import annotations

from pathlib import Path

from webfake import FakePipeline

from poleqa.errors import IndexCorruptedError
from poleqa.feedback import FeedbackStore
from poleqa.web.app import ChatApp, IndexWatcher, Session
from poleqa.web.common import RETRY_SECONDS


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
