"""Events that overlap on the real server (uvicorn, Gradio, fake pipeline): one tab's questions
and « Nouvelle conversation », the questions answered at once whatever the listener, the staff's
long tasks one at a time."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from webfake import FakePipeline, HeldPipeline, page_ask, queue_call, serving
from webserver import message_text

from poleqa.feedback import FeedbackStore
from poleqa.web import create_app
from poleqa.web.app import ChatApp, build_blocks
from poleqa.web.staff import StaffApp, build_staff_blocks

PASSWORD = "un mot de passe d'équipe"
WAIT = 30  # seconds


def _client(url: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(url, verbose=False, **kwargs)


def _questions(messages: list[dict]) -> list[str]:
    """The questions of a conversation, as its user messages show them."""
    prefix, suffix = '<div class="pq-question">', "</div>"
    return [
        message_text(m).removeprefix(prefix).removesuffix(suffix)
        for m in messages
        if m["role"] == "user"
    ]


def test_two_questions_pending_in_one_tab_both_stay_in_the_conversation(tmp_path: Path) -> None:
    pipeline = HeldPipeline(held=lambda question: question == "Question un ?")
    with serving(create_app(pipeline, tmp_path / "data")) as url:
        tab = _client(url)
        first = tab.submit("Question un ?", api_name="/ask")
        assert pipeline.started.acquire(timeout=WAIT)
        _, messages, _ = tab.submit("Question deux ?", api_name="/ask").result(timeout=WAIT)
        assert _questions(messages) == ["Question deux ?"]
        pipeline.release.set()
        _, messages, _ = first.result(timeout=WAIT)
        assert _questions(messages) == ["Question deux ?", "Question un ?"]
        _, messages, _ = tab.predict("Question trois ?", api_name="/ask")
        assert _questions(messages) == ["Question deux ?", "Question un ?", "Question trois ?"]
        assert [turn.question for turn in pipeline.histories[-1]] == [
            "Question deux ?",
            "Question un ?",
        ]
        # another tab has its own conversation
        _, messages, _ = _client(url).predict("Question quatre ?", api_name="/ask")
        assert _questions(messages) == ["Question quatre ?"]


def test_a_new_conversation_while_a_question_is_pending_stays_new(tmp_path: Path) -> None:
    pipeline = HeldPipeline(held=lambda question: "secret" in question)
    with serving(create_app(pipeline, tmp_path / "data")) as url:
        tab = _client(url)
        tab.predict("Première question ?", api_name="/ask")
        pending = tab.submit("Ma question secret ?", api_name="/ask")
        assert pipeline.started.acquire(timeout=WAIT) and pipeline.started.acquire(timeout=WAIT)
        tab.predict(api_name="/new_conversation")
        pipeline.release.set()
        _, messages, _ = pending.result(timeout=WAIT)
        assert messages == []  # the answer to the cleared conversation is not put back
        _, messages, _ = tab.predict("Autre question ?", api_name="/ask")
        assert _questions(messages) == ["Autre question ?"]
        assert pipeline.histories[-1] == ()  # nothing of the cleared conversation followed


def test_questions_answered_at_once_are_capped_whatever_the_listener(tmp_path: Path) -> None:
    """Envoyer, Enter, the examples and the API's « ask » share one limit: `concurrency`, not
    one each (the page's questions are answered by the events following the ones showing them)."""
    pipeline = HeldPipeline()
    with serving(create_app(pipeline, tmp_path / "data", concurrency=2)) as url:
        dependencies = httpx.get(url + "config").json()["dependencies"]
        ask = next(d for d in dependencies if d["api_name"] == "ask")
        shown = [d for d in dependencies if d["outputs"] == ask["outputs"] and d is not ask]
        assert sorted(event for d in shown for _, event in d["targets"]) == [
            "click",
            "example_select",
            "submit",
        ]
        calls: list[Any] = []
        for d in shown * 3:
            if [event for _, event in d["targets"]] == ["example_select"]:
                example = {"index": 0, "value": {"text": "x"}}
                calls.append(partial(page_ask, url, d, [None], example))
            else:
                calls.append(partial(page_ask, url, d, ["Combien de pôles ?", None]))
        for _ in range(3):
            question = ["Combien de pôles ?", None]
            calls.append(partial(queue_call, url, ask["id"], question, uuid.uuid4().hex))
        with ThreadPoolExecutor(len(calls)) as pool:
            done = [pool.submit(call) for call in calls]
            assert pipeline.started.acquire(timeout=WAIT) and pipeline.started.acquire(timeout=WAIT)
            time.sleep(1)  # time for more questions to begin, were they allowed to
            running = pipeline.running
            pipeline.release.set()
            outputs = [d.result(timeout=WAIT) for d in done]
    assert (running, pipeline.peak, len(pipeline.histories)) == (2, 2, len(calls))
    # each one answered in its own tab: its question and its answer, nothing else (the page's
    # answering events give the conversation first, the API's « ask » the box first)
    chats = [out[0] if isinstance(out, list) else out["output"]["data"][1] for out in outputs]
    assert [len(chat) for chat in chats] == [2] * len(calls)


class StaffRecorder(HeldPipeline):
    """The fake pipeline noting when the staff's questions and re-index begin and end."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    def ask(self, question: str, *args: Any, **kwargs: Any) -> Any:
        self.log.append("question")
        try:
            return super().ask(question, *args, **kwargs)
        finally:
            self.log.append("answer")

    def build(self, progress: bool = False, isolated: bool = False) -> Any:
        self.log.append("build")
        return super().build(progress, isolated)


def test_an_evaluation_and_a_reindex_run_one_after_the_other(tmp_path: Path) -> None:
    """One report reads one index: « Réindexer » waits for the evaluation under way."""
    from gradio_client import handle_file

    pipeline = StaffRecorder()
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": f"q{i}", "question": f"Combien de pôles en 20{i}0 ?", "answers": ["38"]}
        | {"sources": [], "answerable": True}
        for i in (1, 2)
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    app = create_app(pipeline, tmp_path / "data", staff_password=PASSWORD)
    with serving(app) as url:
        staff = _client(url + "equipe/", auth=("equipe", PASSWORD))
        evaluation = staff.submit(handle_file(str(questions)), 5, api_name="/evaluate")
        assert pipeline.started.acquire(timeout=WAIT)
        reindex = staff.submit(api_name="/reindex")
        time.sleep(1)  # time for the re-index to begin, were it allowed to
        pipeline.release.set()
        metrics, _, _ = evaluation.result(timeout=WAIT)
        summary = reindex.result(timeout=WAIT)
    # the evaluation's untimed warm-up question, its two questions, then the re-index
    assert pipeline.log == ["question", "answer"] * 3 + ["build"]
    assert '<code>n&#95;questions</code></td><td class="pq-value">2</td>' in metrics
    assert "Index reconstruit" in summary


class HeldBuild(FakePipeline):
    """The fake pipeline whose re-index waits until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.building = threading.Event()
        self.release = threading.Event()

    def build(self, progress: bool = False, isolated: bool = False) -> Any:
        self.building.set()
        self.release.wait(WAIT)
        return super().build(progress, isolated)


def test_verify_answers_while_a_reindex_runs(tmp_path: Path) -> None:
    # « Chercher » showed nothing for the whole re-index (a minute or more): it waited its turn
    pipeline = HeldBuild()
    with serving(create_app(pipeline, tmp_path / "data", staff_password=PASSWORD)) as url:
        staff = _client(url + "equipe/", auth=("equipe", PASSWORD))
        reindex = staff.submit(api_name="/reindex")
        assert pipeline.building.wait(WAIT)
        try:
            hits = staff.submit("pôles", [], "", "", 5, api_name="/verify").result(timeout=10)
        finally:
            pipeline.release.set()
        assert "<table" in hits
        assert "Index reconstruit" in reindex.result(timeout=WAIT)


def test_listeners_share_one_limit_by_what_they_run(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "data")
    chat = build_blocks(ChatApp(HeldPipeline(), store))
    shared: dict[str, set[str]] = {}
    for fn in chat.fns.values():
        shared.setdefault(fn.name, set()).add(fn.concurrency_id)
    # what answers shares one limit; what only shows a question sent runs outside the queue
    assert shared["ask"] == shared["answer_in_page"] == {"ask"}
    assert not any(f.queue for f in chat.fns.values() if f.name in ("send_in_page", "send_example"))
    assert shared["rate_answer"] == shared["rate_last"] == {"feedback"}
    staff = build_staff_blocks(StaffApp(HeldPipeline(), store))
    long_tasks = {
        (f.name, f.concurrency_id, f.concurrency_limit)
        for f in staff.fns.values()
        if f.name in ("verify", "evaluate", "reindex")
    }
    assert long_tasks == {
        ("verify", "verify", 2),
        ("evaluate", "staff", 1),
        ("reindex", "staff", 1),
    }


def test_an_example_that_is_not_one_asks_nothing(tmp_path: Path) -> None:
    # a crafted « example » click without an index got Python's error text (« 'index' »)
    pipeline = FakePipeline()
    with serving(create_app(pipeline, tmp_path / "data")) as url:
        dependencies = httpx.get(url + "config").json()["dependencies"]
        select = next(d for d in dependencies if [e for _, e in d["targets"]] == ["example_select"])
        for event in ({}, None, {"index": 999}, {"index": "a"}, {"index": True}, {"value": "x"}):
            answered = page_ask(url, select, [None], event)
            # every output left as it was (Gradio sends no state back): no question, no message
            assert all(v is None or v["__type__"] == "update" for v in answered), event
            assert not any(isinstance(v, dict) and "value" in v for v in answered), event
        # a real one is asked
        assert page_ask(url, select, [None], {"index": 0, "value": {"text": "x"}})[0]
    assert [len(history) for history in pipeline.histories] == [0]
