"""The server answers while the index is prepared: « Préparation… », then the normal chat."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from webfake import FakePipeline, serving

from poleqa.errors import PoleqaError
from poleqa.feedback import FeedbackStore
from poleqa.web import create_app, serve
from poleqa.web.app import ChatApp
from poleqa.web.common import PREPARING, Readiness
from poleqa.web.staff import StaffApp

PASSWORD = "un mot de passe d'équipe"


def _client(url: str, **kwargs: object):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(url, verbose=False, **kwargs)


def _last_answer(messages: list) -> str:
    return messages[-1]["content"][0]["text"]


def test_questions_wait_for_the_index_then_are_answered(tmp_path: Path) -> None:
    readiness = Readiness(ready=False)
    readiness.begin("Construction de l'index des documents…")
    pipeline = FakePipeline()
    app = create_app(pipeline, tmp_path, staff_password=PASSWORD, readiness=readiness)
    with serving(app) as url:
        state = httpx.get(url + "etat").json()
        assert state == {
            "pret": False,
            "etape": "Préparation de l'index… Construction de l'index des documents…",
        }
        chat = _client(url)
        _, messages, status = chat.predict("Combien de pôles ?", api_name="/ask")
        assert PREPARING in _last_answer(messages).replace("&#x27;", "'")
        assert "Préparation de l" in status
        assert pipeline.histories == []  # the pipeline was not asked
        assert httpx.get(url + "document", params={"source": "x"}).status_code == 503
        staff = _client(url + "equipe/", auth=("equipe", PASSWORD))
        assert "Préparation de l" in staff.predict("pôles", [], "", "", 5, api_name="/verify")

        readiness.done()
        assert httpx.get(url + "etat").json() == {"pret": True, "etape": ""}
        _, messages, status = chat.predict("Combien de pôles ?", api_name="/ask")
        assert "38 pôles" in _last_answer(messages) and status == ""
        assert pipeline.histories == [()]  # the refused question is no earlier turn


def test_the_handlers_refuse_politely_until_ready(tmp_path: Path) -> None:
    readiness = Readiness(ready=False)
    store = FeedbackStore(tmp_path)
    chat = ChatApp(FakePipeline(), store, readiness=readiness)
    staff = StaffApp(FakePipeline(), store, readiness=readiness)
    assert staff.source_choices() == []
    assert PREPARING in staff.reindex().replace("&#x27;", "'")
    assert PREPARING in staff.evaluate(None, 5)[0].replace("&#x27;", "'")
    status, timer = chat.poll_status()
    assert "Préparation de l" in status and timer.active is True
    seen: list[str] = []
    readiness.on_ready(lambda: seen.append("prêt"))
    readiness.done()
    readiness.on_ready(lambda: seen.append("après"))
    assert seen == ["prêt", "après"]
    status, timer = chat.poll_status()
    assert status == "" and timer.active is False
    assert staff.source_choices() != []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_during_preparation_and_stops_if_it_fails(tmp_path: Path) -> None:
    """`serve` listens at once, runs `prepare` in a thread, and raises its error."""
    release = threading.Event()
    seen: list[dict] = []

    def prepare(readiness: Readiness) -> None:
        readiness.begin("Installation du modèle de langue…")
        release.wait(60)
        raise PoleqaError("The corpus folder is empty.")

    port = _free_port()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            serve(FakePipeline(), port=port, data_dir=tmp_path, prepare=prepare)
        except BaseException as e:  # what serve raised, checked below
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not seen and time.monotonic() < deadline:
        try:
            seen.append(httpx.get(f"http://127.0.0.1:{port}/etat").json())
        except httpx.HTTPError:
            time.sleep(0.2)
    assert seen and seen[0]["pret"] is False and "Installation du modèle" in seen[0]["etape"]
    release.set()
    thread.join(30)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], PoleqaError)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/etat", timeout=2)
