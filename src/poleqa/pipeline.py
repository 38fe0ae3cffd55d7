"""The whole question-answering pipeline behind one object: index → retrieve → answer."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import TYPE_CHECKING

from poleqa.config import Settings
from poleqa.errors import EmbedderError, IndexError_, PoleqaError
from poleqa.query import Query, analyse
from poleqa.ranking import ranker_for
from poleqa.reading import make_answerer
from poleqa.retrieval import HybridRetriever
from poleqa.roles import Answerer, Embedder, Retriever
from poleqa.types import Answer, Document, DocumentInfo, Filters, Hit, Turn

if TYPE_CHECKING:
    from poleqa.index import BuildReport, Index

CANDIDATE_HITS = 10  # passages retrieved for the answerer, whatever the number of citations

log = logging.getLogger(__name__)


class _Loaded:
    """An index and the components built on it, swapped together as one reference. The answerer
    (it may load a reader model) is made on the first question, so `search` never loads it."""

    def __init__(self, index: Index, settings: Settings) -> None:
        self.index = index
        self.retriever: Retriever = HybridRetriever(
            index, ranker_for(settings, index.manifest.embedder_id)
        )
        self._settings = settings
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()

    @property
    def answerer(self) -> Answerer:
        with self._lock:
            if self._answerer is None:
                self._answerer = make_answerer(self.index, self._settings)
            return self._answerer


class Pipeline:
    """Cheap to construct; the model and the index load on first use, once per process."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._embedder_given = embedder is not None  # a given one cannot cross processes
        self._query_embedder: Embedder | None = None
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()  # guards the swap of `_loaded`
        self._load_lock = threading.Lock()  # one index load at a time

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from poleqa.embedding import get_embedder

            self._embedder = get_embedder(self.settings.model, cache_dir=self.settings.cache_dir)
        return self._embedder

    @property
    def query_embedder(self) -> Embedder:
        """Embeds questions: `settings.query_model` if set (checked interchangeable), else the
        index model."""
        if self.settings.query_model is None:
            return self.embedder
        if self._query_embedder is not None:  # checked once: not on every question
            return self._query_embedder
        from poleqa.embedding import get_embedder

        query = get_embedder(
            self.settings.query_model,
            cache_dir=self.settings.cache_dir,
            threads=self.settings.query_threads,
        )
        if query.id != self.embedder.id:
            raise EmbedderError(
                f"The query model {self.settings.query_model} ({query.id}) does not give the "
                f"vectors of the index model {self.settings.model} ({self.embedder.id}).",
            )
        self._query_embedder = query
        return query

    # -- index lifecycle -------------------------------------------------------------------
    def build(
        self, progress: bool = False, isolated: bool = False, replace: bool = False
    ) -> BuildReport:
        """(Re)index the corpus incrementally and return the summary.

        An index already loaded keeps serving until the new one has loaded, then is replaced
        (questions under way finish on the one they started with); if the new one cannot be
        loaded, an IndexError_ says so and the loaded one keeps serving.

        `isolated`: build in a child process (a server's re-index), so the document embedding
        model and the build's buffers never stay in this process's memory. An embedder given
        to the constructor cannot cross processes: the build then runs here.

        An index read from another corpus folder is refused (IndexOtherCorpusError, the index
        left as it is) unless `replace` (`poleqa index --replace`)."""
        if isolated and not self._embedder_given:
            report = _build_in_child(self.settings, replace, progress)
        else:
            report = self._build_here(progress, replace)
        self._serve_built()
        return report

    def _serve_built(self) -> None:
        """After a build: the generation now current replaces the loaded one, once loaded."""
        from poleqa.index.store import PointerError, read_current

        loaded = self._loaded
        if loaded is None:
            return  # nothing served yet: the first question loads the new index
        try:
            if read_current(self.settings.index_dir) == loaded.index.path:
                return  # nothing was written (already up to date)
        except PointerError:
            pass  # the load says what is wrong
        try:
            self.reload()
        except IndexError_ as e:
            raise IndexError_(
                f"The new index was built but cannot be loaded ({e.message}); the previous one "
                "keeps serving.",
                "Le nouvel index a été construit mais ne peut pas être chargé : "
                "l'index précédent continue de servir.",
            ) from e

    def _build_here(self, progress: bool, replace: bool) -> BuildReport:
        from poleqa.index import build_index

        return build_index(
            self.settings.corpus_dir,
            self.settings.index_dir,
            self.embedder,
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            flat_max_vectors=self.settings.flat_max_vectors,
            progress=progress,
            max_document_chars=self.settings.max_document_chars,
            sentence_vectors=self.settings.sentence_vectors,
            replace=replace,
        )

    def index_status(self) -> str:
        """The index's state: "current", or why it must be built (`poleqa.index.index_status`)."""
        from poleqa.index import index_status

        s = self.settings
        return index_status(
            s.corpus_dir,
            s.index_dir,
            self.embedder.id,
            (s.chunk_size, s.chunk_overlap),
            sentence_vectors=s.sentence_vectors,
        )

    def ensure_index(self, progress: bool = False, replace: bool = False) -> BuildReport | None:
        """Build the index if it is missing, stale or unusable; otherwise do nothing (an index
        of another corpus folder that is current is read; one to update is refused unless
        `replace`, as by `build`)."""
        if self.index_status() == "current":
            return None
        return self.build(progress=progress, replace=replace)

    def reload(self) -> None:
        """Load the index now on disk; in-flight questions finish on the one they started with."""
        with self._load_lock:
            self._swap_in()

    def _swap_in(self) -> _Loaded:
        from poleqa.index import Index

        loaded = _Loaded(
            Index.load(self.settings.index_dir, embedder_id=self.embedder.id), self.settings
        )
        with self._lock:
            self._loaded = loaded
        return loaded

    def _state(self) -> _Loaded:
        loaded = self._loaded
        if loaded is None:
            with self._load_lock:  # many first questions at once load the index once
                loaded = self._loaded or self._swap_in()
        return loaded

    @property
    def index(self) -> Index:
        return self._state().index

    # -- questions ---------------------------------------------------------------------------
    def query(self, question: str, history: Sequence[Turn] | None = None) -> Query:
        """The question analysed once (validated, follow-up resolved, language, vector)."""
        return analyse(
            question, self.query_embedder, tuple(history or ()), self.settings.max_question_chars
        )

    def retrieve(self, query: Query, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        return self._state().retriever.retrieve(query, k=k, filters=filters)

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        return self.retrieve(self.query(query), k=k, filters=filters)

    def ask(
        self,
        question: str,
        history: Sequence[Turn] | None = None,
        k: int = 5,
        filters: Filters | None = None,
    ) -> Answer:
        return self.ask_from(self._state(), question, history, k, filters)

    def pinned(self) -> Pinned:
        """The index loaded now, kept for a batch of questions (the staff's evaluation): a
        generation loaded meanwhile answers the other questions, not the rest of the batch."""
        return Pinned(self, self._state())

    def ask_from(
        self,
        state: _Loaded,
        question: str,
        history: Sequence[Turn] | None = None,
        k: int = 5,
        filters: Filters | None = None,
    ) -> Answer:
        """`ask`, answered from the index state given."""
        query = self.query(question, history)
        # The answerer may read more passages than are cited; citations are cut to k afterwards.
        hits = state.retriever.retrieve(query, k=max(k, CANDIDATE_HITS), filters=filters)
        answer = state.answerer.answer(query, hits, shown=max(1, k))
        return replace(
            answer,
            question=query.text,
            resolved_question=query.resolved if query.completed else None,
            citations=answer.citations[: max(1, k)],
            index_version=state.index.path.name,
        )

    # -- documents ---------------------------------------------------------------------------
    def document(self, source: str) -> Document:
        return self._state().index.document(source)

    def sources(self) -> list[DocumentInfo]:
        return [d.info for d in self._state().index.documents.values()]


def _build_in_child(settings: Settings, replace: bool, progress: bool) -> BuildReport:
    """`Pipeline(settings).build()` in a fresh process (spawned: no thread or model inherited;
    its progress bars go to the same terminal)."""
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            # this process's id, taken here: read in the child, it could already be another's
            child = pool.submit(_build_child, settings, replace, progress, os.getpid())
            return child.result()
    except BrokenProcessPool as e:
        # killed (out of memory, a signal): the build's own atomic swap kept the previous index
        raise PoleqaError(
            f"The indexing process stopped unexpectedly ({e}); the previous index is kept.",
            "La construction de l'index s'est arrêtée de façon inattendue ; "
            "l'index précédent est conservé.",
        ) from e


def _build_child(settings: Settings, replace: bool, progress: bool, asker: int) -> BuildReport:
    threading.Thread(target=_exit_with_parent, args=(asker,), daemon=True).start()
    return Pipeline(settings).build(progress=progress, replace=replace)


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """Ends the building process once the process that asked for the build is gone (a server
    stopped mid-build): orphaned, it went on, then published its index minutes later and
    deleted the one the next server had started with. Stopped, the build leaves the index as
    it was (its swap is atomic)."""
    while os.getppid() == parent:
        time.sleep(every)
    log.warning("the process that asked for this index build is gone: build stopped")
    os._exit(1)


class Pinned:
    """A pipeline's questions answered from one index state (`Pipeline.pinned`)."""

    def __init__(self, pipeline: Pipeline, state: _Loaded) -> None:
        self.pipeline = pipeline
        self.state = state

    def ask(self, question: str, k: int = 5) -> Answer:
        return self.pipeline.ask_from(self.state, question, k=k)

    def document(self, source: str) -> Document:
        return self.state.index.document(source)

    def sources(self) -> list[DocumentInfo]:
        return [d.info for d in self.state.index.documents.values()]
