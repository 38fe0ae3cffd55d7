"""The web chat in a real Chromium: answers, sources, follow-ups, feedback, no HTML injection."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest
from browsing import local_only, shot
from webserver import (
    FOLLOW_UP,
    SEED_QUESTION,
    STAFF_PASSWORD,
    STAFF_USER,
    Server,
    require_staff_area,
)

from poleqa.feedback import FeedbackStore

INJECTION = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> **gras**'
ANSWER_TIMEOUT = 60_000  # ms; the first question may wait for the model to warm up

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def context(browser, web_server: Server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    with local_only(browser, web_server.url, 1200, 1100) as ctx:
        yield ctx


def _ask(page, question: str, answers_before: int) -> None:  # type: ignore[no-untyped-def]
    page.fill("#pq-question textarea", question)
    page.click("#pq-send")
    # « Recherche de la réponse… » is a bot row of its own: wait until the answer replaced it
    # (Gradio's own placeholder too)
    page.wait_for_function(
        "n => document.querySelectorAll('#pq-chat .bot-row').length > n"
        " && !document.querySelector('#pq-chat .pq-pending, #pq-chat .pending')",
        arg=answers_before,
        timeout=ANSWER_TIMEOUT,
    )
    page.wait_for_timeout(300)  # let the message render fully


def _staff_login(context, server: Server):  # type: ignore[no-untyped-def]
    """Gradio's login form at /equipe/: a wrong password is refused, the right one lets in."""
    require_staff_area(server)
    page = context.new_page()
    page.goto(server.url + "equipe/")
    page.wait_for_selector("input[type=password]")
    # the page shows nothing of the throttle's refusal: it is said beforehand
    assert page.get_by_text("la connexion est refusée pendant une minute", exact=False).is_visible()
    page.locator("input[type=text]").first.fill(STAFF_USER)
    page.fill("input[type=password]", "pas le bon mot de passe")
    page.press("input[type=password]", "Enter")
    page.get_by_text("Identifiants incorrects").wait_for(timeout=10_000)  # fr-FR context
    assert page.locator("#pq-query").count() == 0
    page.locator("input[type=text]").first.fill(STAFF_USER)  # the failed try emptied it
    page.fill("input[type=password]", STAFF_PASSWORD)
    page.press("input[type=password]", "Enter")
    page.wait_for_selector("#pq-query textarea", timeout=ANSWER_TIMEOUT)
    assert page.evaluate("document.documentElement.lang") == "fr"
    return page


def test_public_chat_has_no_staff_tab(context, web_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(web_server.url)
    page.wait_for_selector("#pq-question textarea")
    assert page.evaluate("document.documentElement.lang") == "fr"  # for screen readers
    assert page.get_by_role("tab").count() == 0
    assert page.locator("#pq-query, #pq-reindex, #pq-evaluate").count() == 0


def test_citizen_journey(context, web_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(web_server.url)
    page.wait_for_selector("#pq-question textarea")

    # 1. A seed question: answer with its short answer marked and citation [1], and the sources.
    _ask(page, SEED_QUESTION, 0)
    answer = page.locator("#pq-chat .bot-row").last
    # Which figure the reader picks is the quality sets' business (tests/test_quality_floor.py);
    # here: the short answer is marked, and the same text is what [1]'s passage and the
    # document page highlight.
    short = answer.locator("mark.pq-short").inner_text().strip()
    assert short and short in answer.locator(".pq-text").inner_text()
    assert answer.locator(".pq-text a.pq-cite").inner_text() == "[1]"
    assert answer.locator("details.pq-doc").count() >= 1
    assert answer.locator("details.pq-doc summary").first.inner_text().startswith("[1]")
    answer.locator(".pq-text a.pq-cite").click()  # opens the passage of [1]
    passage = answer.locator(".pq-passage.pq-target")
    passage.wait_for()
    assert short in passage.locator("mark.pq-hl").inner_text()
    shot(page, "01_answer")

    # 2. The source opens on the app's own page, scrolled to the marked passage.
    with context.expect_page() as opened:
        passage.locator("a.pq-open").click()
    doc = opened.value
    doc.wait_for_load_state()
    assert doc.url.startswith(web_server.url + "document?") and doc.url.endswith("#passage")
    mark = doc.locator("mark#passage")
    assert short in mark.inner_text()
    box = mark.bounding_box()
    assert box is not None and 0 <= box["y"] < 1100  # in the viewport
    shot(doc, "02_document")
    doc.close()

    # 3. A follow-up keeps the context: the question is understood with the previous one.
    _ask(page, FOLLOW_UP, 1)
    follow = page.locator("#pq-chat .bot-row").last
    resolved = follow.locator(".pq-resolved").inner_text()
    assert "labellisés en 2023" in resolved and "Auvergne-Rhône-Alpes" in resolved
    assert follow.locator(".pq-answer").count() == 1
    shot(page, "03_follow_up")

    # 4. Feedback: the thumb under the follow-up's answer, then a comment, stored on disk.
    follow.locator("button.pq-up").click()
    follow.locator(".pq-fb-status.pq-ok").wait_for(timeout=10_000)
    follow.locator(".pq-comment textarea").fill("Réponse claire, merci")
    follow.locator("button.pq-send-comment").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.pq-fb-status.pq-ok')]"
        ".some(e => e.textContent.includes('commentaire'))",
        timeout=10_000,
    )
    record = FeedbackStore(web_server.data).records()[-1]
    assert (record.rating, record.comment) == ("up", "Réponse claire, merci")
    assert record.question == FOLLOW_UP
    assert record.citations and record.answer

    # 5. A question made of HTML is shown literally and never runs.
    _ask(page, INJECTION, 2)
    user = page.locator("#pq-chat .user-row").last
    assert user.locator(".pq-question").inner_text() == INJECTION
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#pq-chat img[src='x']").count() == 0
    shot(page, "04_injection")

    # 6. "Nouvelle conversation" empties the chat; an example question asks itself.
    page.click("#pq-new")
    page.wait_for_function("document.querySelectorAll('#pq-chat .bot-row').length === 0")
    example = page.locator("#pq-chat button.example").first
    asked = example.inner_text()
    example.click()
    page.wait_for_selector("#pq-chat .bot-row .pq-answer", timeout=ANSWER_TIMEOUT)
    assert page.locator("#pq-chat .user-row .pq-question").inner_text() == asked


def test_document_with_script_is_inert(context, web_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(web_server.url)
    page.wait_for_selector("#pq-question textarea")
    _ask(page, "Combien d'adhérents compte le pôle Hydrogène en Bourgogne ?", 0)
    answer = page.locator("#pq-chat .bot-row").last
    assert "<script>window.__pwned=4</script>" in answer.inner_text()
    assert page.evaluate("window.__pwned") is None
    shot(page, "05_script_document_answer")

    # The staff's « Vérifier » tab (behind the login) shows the same passage literally.
    staff = _staff_login(context, web_server)
    staff.fill("#pq-query textarea", "Hydrogène Bourgogne adhérents")
    staff.click("#pq-search")
    staff.wait_for_selector("#pq-hits table", timeout=ANSWER_TIMEOUT)
    assert "zz_piege.md" in staff.locator("#pq-hits").inner_text()
    assert '<img src=x onerror="window.__pwned=5">' in staff.locator("#pq-hits").inner_text()
    assert staff.evaluate("window.__pwned") is None
    shot(staff, "06_verify")

    # The whole document page: title and body escaped, nothing runs.
    doc = context.new_page()
    doc.goto(web_server.url + "document?" + urllib.parse.urlencode({"source": "zz_piege.md"}))
    assert "<script>window.__pwned=4</script>" in doc.locator(".text").inner_text()
    assert doc.evaluate("window.__pwned") is None
    shot(doc, "07_script_document_page")
