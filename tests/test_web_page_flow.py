"""A question sent from the chat page: shown at once in its place, answered there; the next one
sent meanwhile; « Nouvelle conversation » meanwhile (fake pipeline, then the real server)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from webfake import FakePipeline, HeldPipeline, page_send, queue_call, serving

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
    messages, session, status = chat.answer_in_page(session)
    assert status == ""
    assert _contents(messages)[0] == '<div class="pq-question">Combien de pôles ?</div>'
    assert 'class="pq-answer"' in _contents(messages)[1]
    # nothing else waits: a second answering event changes nothing
    assert all(_skipped(v) for v in (chat.answer_in_page(session)[0],))


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
    assert all(_skipped(v) for v in chat.answer_in_page(session)[::2])  # nothing to answer
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
