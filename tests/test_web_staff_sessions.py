"""Staff sessions end: a working day after the login, or after hours without a request (the
real server, its clock moved by the test); the staff API's 401 then said in French."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from webfake import FakePipeline, logged_in, serving

from poleqa.web import create_app, lifetime

PASSWORD = "un mot de passe d'équipe"


class Clock:
    """The sessions' clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(lifetime, "CLOCK", moved)
    return moved


def _in(client: httpx.Client) -> bool:
    """Whether the client's session opens the staff area (Gradio's config asks for it)."""
    return client.get("equipe/config").status_code == 200


def test_an_unused_session_ends(tmp_path: Path, clock: Clock) -> None:
    # Gradio's tokens lived until a logout or a restart: a session left open on a shared
    # computer, or a token copied from it, stayed good for weeks
    with serving(create_app(FakePipeline(), tmp_path / "data", staff_password=PASSWORD)) as url:
        used, unused = logged_in(url, PASSWORD), logged_in(url, PASSWORD)
        assert _in(used) and _in(unused)
        for _ in range(3):  # one in use: a request every hour and a half keeps it
            clock.now += 1.5 * 3600
            assert _in(used)
        assert not _in(unused)  # 4.5 h without a request
        assert not _in(unused)  # ended for good, not for one request
        refused = unused.post("equipe/gradio_api/call/verify", json={"data": ["x", [], "", "", 1]})
        assert (refused.status_code, refused.json()) == (401, {"detail": lifetime.ENDED})
        assert _in(logged_in(url, PASSWORD))  # a new login opens a new one


def test_a_session_ends_after_its_day(tmp_path: Path, clock: Clock) -> None:
    with serving(create_app(FakePipeline(), tmp_path / "data", staff_password=PASSWORD)) as url:
        staff = logged_in(url, PASSWORD)
        assert _in(staff)  # first seen
        for _ in range(6):  # used all day long
            clock.now += 1.5 * 3600
            assert _in(staff)
        clock.now += 1.5 * 3600  # 10.5 h after the login
        assert not _in(staff)
        page = staff.get("equipe/")
        assert page.status_code == 200 and "Espace équipe de poleqa" in page.text  # the login
