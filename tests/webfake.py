"""A fake pipeline (fixed answers), a small real one, and a real uvicorn server in a thread."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from support import PARAMS, FakeEmbedder, write_corpus

from poleqa.config import Settings
from poleqa.index.builder import BuildReport
from poleqa.pipeline import Pipeline
from poleqa.query import validate_question
from poleqa.types import (
    Answer,
    Chunk,
    Citation,
    Document,
    DocumentInfo,
    Filters,
    Hit,
    Skipped,
    Turn,
)
from poleqa.web import create_app

# The fake's documents and answers are written for the tests: a made-up country, made-up figures.
TEXT = (
    "Les pôles <labellisés>\n\n"
    "Le 12 février, l’Agence de Sorlande a labellisé 38 pôles de compétitivité pour 2023-2026. "
    "Les 7 pôles <script>window.__pwned=1</script> de la côte.\n\nFin *du* _texte_."
)
INFO = DocumentInfo(
    source="régions/aura <1>.txt", title="Pôles <b>AURA</b>", date="2023-03-30", organisation="R&D"
)
SENT_START = TEXT.index("Le 12 février")
SENT_END = TEXT.index("2023-2026.") + len("2023-2026.")
SHORT = "38 pôles"  # the short answer
SHORT_START = TEXT.index(SHORT)
PASSAGE_END = TEXT.index("\n\nFin")
# A second document, for answers citing several documents (figures by year).
TEXT_2019 = "Bilan\n\nEn 2019, la Sorlande comptait 41 pôles de compétitivité labellisés."
INFO_2019 = DocumentInfo(
    source="national/bilan-2019.txt", title="Bilan 2019", date="2019-06-01", organisation="DGE"
)
FOLLOW_UP = "Et en 2023 ?"  # completed from the previous question
RESOLVED = "Combien de pôles ont été labellisés en 2023 ?"
# answered with « Selon la date des documents : »
BY_YEAR_QUESTION = "Combien de pôles selon l'année ?"
BY_YEAR_NOTE = (
    "Selon la date des documents : document de 2019 : 41 pôles [2] ; "
    "document de 2023 : 38 pôles [1]"
)


class FakePipeline:
    """Fixed answers; records the history it was given."""

    def __init__(self) -> None:
        self.histories: list[tuple[Turn, ...]] = []
        self.reloads = 0
        self.fail_with: Exception | None = None

    def ask(
        self,
        question: str,
        history: tuple[Turn, ...] | None = None,
        k: int = 5,
        filters: Filters | None = None,
    ) -> Answer:
        question = validate_question(question, 2000)
        if self.fail_with is not None:
            raise self.fail_with
        self.histories.append(tuple(history or ()))
        citation = Citation(
            1,
            INFO,
            SENT_START,
            PASSAGE_END,
            TEXT[SENT_START:PASSAGE_END],
            0.9,
            SENT_START,
            SENT_END,
            SHORT_START,
            SHORT_START + len(SHORT),
        )
        if "abstiens" in question:
            return Answer(question, None, True, 0.1, citations=(citation,))
        answer = Answer(
            question,
            TEXT[SENT_START:SENT_END],
            False,
            0.83,
            short_answer=SHORT,
            citations=(citation,),
        )
        if question == FOLLOW_UP:
            return replace(answer, resolved_question=RESOLVED)
        if question == BY_YEAR_QUESTION:
            return replace(answer, citations=_by_year_citations(citation), notes=(BY_YEAR_NOTE,))
        return answer

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        validate_question(query, 2000)
        chunk = Chunk(0, INFO.source, SENT_START, PASSAGE_END, TEXT[SENT_START:PASSAGE_END])
        hit = Hit(chunk, INFO, 0.5, 1, 0.81, 2.5)
        return [] if filters and filters.sources and INFO.source not in filters.sources else [hit]

    def document(self, source: str) -> Document:
        if source == INFO_2019.source:
            return Document(INFO_2019, TEXT_2019)
        if source != INFO.source:
            raise KeyError(source)
        return Document(INFO, TEXT)

    def sources(self) -> list[DocumentInfo]:
        return [INFO]

    def pinned(self) -> FakePipeline:
        return self  # one fixed index already

    def reload(self) -> None:
        self.reloads += 1

    def build(self, progress: bool = False, isolated: bool = False) -> BuildReport:
        self.reload()
        skipped = (
            Skipped(
                "cassé.pdf",
                "no text could be extracted from the file",
                "aucun texte n'a pu être extrait du fichier",
            ),
        )
        return BuildReport(6, 30, 1, 0, 0, 5, skipped, 2.4, "flat")


class HeldPipeline(FakePipeline):
    """The fake pipeline whose questions (those `held` says, all by default) wait until
    `release` is set; counts the questions being answered at once."""

    def __init__(self, held: Callable[[str], bool] = lambda question: True) -> None:
        super().__init__()
        self.held = held
        self.release = threading.Event()
        self.started = threading.Semaphore(0)  # one token per question begun
        self.running = self.peak = 0
        self._count = threading.Lock()

    def ask(
        self,
        question: str,
        history: tuple[Turn, ...] | None = None,
        k: int = 5,
        filters: Filters | None = None,
    ) -> Answer:
        with self._count:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.started.release()
        try:
            if self.held(question):
                self.release.wait(60)
            return super().ask(question, history, k, filters)
        finally:
            with self._count:
                self.running -= 1


def _by_year_citations(first: Citation) -> tuple[Citation, ...]:
    """Citation 1, one from the 2019 document, and another passage of citation 1's document."""
    start = TEXT_2019.index("En 2019")
    other = Citation(2, INFO_2019, start, len(TEXT_2019), TEXT_2019[start:], 0.7)
    end = TEXT.index("\n")
    same = Citation(3, INFO, 0, end, TEXT[:end], 0.5)
    return (first, other, same)


# The small corpus of `small_pipeline`, written for the tests: made-up pôles, people and places.
WEB_DOCS = {
    "a_cobalt.md": (
        "# Vallée Cobalt\nSource: https://example.org/cobalt\nDate: 2016-10-01\n\n"
        "Vallée Cobalt est un pôle de compétitivité dédié aux batteries. "
        "Il comptait 148 adhérents à l'automne 2016. Sa présidente est Odile Ferrandier.\n\n"
        "Le pôle couvre Sorbec et les communes voisines. Le recyclage est une priorité."
    ),
    "b_hetraie.md": (
        "# Hêtraie Nord\nSource: https://example.org/hetraie\nDate: 2019-05-02\n\n"
        "Hêtraie Nord est le pôle de la filière du meuble en Sorlande. "
        "Il réunit des ébénistes, des tapissiers et des laboratoires. Le siège est à Vaudrecourt."
    ),
    "c_saline.md": (
        "# Saline-Est\nSource: https://example.org/saline\nDate: 2018-03-04\n\n"
        "Saline-Est est un pôle consacré au sel, basé à Port-Aubrel. "
        "Il a fusionné avec Thalassor pour former un pôle national du sel."
    ),
}


def small_pipeline(
    folder: Path, docs: dict[str, str] | None = None, built: bool = True, **settings: Any
) -> Pipeline:
    """The real pipeline (index, retrieval, reading) on the three small documents of
    `WEB_DOCS` (or `docs`), with the instant fake embedder and the sentence scorer: real
    answers, no model to load (tests/test_web_real.py serves the trained reader on the seeds
    too). `settings`: others than the defaults; `built`: its index built."""
    chosen = Settings(
        reader="sentences",
        corpus_dir=write_corpus(folder / "corpus", WEB_DOCS if docs is None else docs),
        index_dir=folder / "index",
        data_dir=folder / "data",
        cache_dir=folder / "cache",
        chunk_size=PARAMS["chunk_size"],
        chunk_overlap=PARAMS["chunk_overlap"],
        **settings,
    )
    pipeline = Pipeline(chosen, embedder=FakeEmbedder())
    if built:
        pipeline.build()
    return pipeline


@contextmanager
def serving(app: Any, trusted_proxies: str = "") -> Iterator[str]:
    """`app` served by a real uvicorn on a free local port, for the block, with the settings
    of `poleqa serve`; yields its URL."""
    import uvicorn

    from poleqa.web import server_config

    # The socket stays bound from here on: a port freed then bound again could be taken between.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, trusted_proxies))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@dataclass(frozen=True)
class Site:
    """A served app: its address and the data folder it keeps feedback in."""

    url: str
    data: Path


@contextmanager
def fake_site(data: Path, **options: Any) -> Iterator[Site]:
    """The app on the fake pipeline, served; `options` go to `create_app`."""
    with serving(create_app(FakePipeline(), data, **options)) as url:
        yield Site(url, data)


def queue_call(
    url: str, fn_index: int, data: list, session: str, event_data: Any = None
) -> dict[str, Any]:
    """One event through Gradio's queue as the page sends it (any listener, the examples'
    included, which the API client cannot trigger); its « process_completed » message."""
    with httpx.Client(base_url=url, timeout=60) as client:
        joined = {"data": data, "fn_index": fn_index, "session_hash": session}
        joined |= {"event_data": event_data, "trigger_id": None}
        event = client.post("gradio_api/queue/join", json=joined).json()["event_id"]
        with client.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as s:
            for line in s.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed" and message["event_id"] == event:
                    return message
    raise AssertionError(f"no answer to event {event}")


def page_send(
    url: str, fn_index: int, data: list, session: str, event_data: Any = None
) -> dict[str, Any]:
    """One event outside Gradio's queue, as the page sends it (the chat's first half of a
    question: shown at once); Gradio's reply."""
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": event_data}
    reply = httpx.post(url + "gradio_api/run/predict", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def page_ask(url: str, sent: dict[str, Any], data: list, event_data: Any = None) -> list:
    """A question asked as the page asks it: the dependency `sent` (Enter or an example) shows
    it, the one following it answers it, in one tab; the answering event's outputs."""
    config = httpx.get(url + "config").json()
    then = next(d for d in config["dependencies"] if d.get("trigger_after") == sent["id"])
    session = uuid.uuid4().hex
    page_send(url, sent["id"], data, session, event_data)
    return queue_call(url, then["id"], [None], session)["output"]["data"]


def logged_in(url: str, password: str) -> httpx.Client:
    """An HTTP client with its own staff session (the cookie Gradio's login sets)."""
    client = httpx.Client(base_url=url)
    login = client.post("equipe/login", data={"username": "equipe", "password": password})
    assert login.status_code == 200
    return client
