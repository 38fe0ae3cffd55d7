"""The staff login over HTTP (a real server, fake pipeline): its page titled in French with its
script, malformed logins and wrong methods answered in French, the throttle's answer."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest
from webfake import FakePipeline, serving

from poleqa.web import create_app
from poleqa.web.sessions import (
    INCORRECT,
    LOGIN_TITLE,
    MISSING,
    NOT_A_LOGOUT,
    NOT_POSTED,
    THROTTLED,
    TOO_LARGE,
    UNREADABLE,
)

PASSWORD = "un mot de passe d'équipe"
_ADDRESSES = count(1)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # this machine is a trusted proxy: each test logs in from an address of its own, with its
    # own five failures a minute
    app = create_app(FakePipeline(), tmp_path_factory.mktemp("login"), staff_password=PASSWORD)
    with serving(app, trusted_proxies="127.0.0.1") as served:
        yield served


def _client(url: str) -> httpx.Client:
    """A client the server takes for an address no other has used."""
    address = f"10.0.0.{next(_ADDRESSES)}"
    return httpx.Client(base_url=url, headers={"X-Forwarded-For": address})


def _title(page: str) -> str | None:
    found = re.search(r"<title>([^<]*)</title>", page)
    return found[1] if found else None


def test_the_login_page_has_a_french_title_and_says_failures(url: str) -> None:
    client = _client(url)
    page = client.get("equipe/")
    assert page.status_code == 200 and int(page.headers["content-length"]) == len(page.content)
    assert _title(page.text) == LOGIN_TITLE and re.search(r'<html\s+lang="fr"', page.text)
    assert '"pq-login-alert"' in page.text  # static/login.js
    # only the login page: not the staff page once logged in, nor the chat
    login = client.post("equipe/login", data={"username": "equipe", "password": PASSWORD})
    assert login.status_code == 200
    assert _title(client.get("equipe/").text) is None
    assert _title(client.get("").text) is None


MULTIPART = {"content-type": "multipart/form-data; boundary=xyz"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("request_", "answer"),
    [
        # FastAPI's 422 listing the missing fields, in English
        ({}, (400, UNREADABLE)),
        ({"data": {"username": "equipe"}}, (422, MISSING)),  # a field left blank
        ({"data": {"username": "", "password": PASSWORD}}, (422, MISSING)),
        ({"json": {"username": "equipe", "password": PASSWORD}}, (400, UNREADABLE)),
        (
            {"data": {"username": "equipe", "password": PASSWORD, "grant_type": "x"}},
            (400, UNREADABLE),
        ),
        ({"data": {"username": "equipe"}, "files": {"password": ("p", b"x")}}, (400, UNREADABLE)),
        # Starlette's parser reads no field in it: an empty form, no password tried
        ({"content": b"--xyz\r\ngarbage", "headers": MULTIPART}, (422, MISSING)),
        # Gradio's « Incorrect credentials. »
        ({"content": b"username=equipe&password=caf\xe9", "headers": FORM}, (400, INCORRECT)),
        ({"data": {"username": "equipe", "password": "devine"}}, (400, INCORRECT)),
        # up to a thousand fields of 1 MB each were read; a field over 1 MB said so in English
        (
            {"content": b"username=equipe&password=" + b"a" * 2_000_000, "headers": FORM},
            (413, TOO_LARGE),
        ),
    ],
)
def test_malformed_logins_are_answered_in_french(
    url: str, caplog: pytest.LogCaptureFixture, request_: dict[str, Any], answer: tuple[int, str]
) -> None:
    caplog.set_level(logging.WARNING, logger="poleqa")
    r = _client(url).post("equipe/login", **request_)
    assert (r.status_code, r.json()) == (answer[0], {"detail": answer[1]})
    logged = [m.getMessage() for m in caplog.records if m.name.startswith("poleqa")]
    if answer[1] == MISSING:  # no password tried: not a failure, nothing to log
        assert logged == []
    else:
        assert len(logged) == 1
        assert logged[0].startswith(("failed staff login", "refused staff login"))


def test_a_right_login_passes_as_a_form_or_as_the_page_sends_it(url: str) -> None:
    right = {"username": "equipe", "password": PASSWORD}
    assert _client(url).post("equipe/login", data=right).json() == {"success": True}
    # Gradio's page sends a FormData: multipart
    parts = {name: (None, value) for name, value in right.items()}
    assert _client(url).post("equipe/login", files=parts).json() == {"success": True}


def test_the_login_and_logout_addresses_answer_other_methods_in_french(url: str) -> None:
    client = _client(url)
    for path, page in (("equipe/login", "./"), ("equipe/login/", "../")):
        visit = client.get(path)  # typed in the address bar: the login page
        assert (visit.status_code, visit.headers["location"]) == (303, page)
    put = client.put("equipe/login")
    assert (put.status_code, put.headers["allow"], put.json()) == (
        405,
        "POST",
        {"detail": NOT_POSTED},
    )
    posted = client.post("equipe/logout")
    assert (posted.status_code, posted.json()) == (405, {"detail": NOT_A_LOGOUT})
    assert client.get("equipe/logout").status_code == 302  # as before


def test_a_throttled_login_says_when_to_try_again(url: str) -> None:
    client = _client(url)
    wrong = {"username": "equipe", "password": "devine"}
    codes = [client.post("equipe/login", data=wrong).status_code for _ in range(5)]
    refused = client.post("equipe/login", data={"username": "equipe", "password": PASSWORD})
    assert codes == [400] * 5 and refused.status_code == 429
    assert refused.json() == {"detail": THROTTLED} and refused.headers["retry-after"] == "60"
