"""Staff sessions end: a working day after the login, or after hours without a request (the
real server, the lifetimes shortened)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from webfake import FakePipeline, logged_in, serving

from poleqa.web import create_app, lifetime

PASSWORD = "un mot de passe d'équipe"


def _in(client: httpx.Client) -> bool:
    """Whether the client's session opens the staff area (Gradio's config asks for it)."""
    return client.get("equipe/config").status_code == 200


def test_an_unused_session_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Gradio's tokens lived until a logout or a restart: a session left open on a shared
    # computer, or a token copied from it, stayed good for weeks
    monkeypatch.setattr(lifetime, "IDLE", 1.0)
    with serving(create_app(FakePipeline(), tmp_path / "data", staff_password=PASSWORD)) as url:
        used, unused = logged_in(url, PASSWORD), logged_in(url, PASSWORD)
        assert _in(used) and _in(unused)
        for _ in range(4):  # one in use: a request every half second keeps it
            time.sleep(0.5)
            assert _in(used)
        assert not _in(unused)  # 2 s without a request
        assert not _in(unused)  # ended for good, not for one request
        assert _in(logged_in(url, PASSWORD))  # a new login opens a new one


def test_a_session_ends_after_its_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifetime, "MAX_AGE", 1.5)
    with serving(create_app(FakePipeline(), tmp_path / "data", staff_password=PASSWORD)) as url:
        staff = logged_in(url, PASSWORD)
        assert _in(staff)
        time.sleep(0.5)
        assert _in(staff)  # used all along
        time.sleep(1.2)
        assert not _in(staff)
        page = staff.get("equipe/")
        assert page.status_code == 200 and "Espace équipe de poleqa" in page.text  # the login
