"""Sending a question in a real Chromium: Enter and « Envoyer » are one event, so a question
still being answered is not sent again by the other one; the box empties as it is sent; no
English progress text; an uncertain answer warns first."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import webfake
from browsing import local_only

from poleqa.serialise import UNCERTAIN_TEXT
from poleqa.types import Answer
from poleqa.web import create_app
from poleqa.web.app import EXAMPLES
from poleqa.web.kept import UNANSWERED, load_said

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT = 30  # seconds


def _asked(ctx, url: str, question: str):  # type: ignore[no-untyped-def]
    """A new page of the chat, `question` typed and sent with Enter."""
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("#pq-question textarea")
    page.fill("#pq-question textarea", question)
    page.press("#pq-question textarea", "Enter")
    return page


@contextmanager
def _held(browser, tmp_path: Path) -> Iterator[tuple[Any, webfake.HeldPipeline]]:  # type: ignore[no-untyped-def]
    """The chat's page with « Combien de pôles ? » sent and being answered, held until
    `_let_through`, and its pipeline."""
    pipeline = webfake.HeldPipeline()
    app = create_app(pipeline, tmp_path / "data")
    with webfake.serving(app) as url, local_only(browser, url, 1200, 900) as ctx:
        page = _asked(ctx, url, "Combien de pôles ?")
        assert pipeline.started.acquire(timeout=WAIT)
        try:
            yield page, pipeline
        finally:
            pipeline.release.set()


@contextmanager
def _listening(browser, tmp_path: Path) -> Iterator[tuple[Any, webfake.HeldPipeline]]:  # type: ignore[no-untyped-def]
    """The chat's page on a held pipeline, its script listening, nothing asked yet."""
    pipeline = webfake.HeldPipeline()
    app = create_app(pipeline, tmp_path / "data")
    with webfake.serving(app) as url, local_only(browser, url, 1200, 900) as ctx:
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_function("() => window.poleqaChat")  # the page's script listens
        yield page, pipeline


def _reloaded_with(page, question: str) -> str:  # type: ignore[no-untyped-def]
    """Reloads `page` and waits for `question` back in its box; the status line then."""
    page.reload()
    page.wait_for_function(
        "q => document.querySelector('#pq-question textarea')?.value === q",
        arg=question,
        timeout=WAIT * 1000,
    )
    return " ".join(page.inner_text("#pq-status").split())


def _nothing_put_back(page) -> None:  # type: ignore[no-untyped-def]
    """Once the page shows an answer, a reload keeps it and puts no question back."""
    page.locator("#pq-chat .pq-answer").first.wait_for(timeout=WAIT * 1000)
    page.reload()
    page.locator("#pq-chat .pq-answer").first.wait_for(timeout=WAIT * 1000)
    page.wait_for_timeout(500)
    assert page.input_value("#pq-question textarea") == ""


def _let_through(page, pipeline: webfake.HeldPipeline) -> None:  # type: ignore[no-untyped-def]
    """The held question answered, its answer shown."""
    pipeline.release.set()
    page.locator("#pq-chat .pq-short").first.wait_for(timeout=WAIT * 1000)


def test_enter_then_envoyer_while_pending_sends_the_question_once(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with _held(browser, tmp_path) as (page, pipeline):
        page.click("#pq-send")  # the same event as Enter's, still running
        assert not pipeline.started.acquire(timeout=2)  # not sent a second time
        _let_through(page, pipeline)
        page.wait_for_timeout(500)  # a second answer, were there one, would show by now
        assert page.locator("#pq-chat .pq-answer").count() == 1
    assert len(pipeline.histories) == 1


class DoubtfulPipeline(webfake.FakePipeline):
    """The fake pipeline whose answers are marked uncertain."""

    def ask(self, question: str, *args: Any, **kwargs: Any) -> Answer:
        return replace(super().ask(question, *args, **kwargs), uncertain=True)


def test_an_uncertain_answer_shows_its_warning_above_it(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(DoubtfulPipeline(), tmp_path / "data")
    with webfake.serving(app) as url, local_only(browser, url, 1200, 900) as ctx:
        page = _asked(ctx, url, "Combien de pôles ?")
        warning = page.locator("#pq-chat .pq-uncertain").first
        warning.wait_for(timeout=WAIT * 1000)
        assert warning.inner_text() == UNCERTAIN_TEXT
        below = page.locator("#pq-chat .pq-text").first.bounding_box()
        above = warning.bounding_box()
        assert below is not None and above is not None
        assert above["y"] + above["height"] <= below["y"] + 1
        # its own colours, whatever Gradio's theme (dark-on-light, as the highlighted answer)
        style = "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
        assert warning.evaluate(style) == ["rgb(124, 45, 18)", "rgb(254, 243, 199)"]


def test_the_progress_text_is_french_while_a_question_is_answered(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Gradio's progress overlay wrote « processing | 2.1/0.1s » (English, hard-coded in its
    # frontend) over the chat: poleqa.js says it in French, the time and queue place kept
    with _held(browser, tmp_path) as (page, pipeline):
        page.wait_for_function(
            "() => [...document.querySelectorAll('.meta-text, .meta-text-center')]"
            ".some(e => e.textContent.includes('en cours'))",
            timeout=WAIT * 1000,
        )
        page.wait_for_timeout(1200)  # the timer has ticked: Gradio has written it again
        shown = page.locator("body").inner_text()
        _let_through(page, pipeline)
    assert "en cours" in shown
    assert "processing" not in shown and "queue:" not in shown


def test_the_box_empties_as_the_question_is_sent_and_keeps_what_is_typed_meanwhile(
    browser,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    # The reply used to empty the box: the next question, typed while the answer was awaited,
    # was lost when it came.
    with _held(browser, tmp_path) as (page, pipeline):
        box = page.locator("#pq-question textarea")
        assert box.input_value() == ""
        box.press_sequentially("Et en Bretagne")
        _let_through(page, pipeline)
        page.wait_for_timeout(300)  # the reply's other outputs are applied by now
        assert box.input_value() == "Et en Bretagne"
        # a refused question comes back to the box, to be corrected
        box.fill("?!")
        box.press("Enter")
        page.locator("#pq-chat .pq-error").first.wait_for(timeout=WAIT * 1000)
        page.wait_for_function("() => document.querySelector('#pq-question textarea').value")
        assert box.input_value() == "?!"
    assert pipeline.histories == [()]  # the refused one was not asked


def test_a_question_shows_at_once_and_the_next_one_can_be_sent_meanwhile(
    browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # The question used to show only with its answer, Gradio's progress covered the box, and a
    # second question sent meanwhile was dropped (the event was still running).
    with _held(browser, tmp_path) as (page, pipeline):
        chat = page.locator("#pq-chat")
        chat.locator(".pq-pending").first.wait_for(timeout=WAIT * 1000)
        assert chat.locator(".pq-question").all_inner_texts() == ["Combien de pôles ?"]
        assert chat.locator(".pq-pending").first.inner_text() == "Recherche de la réponse…"
        box = page.locator("#pq-question textarea")
        box.click(timeout=2000)  # nothing covers it
        box.fill("Et en Bretagne ?")
        box.press("Enter")
        page.wait_for_function(
            "() => document.querySelectorAll('#pq-chat .pq-pending').length === 2"
        )  # shown at once, while the first is answered
        _let_through(page, pipeline)
        page.wait_for_function(
            "() => document.querySelectorAll('#pq-chat .pq-answer').length === 2"
            " && !document.querySelector('#pq-chat .pq-pending')",
            timeout=WAIT * 1000,
        )
        questions = chat.locator(".pq-question").all_inner_texts()
    assert questions == ["Combien de pôles ?", "Et en Bretagne ?"]
    # the follow-up was read after the question sent before it, and its answer
    (before,) = pipeline.histories[1]
    assert before.question == "Combien de pôles ?" and before.answer


def test_a_new_conversation_while_a_question_is_answered_stays_empty(
    browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with _held(browser, tmp_path) as (page, pipeline):
        page.locator("#pq-chat .pq-pending").first.wait_for(timeout=WAIT * 1000)
        page.click("#pq-new")
        page.wait_for_function("() => !document.querySelector('#pq-chat .pq-question')")
        box = page.locator("#pq-question textarea")
        box.press_sequentially("Une autre question")  # typed at once: not wiped by the reset
        pipeline.release.set()
        deadline = time.monotonic() + WAIT
        while pipeline.running:  # the held question answered, its event ending
            assert time.monotonic() < deadline
            time.sleep(0.05)
        page.wait_for_timeout(500)  # its reply, were it shown, applied by then
        assert page.locator("#pq-chat .pq-question").count() == 0
        assert box.input_value() == "Une autre question"


def test_a_refused_opinion_leaves_the_stored_one_pressed(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # once the limit was reached, the thumb clicked showed pressed though nothing was stored
    app = create_app(webfake.FakePipeline(), tmp_path / "data", feedback_per_minute=1)
    with webfake.serving(app) as url, local_only(browser, url, 1200, 900) as ctx:
        page = _asked(ctx, url, "Combien de pôles ?")
        answer = page.locator("#pq-chat .pq-answer").first
        answer.wait_for(timeout=WAIT * 1000)
        answer.locator("button.pq-up").click()
        answer.locator(".pq-fb-status.pq-ok").wait_for(timeout=WAIT * 1000)
        answer.locator("button.pq-down").click()  # over the limit: refused
        answer.locator(".pq-fb-status.pq-error").wait_for(timeout=WAIT * 1000)
        pressed = [
            answer.locator(f"button.{b}").get_attribute("aria-pressed")
            for b in ("pq-up", "pq-down")
        ]
    assert pressed == ["true", "false"]


def test_a_reload_keeps_the_conversation_of_its_tab_only(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # a reload (or Back) lost the conversation: it lived in the server's state of the tab only
    app = create_app(webfake.small_pipeline(tmp_path / "site"), tmp_path / "data")
    with webfake.serving(app) as url, local_only(browser, url, 1200, 900) as ctx:
        page = _asked(ctx, url, "Où est le siège de Hêtraie Nord ?")
        answer = page.locator("#pq-chat .pq-answer")
        answer.first.wait_for(timeout=WAIT * 1000)
        shown = page.inner_text("#pq-chat .pq-answer")
        page.locator("#pq-chat .pq-down").first.click()  # « Non »: stored, shown pressed
        page.locator("#pq-chat .pq-fb-status.pq-ok").first.wait_for(timeout=WAIT * 1000)
        page.reload()
        answer.first.wait_for(timeout=WAIT * 1000)
        assert page.inner_text("#pq-chat .pq-answer") == shown
        assert page.input_value("#pq-question textarea") == ""  # answered: nothing put back
        pressed = page.locator("#pq-chat .pq-rate").evaluate_all(
            "bs => bs.map(b => b.getAttribute('aria-pressed'))"
        )
        assert pressed == ["false", "true"]  # the opinion given, after the reload too
        # a follow-up after the reload reads the question before it
        page.fill("#pq-question textarea", "Et celui de Saline-Est ?")
        page.press("#pq-question textarea", "Enter")
        answer.nth(1).wait_for(timeout=WAIT * 1000)
        assert "Port-Aubrel" in answer.nth(1).inner_text()
        # another tab starts its own; « Nouvelle conversation » is what a reload then finds
        other = ctx.new_page()
        other.goto(url)
        other.wait_for_selector("#pq-question textarea")
        other.wait_for_timeout(1000)  # the load's event done
        assert other.locator("#pq-chat .pq-answer").count() == 0
        page.click("#pq-new")
        answer.first.wait_for(state="detached", timeout=WAIT * 1000)
        page.reload()
        page.wait_for_selector("#pq-question textarea")
        page.wait_for_timeout(1000)
        assert answer.count() == 0


def test_a_question_still_being_answered_at_a_reload_comes_back_in_the_box(
    browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # it was dropped without a word: the reloaded page had no event to answer it
    with _held(browser, tmp_path) as (page, pipeline):
        page.locator("#pq-chat .pq-pending").first.wait_for(timeout=WAIT * 1000)
        # a second question sent meanwhile: its own event ends at once (the first one's
        # answers it), it still waits
        page.fill("#pq-question textarea", "Et en 2013 ?")
        page.press("#pq-question textarea", "Enter")
        page.locator("#pq-chat .pq-pending").nth(1).wait_for(timeout=WAIT * 1000)
        page.wait_for_timeout(600)  # that event's end, and what follows it, done
        # the first back in the box, the second named (only the last came back, the first
        # was lost)
        status = _reloaded_with(page, "Combien de pôles ?")
        assert status == load_said(False, ("Combien de pôles ?", "Et en 2013 ?")), status
        pipeline.release.set()
        page.click("#pq-send")  # sent again, answered
        _nothing_put_back(page)  # answered now


def test_an_example_still_being_answered_at_a_reload_comes_back_in_the_box(
    browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # an example clicked is a question sent: it was lost at a reload, the typed ones were not
    with _listening(browser, tmp_path) as (page, pipeline):
        example = page.locator("#pq-chat button.example").first
        asked = EXAMPLES[0]  # the question as the server asks it, not as the page shows it
        assert example.inner_text().strip() == asked
        example.click()
        assert pipeline.started.acquire(timeout=WAIT)
        try:
            assert UNANSWERED in _reloaded_with(page, asked)
        finally:
            pipeline.release.set()
        page.click("#pq-new")  # the examples again; the one clicked now is answered at once
        page.locator("#pq-chat button.example").first.click()
        _nothing_put_back(page)


def test_a_question_kept_by_a_page_from_before_comes_back_after_an_update(
    browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # a page served before this version kept its one question as it was, not as a JSON list:
    # the page of the new version (after the server's restart) read nothing of it
    with _listening(browser, tmp_path) as (page, _):
        page.evaluate("sessionStorage.setItem('poleqa-pending', 'Et en « 2013 » ?')")
        assert UNANSWERED in _reloaded_with(page, "Et en « 2013 » ?")
        # put back, then forgotten in the tab: not put back a second time
        page.wait_for_function("() => sessionStorage.getItem('poleqa-pending') === null")
