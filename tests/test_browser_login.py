"""The staff login page in a real Chromium: its French title, failures said to screen readers,
the throttle's refusal shown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import webfake
from browsing import local_only

from poleqa.web import create_app
from poleqa.web.auth import LOGIN_FAILURES_PER_MINUTE
from poleqa.web.sessions import INCORRECT, LOGIN_TITLE, MISSING, THROTTLED

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "un mot de passe d'équipe"
WAIT = 10_000  # ms


@contextmanager
def _server(browser, folder: Path, width: int = 1200, height: int = 900) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A page on the staff login of a server of its own (its throttle refuses this machine for
    a minute after a test that fails logins), in a window of `width` × `height`; no script
    error on it meanwhile."""
    app = create_app(webfake.FakePipeline(), folder / "data", staff_password=PASSWORD)
    with webfake.serving(app) as url, local_only(browser, url, width, height) as ctx:
        page = ctx.new_page()
        failures: list[str] = []
        page.on("pageerror", lambda e: failures.append(str(e)))
        page.goto(url + "equipe/")
        page.wait_for_selector("input[type=password]")
        yield page
        assert failures == []


def _try(page, password: str) -> None:  # type: ignore[no-untyped-def]
    page.locator("input[type=text]").first.fill("equipe")
    page.fill("input[type=password]", password)
    page.press("input[type=password]", "Enter")


def test_login_failures_are_heard_and_the_throttle_is_shown(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with _server(browser, tmp_path) as page:
        assert page.title() == LOGIN_TITLE
        alert = page.get_by_role("alert")
        _try(page, "pas le bon mot de passe")
        # Gradio shows its own message; the live region says it to screen readers
        page.get_by_text("Identifiants incorrects").wait_for(timeout=WAIT)
        assert alert.text_content(timeout=WAIT) == INCORRECT
        for tries in range(2, LOGIN_FAILURES_PER_MINUTE + 1):
            _try(page, "pas le bon mot de passe")
            page.wait_for_function(
                "n => performance.getEntriesByType('resource')"
                ".filter(e => e.name.endsWith('/login')).length >= n",
                arg=tries,
                timeout=WAIT,
            )
        _try(page, PASSWORD)  # refused by the throttle, right as it is
        page.get_by_text(THROTTLED).wait_for(timeout=WAIT)
        assert alert.inner_text() == THROTTLED and alert.bounding_box()["height"] > 10
        assert not page.get_by_text("Identifiants incorrects").is_visible()
        assert page.locator("#pq-query").count() == 0  # still the login page


def test_after_a_wrong_password_the_user_name_stays_and_the_password_alone_lets_in(
    browser,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    # Gradio emptied both fields after a refusal: the password typed again alone was sent with
    # an empty user name, refused as « Identifiants incorrects » and counted as a failure
    with _server(browser, tmp_path) as page:
        _try(page, "pas le bon mot de passe")
        page.get_by_text("Identifiants incorrects").wait_for(timeout=WAIT)
        user = page.locator("input[type=text]").first
        page.wait_for_function(
            "() => document.querySelector('gradio-app input[type=text]').value === 'equipe'",
            timeout=WAIT,
        )
        assert page.evaluate("document.activeElement.type") == "password"
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector("#pq-query textarea", timeout=WAIT)
        assert user.count() == 0 or not user.is_visible()


def test_a_login_with_a_field_left_empty_is_told_so_and_not_counted(
    browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with _server(browser, tmp_path) as page:
        alert = page.get_by_role("alert")
        for _ in range(LOGIN_FAILURES_PER_MINUTE + 1):  # more than the throttle lets fail
            page.locator("input[type=text]").first.fill("equipe")
            page.fill("input[type=password]", "")
            page.locator("button").filter(has_text="Connexion").or_(
                page.locator("button").filter(has_text="Login")
            ).first.click()
            page.get_by_text(MISSING).wait_for(timeout=WAIT)
            assert alert.inner_text() == MISSING
            page.evaluate("document.getElementById('pq-login-alert').textContent = ''")
        _try(page, PASSWORD)  # not throttled: no password was tried
        page.wait_for_selector("#pq-query textarea", timeout=WAIT)


def test_the_login_page_lets_in_without_describing_the_staff_api(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the login page carries no API description (login_page.SessionlessPages); once
    # logged in, the staff page has the whole of it and its « Vérifier » answers
    with _server(browser, tmp_path) as page:
        described = page.evaluate("window.gradio_api_info")
        assert described == {"named_endpoints": {}, "unnamed_endpoints": {}}
        _try(page, PASSWORD)
        page.wait_for_selector("#pq-query textarea", timeout=WAIT)
        endpoints = page.evaluate("Object.keys(window.gradio_api_info.named_endpoints)")
        assert {"/verify", "/evaluate", "/reindex", "/feedback_export"} <= set(endpoints)
        page.fill("#pq-query textarea", "pôles")
        page.click("#pq-search")
        page.wait_for_selector("#pq-hits table", timeout=WAIT)


def test_on_a_phone_the_staff_can_log_out_and_scroll_the_passages(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # 390 px: the header's description gives way, its links stay; the passages' table is wider
    # than the window and scrolls in its own box (Gradio's inline style once cut it off)
    with _server(browser, tmp_path, 390, 844) as page:
        _try(page, PASSWORD)
        page.wait_for_selector("#pq-query textarea", timeout=WAIT)
        assert page.get_by_role("link", name="Se déconnecter").is_visible()
        assert page.get_by_role("link", name="Retour au chat public").is_visible()
        page.fill("#pq-query textarea", "pôles")
        page.click("#pq-search")
        page.wait_for_selector("#pq-hits table", timeout=WAIT)
        box = page.evaluate(
            "() => { const e = document.getElementById('pq-hits');"
            " return [e.clientWidth, e.scrollWidth, getComputedStyle(e).overflowX]; }"
        )
        width, content, overflow = box
        assert width <= 390 < content and overflow == "auto"
        page.evaluate("document.getElementById('pq-hits').scrollLeft = 10000")
        last = page.locator("#pq-hits table th").last.bounding_box()
        assert last is not None and last["x"] + last["width"] <= 390  # the last column in reach
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page stays put


def test_the_staff_upload_says_choisir_not_telecharger(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Gradio's own French for its upload zone, « Cliquez pour télécharger un fichier », reads as
    # « download » to most French readers: poleqa's wording replaces it
    with _server(browser, tmp_path) as page:
        _try(page, PASSWORD)
        page.wait_for_selector("#pq-query textarea", timeout=WAIT)
        page.get_by_role("tab", name="Évaluer").click()
        zone = page.get_by_text("Cliquez pour choisir un fichier")
        zone.first.wait_for(timeout=WAIT)
        assert "télécharger" not in page.locator("body").inner_text()
