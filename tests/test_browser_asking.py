"""Sending a question in a real Chromium: Enter and « Envoyer » are one event, so a question
still being answered is not sent again by the other one."""

from __future__ import annotations

from pathlib import Path

import pytest
import webfake
from browsing import local_only

from poleqa.web import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT = 30  # seconds


def test_enter_then_envoyer_while_pending_sends_the_question_once(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipeline = webfake.HeldPipeline()
    app = create_app(pipeline, tmp_path / "data")
    with webfake.serving(app) as url, local_only(browser, url, 1200, 900) as ctx:
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_selector("#pq-question textarea")
        page.fill("#pq-question textarea", "Combien de pôles ?")
        page.press("#pq-question textarea", "Enter")
        assert pipeline.started.acquire(timeout=WAIT)
        page.click("#pq-send")  # the box still holds the question while it is answered
        try:
            assert not pipeline.started.acquire(timeout=2)  # not sent a second time
        finally:
            pipeline.release.set()
        page.locator("#pq-chat .pq-short").first.wait_for(timeout=WAIT * 1000)
        page.wait_for_timeout(500)  # a second answer, were there one, would show by now
        assert page.locator("#pq-chat .pq-answer").count() == 1
    assert len(pipeline.histories) == 1
