"""A question sent from the chat page: shown at once in its place, answered there; the next one
sent meanwhile; « Nouvelle conversation » meanwhile (fake pipeline, then the real server)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from webfake import FakePipeline, HeldPipeline, page_ask, page_send, queue_call, serving

from poleqa.feedback import FeedbackStore
from poleqa.types import Turn
from poleqa.web import create_app, render
from poleqa.web.app import ChatApp, Session
from poleqa.web.common import Readiness
from poleqa.web.session import Exchange

WAIT = 30  # seconds


@pytest.fixture
def chat(tmp_path: Path) -> ChatApp:
    return ChatApp(FakePipeline(), FeedbackStore(tmp_path / "data"))


def _skipped(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def _contents(messages: list[dict[str, str]]) -> list[str]:
    return [m["content"] for m in messages]


def test_a_question_sent_shows_at_once_then_its_answer_takes_its_place(chat: ChatApp) -> None:
    box, messages, session, status = chat.send_in_page("Combien de pôles ?", Session())
    assert _skipped(box) and _skipped(status)  # the box: as the user has it since
    assert _contents(messages) == [
        '<div class="pq-question">Combien de pôles ?</div>',
        f'<div class="pq-pending" role="status">{render.PENDING}</div>',
    ]
    ((messages, session, status),) = chat.answer_in_page(session)
    assert status == ""
    assert _contents(messages)[0] == '<div class="pq-question">Combien de pôles ?</div>'
    assert 'class="pq-answer"' in _contents(messages)[1]
    # nothing else waits: a second answering event changes nothing
    ((nothing, _, _),) = chat.answer_in_page(session)
    assert _skipped(nothing)


def test_questions_sent_meanwhile_keep_their_order_and_their_context() -> None:
    session = Session()
    session.send("Combien de pôles en Bretagne ?")
    session.send("Et en 2019 ?")
    generation, first, history = session.claim() or (0, None, ())
    assert first is not None and history == ()
    _, second, history = session.claim() or (0, None, ())
    # the follow-up is read after the question sent before it, still being answered
    assert second is not None and history == (Turn("Combien de pôles en Bretagne ?", None),)
    assert session.claim() is None
    # answered in the other order, each in its place
    assert session.fulfil(second, _answered("Et en 2019 ?"), generation)
    assert [e.pending for e in session.exchanges] == [True, False]
    assert session.fulfil(first, _answered("Combien de pôles en Bretagne ?"), generation)
    questions = [e.question for e in session.exchanges]
    assert questions == ["Combien de pôles en Bretagne ?", "Et en 2019 ?"]


def _answered(question: str) -> Exchange:
    return Exchange(question, "<p>réponse</p>")


def test_a_new_conversation_drops_the_questions_sent_before_it(chat: ChatApp) -> None:
    pipeline = chat.pipeline
    assert isinstance(pipeline, FakePipeline)
    _, _, session, _ = chat.send_in_page("Première ?", Session())
    assert chat.new_in_page(session) == ([], session, "")
    ((nothing, _, untouched),) = chat.answer_in_page(session)  # nothing to answer
    assert _skipped(nothing) and _skipped(untouched)
    assert pipeline.histories == []
    # one being answered when the conversation is cleared: its answer is not put back
    _, _, session, _ = chat.send_in_page("Deuxième ?", session)
    generation, sent, _ = session.claim() or (0, None, ())
    chat.new_in_page(session)
    assert sent is not None and not session.fulfil(sent, _answered("?"), generation)
    assert session.exchanges == []


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_an_empty_box_sends_nothing(chat: ChatApp, blank: str) -> None:
    box, messages, session, status = chat.send_in_page(blank, Session())
    assert all(_skipped(v) for v in (box, messages, status)) and session.exchanges == []


def test_a_refused_question_is_put_back_and_shown_short(chat: ChatApp) -> None:
    question = "é" * 5000
    box, messages, session, _ = chat.send_in_page(question, Session())
    assert box == question  # to be shortened
    shown, refusal = _contents(messages)
    assert shown == f'<div class="pq-question">{"é" * 300} &#91;…&#93;</div>'
    assert "5\u202f000 caractères ; 2\u202f000 au plus" in refusal
    assert session.claim() is None  # not sent to be answered


def test_while_the_index_is_prepared_the_question_is_put_back(tmp_path: Path) -> None:
    chat = ChatApp(FakePipeline(), FeedbackStore(tmp_path / "data"), readiness=Readiness(False))
    box, messages, session, _ = chat.send_in_page("Combien de pôles ?", Session())
    assert box == "Combien de pôles ?"
    assert "Préparation de l&#x27;index en cours" in _contents(messages)[1]
    assert session.claim() is None


def test_on_the_server_a_new_conversation_while_a_page_question_is_answered_stays_new(
    tmp_path: Path,
) -> None:
    pipeline = HeldPipeline()
    with serving(create_app(pipeline, tmp_path / "data")) as url:
        dependencies = httpx.get(url + "config").json()["dependencies"]
        shown = next(
            d for d in dependencies if sorted(e for _, e in d["targets"]) == ["click", "submit"]
        )
        answering = next(d for d in dependencies if d.get("trigger_after") == shown["id"])
        # the page's « Nouvelle conversation »: not the API's, which also empties the box
        new = next(
            d
            for d in dependencies
            if d["outputs"] == answering["outputs"] and d["targets"][0][1] == "click"
        )
        tab = uuid.uuid4().hex
        shown_reply = page_send(url, shown["id"], ["Ma question ?", None], tab)
        assert "Ma question ?" in str(shown_reply["data"][1])  # shown before any answer
        answered: list[Any] = []
        asking = threading.Thread(
            target=lambda: answered.append(queue_call(url, answering["id"], [None], tab))
        )
        asking.start()
        assert pipeline.started.acquire(timeout=WAIT)
        cleared = page_send(url, new["id"], [None], tab)["data"]
        assert cleared[0] == []
        pipeline.release.set()
        asking.join(WAIT)
        assert answered[0]["output"]["data"][0] == []  # the answer is not put back


def test_one_event_answers_every_question_waiting_in_its_tab(chat: ChatApp) -> None:
    # Each event waited its turn in one of the server's few slots, doing nothing, and a question
    # whose own event was lost kept « Recherche de la réponse… » for ever
    session = Session()
    for question in ("Un ?", "Deux ?", "Trois ?"):
        chat.send_in_page(question, session)
    assert session.start_answering()  # as if another event of the tab were answering them
    for _ in range(2):  # these leave them to it, at once
        ((nothing, _, untouched),) = chat.answer_in_page(session)
        assert _skipped(nothing) and _skipped(untouched)
    assert all(e.waiting for e in session.exchanges)
    session.stop_answering()
    shown = list(chat.answer_in_page(session))
    assert len(shown) == 3 and not any(e.pending for e in session.exchanges)
    assert [e.question for e in session.exchanges] == ["Un ?", "Deux ?", "Trois ?"]
    pipeline = chat.pipeline
    assert isinstance(pipeline, FakePipeline)
    # each read after the one before, with its answer
    assert [len(h) for h in pipeline.histories] == [0, 1, 2]


def test_a_tab_cannot_pile_up_questions(chat: ChatApp) -> None:
    session = Session()
    for n in range(5):
        chat.send_in_page(f"Question {n} ?", session)
    box, messages, _, status = chat.send_in_page("Une de plus ?", session)
    assert box == "Une de plus ?" and _skipped(messages)  # back in the box, nothing added
    assert "Plusieurs questions attendent déjà leur réponse" in status
    assert len(session.exchanges) == 5


def test_on_the_server_a_busy_tab_holds_one_slot_and_its_event_answers_the_next(
    tmp_path: Path,
) -> None:
    # A tab's second question used to wait in a slot of its own for the first to be answered:
    # a quick typist (or a script) held every slot, and other citizens waited
    pipeline = HeldPipeline(held=lambda question: question == "A1 ?")
    with serving(create_app(pipeline, tmp_path / "data", concurrency=2)) as url:
        dependencies = httpx.get(url + "config").json()["dependencies"]
        events = {d["id"]: sorted(e for _, e in d["targets"]) for d in dependencies}
        shown = next(d for d in dependencies if events[d["id"]] == ["click", "submit"])
        answering = next(d for d in dependencies if d.get("trigger_after") == shown["id"])
        tab = uuid.uuid4().hex
        page_send(url, shown["id"], ["A1 ?", None], tab)
        answered: list[Any] = []
        first = threading.Thread(
            target=lambda: answered.append(queue_call(url, answering["id"], [None], tab))
        )
        first.start()
        assert pipeline.started.acquire(timeout=WAIT)
        page_send(url, shown["id"], ["A2 ?", None], tab)  # its own answering event: lost
        other = page_ask(url, shown, ["B1 ?", None])  # another tab: answered meanwhile
        assert pipeline.running == 1 and len(other[0]) == 2
        pipeline.release.set()
        first.join(WAIT)
    messages = answered[0]["output"]["data"][0]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert not any("pq-pending" in str(m["content"]) for m in messages)
