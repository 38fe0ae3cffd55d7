"""Gradio's own notices (a full queue) reach the citizen in French, in a real Chromium."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
import webfake
from browsing import local_only

from poleqa.web import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT = 30_000  # ms


def _send(page, question: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#pq-question textarea", question)
    page.click("#pq-send")


def _wait_queued(url: str, n: int) -> None:
    """Until Gradio's queue holds `n` waiting questions (its own status route)."""
    deadline = time.monotonic() + WAIT / 1000
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "gradio_api/queue/status") as response:
            if json.load(response)["queue_size"] == n:
                return
        time.sleep(0.05)
    raise AssertionError(f"the queue never held {n} question(s)")


def test_full_queue_notice_is_french(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipeline = webfake.HeldPipeline()
    app = create_app(pipeline, tmp_path / "data", concurrency=1, queue_size=1)
    with webfake.serving(app) as url, local_only(browser, url, 1200, 900) as ctx:
        pages = [ctx.new_page() for _ in range(3)]
        for page in pages:
            page.goto(url)
            page.wait_for_selector("#pq-question textarea")
        try:
            _send(pages[0], "Combien de pôles ?")
            assert pipeline.started.acquire(timeout=WAIT / 1000)  # the one being answered
            _send(pages[1], "Combien de pôles en 2019 ?")  # waits in the queue, now full
            _wait_queued(url, 1)
            _send(pages[2], "Combien de pôles en 2023 ?")
            notice = pages[2].locator(".toast-wrap")
            notice.get_by_text("réessayez dans un instant").wait_for(timeout=WAIT)
            shown = notice.inner_text()
            assert "Le service reçoit beaucoup de questions" in shown
            assert "busy" not in shown and "Error" not in shown
        finally:
            pipeline.release.set()
        for page in pages[:2]:  # the questions admitted are answered once released
            page.locator("#pq-chat .pq-short").first.wait_for(timeout=WAIT)
