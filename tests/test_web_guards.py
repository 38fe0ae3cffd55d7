"""Web guards without a server: typed inputs, the rate limiter, the staff password check, the
API guard as one call passes it on."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from poleqa.errors import PoleqaError
from poleqa.web.auth import StaffAuth
from poleqa.web.guards import InputError, RateLimiter, date_input, int_input, text_input
from poleqa.web.middleware import ApiGuard, Endpoints, Inputs


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_counts_per_key_within_the_window() -> None:
    clock = Clock()
    limiter = RateLimiter(2, window=60, clock=clock)
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a")] == [True, True, False]
    assert limiter.allow("b")  # another client has its own allowance
    clock.now += 59
    assert not limiter.allow("a")
    clock.now += 1.5  # the first two events are now more than a minute old
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")


def test_rate_limiter_memory_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(1, window=60, max_keys=3, clock=clock)
    for i in range(10):
        limiter.allow(f"client-{i}")
    assert len(limiter._events) <= 3
    clock.now += 120
    limiter.allow("late")
    assert len(limiter._events) <= 2  # idle keys are dropped as new ones come


def test_an_event_counted_up_front_can_be_given_back() -> None:
    limiter = RateLimiter(2, clock=Clock())
    assert limiter.allow("ip") and limiter.allow("ip") and not limiter.allow("ip")
    limiter.release("ip")  # a login that turned out right
    assert limiter.allow("ip") and not limiter.allow("ip")
    limiter.release("nobody")  # nothing to give back: nothing happens, nothing is created
    assert "nobody" not in limiter._events


@pytest.mark.parametrize("value", ["2023", "2023-02", "2024-02-29", "", None, "  2023-12-31 "])
def test_dates_accepted(value: str | None) -> None:
    expected = (value or "").strip() or None
    assert date_input(value, "test", "La date") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30/03/2023", "2023-03-30"), ("1/2/2024", "2024-02-01"), ("7 janvier 2014", "2014-01-07"),
     ("09/2018", "2018-09")],  # a month's date as « Vérifier » shows it
)  # fmt: skip
def test_dates_as_documents_show_them_are_read_as_the_filters_compare_them(
    value: str, expected: str
) -> None:
    assert date_input(value, "test", "La date") == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        # in a form read, but no such day or month: said so (« écrivez JJ/MM/AAAA » for
        # « 31/02/2023 » told to write what was written)
        ("2023-13-45", "impossible : ce jour ou ce mois n'existe pas."),
        ("2023-02-30", "impossible : ce jour ou ce mois n'existe pas."),
        ("2023-13", "impossible : ce jour ou ce mois n'existe pas."),
        ("31/02/2023", "impossible : ce jour ou ce mois n'existe pas."),
        ("13/2023", "impossible : ce jour ou ce mois n'existe pas."),
        ("23", "non reconnue : écrivez JJ/MM/AAAA, MM/AAAA, AAAA-MM-JJ, AAAA-MM ou AAAA."),
        ("2023/01/01", "non reconnue : écrivez JJ/MM/AAAA, MM/AAAA, AAAA-MM-JJ, AAAA-MM ou AAAA."),
        (2023, "doit être un texte"),
    ],
)
def test_dates_refused_in_french(value: object, why: str) -> None:
    with pytest.raises(InputError) as e:
        date_input(value, "test", "La date")
    assert why in e.value.message_fr


def test_numbers_and_texts() -> None:
    assert int_input(5.0, "t", "k", 1, 20) == 5
    assert int_input("7", "t", "k", 1, 20) == 7
    for bad in (0, 21, 10000, 2.5, True, None, "cinq", [5]):
        with pytest.raises(InputError, match="out of range"):
            int_input(bad, "t", "k", 1, 20)
    assert text_input(None, "t", "La question") == ""
    # a lone surrogate (JSON « \ud800 ») would break the page's JSON encoder for the whole tab
    assert text_input("p\ud800les", "t", "La question") == "p\ufffdles"
    with pytest.raises(InputError) as e:
        text_input(["a"], "t", "La question")
    assert e.value.message_fr == "La question doit être un texte."


def test_staff_password_is_checked_against_a_hash_only() -> None:
    auth = StaffAuth("correct horse battery")
    assert "correct horse battery" not in repr(vars(auth))
    assert auth.check("equipe", "correct horse battery")
    assert not auth.check("equipe", "correct horse batter")
    assert not auth.check("admin", "correct horse battery")
    assert not auth.check("equipe", "x" * 5000)
    # Gradio awaits the callback only if it is a coroutine function: it must be one.
    assert inspect.iscoroutinefunction(auth.verify)
    # in a thread of its own: Playwright's sync API leaves a loop running in this one
    with ThreadPoolExecutor(1) as pool:
        ok = pool.submit(asyncio.run, auth.verify("equipe", "correct horse battery")).result()
        wrong = pool.submit(asyncio.run, auth.verify("equipe", "faux")).result()
    assert ok is True and wrong is False
    with pytest.raises(PoleqaError) as e:
        StaffAuth("court")
    assert "au moins" not in e.value.message and "10" in e.value.message_fr
    for spaces in (" " * 10, " \t" * 8 + "abc"):  # ten spaces were a password
        with pytest.raises(PoleqaError):
            StaffAuth(spaces)
    StaffAuth(" dix lettres ")  # spaces count beside ten other characters


def _post(app: Any, path: str, body: bytes) -> list[MutableMapping[str, Any]]:
    """One JSON POST through the ASGI `app`, in a thread of its own (Playwright's sync API leaves
    a loop running in this one); the messages it sent back."""
    length = str(len(body)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", length)]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return sent


def test_the_api_guard_parses_a_call_once_and_passes_it_on_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `ask` as Gradio's API describes it, its session state left out: checked, then passed on
    # with a null in the state's place, as Gradio's own client sends it
    seen: dict[str, Any] = {}

    async def gradio(scope: Any, receive: Any, send: Any) -> None:
        seen["headers"], seen["body"] = dict(scope["headers"]), (await receive())["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    ask = Endpoints(
        frozenset({"ask"}), frozenset({0}), None, inputs={0: Inputs(2, (1,))}, by_name={"ask": 0}
    )
    parsed: list[object] = []
    loads = json.loads

    def counted(text: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(text)
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counted)
    sent = _post(ApiGuard(gradio, {"/": ask}), "/gradio_api/call/ask", b'{"data": ["Combien ?"]}')
    monkeypatch.undo()
    assert sent[0]["status"] == 200
    assert len(parsed) == 1  # the checks and the states put in share one parse
    assert json.loads(seen["body"]) == {"data": ["Combien ?", None]}
    # Gradio is told the length of the body it reads, not of the one sent
    assert seen["headers"][b"content-length"] == str(len(seen["body"])).encode()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "rien"),
        ("", "rien"),
        (True, "vrai"),
        (2.5, "2,5"),
        ("dix", "« dix »"),
        (10_000, "10000"),
    ],
)
def test_a_number_refused_names_what_was_sent_in_french(value: object, shown: str) -> None:
    # « (reçu : None) », « (reçu : True) »: Python's words in a French message
    with pytest.raises(PoleqaError) as refused:
        int_input(value, "verify", "Le nombre de passages", 1, 20)
    assert refused.value.message_fr == (
        f"Le nombre de passages doit être un nombre entier entre 1 et 20 (reçu : {shown})."
    )
