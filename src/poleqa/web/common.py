"""What the public chat and the staff area share: the pipeline's interface, index watching, the
readiness of the index at start-up, the look."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import gradio as gr

from poleqa.feedback import FeedbackStore
from poleqa.index.builder import BuildReport
from poleqa.types import Answer, Document, DocumentInfo, Filters, Hit, Turn

if TYPE_CHECKING:  # a type only: the web layer does not load the evaluation runner for it
    from poleqa.evaluation.runner import Asker

log = logging.getLogger(__name__)

THEME_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


class PipelineLike(Protocol):
    """What the web app needs from `poleqa.pipeline.Pipeline` (tests may pass a fake)."""

    def ask(
        self,
        question: str,
        history: tuple[Turn, ...] | None = None,
        k: int = 5,
        filters: Filters | None = None,
    ) -> Answer: ...

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]: ...

    def document(self, source: str) -> Document: ...

    def sources(self) -> list[DocumentInfo]: ...

    def pinned(self) -> Asker: ...

    def reload(self) -> None: ...

    def build(self, progress: bool = False, isolated: bool = False) -> BuildReport: ...


RETRY_SECONDS = 60  # before another try at loading a generation that failed to load
POINTER_BYTES = 4096  # a generation name is some 40 bytes: more is garbage, not worth reading


class IndexWatcher:
    """Reloads the pipeline when another process swapped the index (its CURRENT pointer changed)."""

    def __init__(
        self,
        pipeline: PipelineLike,
        pointer: Path | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pipeline = pipeline
        self.pointer = pointer
        self.clock = clock
        self._seen = self._stamp()
        self._reloading = threading.Lock()  # held by the one thread loading a new generation
        # a generation that failed to load, and when: retried after RETRY_SECONDS, not on
        # every question (each try checksums the whole index while questions wait)
        self._failed: tuple[tuple[int, str], float] | None = None

    def _stamp(self) -> tuple[int, str] | None:
        if self.pointer is None:
            return None
        try:
            mtime = self.pointer.stat().st_mtime_ns
            with self.pointer.open("rb") as f:
                raw = f.read(POINTER_BYTES)
        except OSError:
            return None
        # Bytes that are not text are a damaged pointer, not a crash: they differ from the
        # name seen, so the reload says what is wrong while the loaded index keeps serving.
        return (mtime, raw.decode("utf-8", "replace"))

    def version(self) -> str:
        """The index generation served (the pointer's content when last seen), "" if unknown."""
        seen = self._seen
        return seen[1].strip()[:200] if seen is not None else ""

    def mark_seen(self) -> None:
        """The pipeline itself just loaded the index on disk: nothing to reload for it."""
        self._seen = self._stamp()

    def check(self) -> None:
        """A stat per question; a reload only when the pointer really changed.

        One thread reloads; the questions arriving meanwhile do not wait for it: they are
        answered from the index loaded (the pipeline swaps the new one in once it has loaded).
        """
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        if not self._reloading.acquire(blocking=False):
            return
        try:
            if stamp == self._seen:
                return
            failed = self._failed
            if failed and failed[0] == stamp and self.clock() - failed[1] < RETRY_SECONDS:
                return
            try:
                self.pipeline.reload()
            except Exception as e:  # half-written or broken index: keep serving the one we have
                self._failed = (stamp, self.clock())
                log.warning(
                    "index changed but could not be reloaded (next try in %d s): %s",
                    RETRY_SECONDS,
                    e,
                )
                return
            self._failed = None
            self._seen = stamp
            log.info("index reloaded after %s changed", self.pointer)
        finally:
            self._reloading.release()

    def rebuild(self) -> BuildReport:
        """The staff's « Réindexer »: the pipeline builds (in a child process) and swaps in the
        new index once loaded, as the one reload under way; questions meanwhile are answered
        from the index loaded. A new index built but not loaded is retried after
        RETRY_SECONDS, like one another process published; the pipeline's error is raised."""
        with self._reloading:
            try:
                report = self.pipeline.build(progress=False, isolated=True)
            except Exception:
                stamp = self._stamp()
                if stamp is not None and stamp != self._seen:  # published, not loaded
                    self._failed = (stamp, self.clock())
                raise
            self._failed = None
            self._seen = self._stamp()
        return report


# The staff's « Évaluer », « Réindexer » and « Ajouter » run one at a time, whoever sent them
# (Gradio's limit is per listener unless listeners share a concurrency id): no re-index of this
# server runs during an evaluation, which reads one index anyway (`Pipeline.pinned`).
ONE_AT_A_TIME: dict[str, object] = {"concurrency_id": "staff", "concurrency_limit": 1}
PREPARING = "Préparation de l'index en cours, réessayez dans un instant."
STAFF_UPLOAD_MB = 20  # the staff's uploads (question sets, documents): Gradio refuses more


class Readiness:
    """Whether the pipeline may answer yet. `poleqa serve` starts the server first and prepares
    the model and the index in the background; meanwhile the pages say what is under way and
    questions get `PREPARING` instead of waiting."""

    def __init__(self, ready: bool = True) -> None:
        self._ready = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.step = ""  # French, shown on the page while preparing
        if ready:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def begin(self, step: str) -> None:
        """A new step of the preparation (« Construction de l'index… »)."""
        self.step = step

    def on_ready(self, callback: Callable[[], None]) -> None:
        """`callback` run once the preparation is over (at once if it already is)."""
        with self._lock:
            if not self.ready:
                self._callbacks.append(callback)
                return
        callback()

    def done(self) -> None:
        with self._lock:
            self.step = ""
            self._ready.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def wait(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def status(self) -> str:
        """The French line shown on the pages: "" once ready."""
        if self.ready:
            return ""
        return f"Préparation de l'index… {self.step}".strip()


class Served:
    """What the chat's and the staff's handlers share: the pipeline served, the feedback
    store, the index watcher, the passages cited per answer and the start-up's progress."""

    def __init__(
        self,
        pipeline: PipelineLike,
        store: FeedbackStore,
        watcher: IndexWatcher | None = None,
        k: int = 5,
        readiness: Readiness | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.readiness = readiness or Readiness()
        self.store = store
        self.watcher = watcher or IndexWatcher(pipeline, None)
        self.k = k


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts only (no font is fetched from anywhere)."""
    # Gradio's orange primary buttons carry white text at 2.8:1; a darker orange, 5.2:1.
    return gr.themes.Default(font=THEME_FONTS, font_mono=MONO_FONTS).set(
        button_primary_background_fill="#c2410c",
        button_primary_background_fill_hover="#9a3412",
        button_primary_background_fill_dark="#c2410c",
        button_primary_background_fill_hover_dark="#9a3412",
        button_primary_text_color="#ffffff",
        button_primary_text_color_dark="#ffffff",
    )
