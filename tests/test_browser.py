"""The web chat in a real Chromium: answers, sources, follow-ups, feedback, no HTML injection."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from webserver import (
    FOLLOW_UP,
    SEED_QUESTION,
    STAFF_PASSWORD,
    STAFF_USER,
    Server,
    require_staff_area,
)

from poleqa.feedback import FeedbackStore

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INJECTION = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> **gras**'
ANSWER_TIMEOUT = 60_000  # ms; the first question may wait for the model to warm up

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser, web_server: Server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 1100})
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    ctx.requests = requests  # type: ignore[attr-defined]
    yield ctx
    ctx.close()
    origin = web_server.url.rstrip("/")
    outside = [u for u in requests if not (u.startswith(origin + "/") or u == origin)]
    outside = [u for u in outside if not u.startswith(("data:", "blob:"))]
    assert outside == [], f"requests outside the local server: {outside}"


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _ask(page, question: str, answers_before: int) -> None:  # type: ignore[no-untyped-def]
    page.fill("#pq-question textarea", question)
    page.click("#pq-send")
    page.wait_for_function(
        "n => document.querySelectorAll('#pq-chat .bot-row').length > n",
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
    page.locator("input[type=text]").first.fill(STAFF_USER)
    page.fill("input[type=password]", "pas le bon mot de passe")
    page.press("input[type=password]", "Enter")
    page.get_by_text("Identifiants incorrects").wait_for(timeout=10_000)  # fr-FR context
    assert page.locator("#pq-query").count() == 0
    page.fill("input[type=password]", STAFF_PASSWORD)
    page.press("input[type=password]", "Enter")
    page.wait_for_selector("#pq-query textarea", timeout=ANSWER_TIMEOUT)
    return page


def test_public_chat_has_no_staff_tab(context, web_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(web_server.url)
    page.wait_for_selector("#pq-question textarea")
    assert page.get_by_role("tab").count() == 0
    assert page.locator("#pq-query, #pq-reindex, #pq-evaluate").count() == 0


def test_citizen_journey(context, web_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(web_server.url)
    page.wait_for_selector("#pq-question textarea")

    # 1. A seed question: answer with its short answer marked and citation [1], and the sources.
    _ask(page, SEED_QUESTION, 0)
    answer = page.locator("#pq-chat .bot-row").last
    assert "55" in answer.locator("mark.pq-short").inner_text()
    assert answer.locator(".pq-cite").inner_text() == "[1]"
    assert answer.locator(".pq-source").count() >= 1
    assert answer.locator(".pq-source-head").first.inner_text().startswith("[1]")
    _shot(page, "01_answer")

    # 2. The source opens on the app's own page, scrolled to the marked passage.
    with context.expect_page() as opened:
        answer.locator(".pq-open a").first.click()
    doc = opened.value
    doc.wait_for_load_state()
    assert doc.url.startswith(web_server.url + "document?") and doc.url.endswith("#passage")
    mark = doc.locator("mark#passage")
    assert "55" in mark.inner_text()
    box = mark.bounding_box()
    assert box is not None and 0 <= box["y"] < 1100  # in the viewport
    _shot(doc, "02_document")
    doc.close()

    # 3. A follow-up keeps the context: the question is understood with the previous one.
    _ask(page, FOLLOW_UP, 1)
    follow = page.locator("#pq-chat .bot-row").last
    resolved = follow.locator(".pq-resolved").inner_text()
    assert "labellisés en 2023" in resolved and "Auvergne-Rhône-Alpes" in resolved
    assert follow.locator(".pq-answer").count() == 1
    _shot(page, "03_follow_up")

    # 4. Feedback: a comment and the thumb on the follow-up's answer, stored on disk.
    page.fill("#pq-comment textarea", "Réponse claire, merci")
    # The thumbs sit under each answer; the last pair belongs to the follow-up's answer.
    page.locator("#pq-chat").get_by_role("button", name="J'aime").last.click()
    page.wait_for_selector("#pq-status .pq-ok", timeout=10_000)
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
    _shot(page, "04_injection")

    # 6. "Nouvelle conversation" empties the chat; an example question asks itself.
    page.click("#pq-new")
    page.wait_for_function("document.querySelectorAll('#pq-chat .bot-row').length === 0")
    example = page.locator(".pq-example").first
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
    _shot(page, "05_script_document_answer")

    # The staff's « Vérifier » tab (behind the login) shows the same passage literally.
    staff = _staff_login(context, web_server)
    staff.fill("#pq-query textarea", "Hydrogène Bourgogne adhérents")
    staff.click("#pq-search")
    staff.wait_for_selector("#pq-hits table", timeout=ANSWER_TIMEOUT)
    assert "zz_piege.md" in staff.locator("#pq-hits").inner_text()
    assert '<img src=x onerror="window.__pwned=5">' in staff.locator("#pq-hits").inner_text()
    assert staff.evaluate("window.__pwned") is None
    _shot(staff, "06_verify")

    # The whole document page: title and body escaped, nothing runs.
    doc = context.new_page()
    doc.goto(web_server.url + "document?" + urllib.parse.urlencode({"source": "zz_piege.md"}))
    assert "<script>window.__pwned=4</script>" in doc.locator(".text").inner_text()
    assert doc.evaluate("window.__pwned") is None
    _shot(doc, "07_script_document_page")
