"""The chat in Chromium on the fake pipeline (no model): citations, notes, feedback, layout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import webfake
from browsing import local_only, shot
from webserver import STAFF_PASSWORD

from poleqa.feedback import FeedbackStore
from poleqa.web.common import PREPARING, Readiness

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def fake_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webfake.Site]:
    """The app on the fake pipeline (no model): fixed answers, citations and notes."""
    data = tmp_path_factory.mktemp("browser") / "data"
    with webfake.fake_site(data, staff_password=STAFF_PASSWORD) as site:
        yield site


@contextmanager
def _chat(browser, site: webfake.Site, width: int = 1400, height: int = 900):  # type: ignore[no-untyped-def]
    """The fake site's chat in a window of `width` × `height`."""
    with local_only(browser, site.url, width, height) as ctx:
        page = ctx.new_page()
        page.goto(site.url)
        page.wait_for_selector("#pq-question textarea")
        yield page


def _ask_fake(page, question: str):  # type: ignore[no-untyped-def]
    """Asks and returns the new answer's element."""
    before = page.locator("#pq-chat .pq-answer").count()
    page.fill("#pq-question textarea", question)
    page.click("#pq-send")
    page.wait_for_function(
        "n => document.querySelectorAll('#pq-chat .pq-answer').length > n", arg=before
    )
    return page.locator("#pq-chat .pq-answer").nth(before)


def _in_chat_view(page, locator) -> bool:  # type: ignore[no-untyped-def]
    """Whether `locator` is within the conversation's visible area."""
    chat = page.locator("#pq-chat .bubble-wrap").bounding_box()
    box = locator.bounding_box()
    return box is not None and chat["y"] - 1 <= box["y"] < chat["y"] + chat["height"]


def test_opening_the_chat_sends_nothing_through_the_queue(browser, fake_site) -> None:  # type: ignore[no-untyped-def]
    # The status line was read through Gradio's queue on opening: when that read ended just as
    # the first question was sent, the page's event stream closed under the question, which
    # never got its answer (1 page in 60 asking at once). It is read outside the queue now.
    with local_only(browser, fake_site.url, 1400, 900) as ctx:
        page = ctx.new_page()
        queued: list[str] = []
        page.on("request", lambda r: queued.append(r.url) if "/queue/" in r.url else None)
        with page.expect_response(lambda r: r.url.endswith("/gradio_api/run/predict")) as read:
            page.goto(fake_site.url)
        assert read.value.status == 200
        page.wait_for_selector("#pq-question textarea")
        assert queued == []
        answer = _ask_fake(page, "Combien de pôles ?")
        assert webfake.SHORT in answer.inner_text()
        assert any(u.split("?")[0].endswith("/queue/join") for u in queued)


def test_clicking_a_citation_reveals_its_passage_highlighted(browser, fake_site) -> None:  # type: ignore[no-untyped-def]
    with _chat(browser, fake_site) as page:
        first = _ask_fake(page, "Combien de pôles ?")
        for _ in range(2):  # push the first answer up and out of view
            _ask_fake(page, webfake.BY_YEAR_QUESTION)
        passage = first.locator(".pq-passage").first
        assert not passage.is_visible()  # the source card starts closed: one line
        assert first.locator(".pq-excerpt").is_visible()
        first.locator(".pq-text a.pq-cite").click()
        # the smooth scroll: up to 5 s on a loaded machine (a fixed 600 ms wait was flaky)
        for _ in range(50):
            if _in_chat_view(page, passage):
                break
            page.wait_for_timeout(100)
        assert passage.is_visible() and "pq-target" in (passage.get_attribute("class") or "")
        assert first.locator("details.pq-doc").first.get_attribute("open") is not None
        assert passage.locator("mark.pq-hl").inner_text().startswith("Le 12 février")
        assert passage.locator("mark.pq-hl strong").inner_text() == "38 pôles"
        assert _in_chat_view(page, passage)
        assert page.evaluate("window.__pwned") is None
        shot(page, "10_citation_open")


def test_by_year_note_shows_both_years_and_opens_their_sources(browser, fake_site) -> None:  # type: ignore[no-untyped-def]
    with _chat(browser, fake_site) as page:
        answer = _ask_fake(page, webfake.BY_YEAR_QUESTION)
        note = answer.locator(".pq-by-year")
        assert note.locator(".pq-note-head").inner_text() == "Selon la date des documents :"
        years = note.locator("li").all_inner_texts()
        assert [y.split(" : ")[0] for y in years] == ["document de 2019", "document de 2023"]
        assert "41 pôles" in years[0] and "38 pôles" in years[1]
        # Citations 1 and 3 share a document: one card; citation 2 has its own.
        assert answer.locator("details.pq-doc").count() == 2
        assert answer.locator("details.pq-doc summary").first.inner_text().startswith("[1][3]")
        note.locator("a.pq-cite", has_text="[2]").click()
        opened = answer.locator(".pq-passage.pq-target")
        opened.wait_for()
        assert opened.inner_text().startswith("[2] En 2019, la Sorlande comptait 41 pôles")
        # A completed follow-up says how it was understood, above the answer.
        follow = _ask_fake(page, webfake.FOLLOW_UP)
        understood = follow.locator(".pq-resolved").inner_text()
        assert understood == f"J'ai compris : « {webfake.RESOLVED} »"


def test_one_feedback_control_per_answer_stores_rating_and_comment(browser, fake_site) -> None:  # type: ignore[no-untyped-def]
    with _chat(browser, fake_site) as page:
        first = _ask_fake(page, "Combien de pôles ?")
        _ask_fake(page, webfake.FOLLOW_UP)
        assert page.locator("#pq-chat .pq-feedback").count() == 2
        # No Gradio thumbs or copy buttons, no global feedback box.
        gradio_buttons = "#pq-chat [aria-label='Like'], #pq-chat [aria-label='Copy']"
        assert page.locator(gradio_buttons).count() == 0
        assert page.locator("#pq-comment, #pq-up, #pq-down").count() == 0
        icon = first.locator("button.pq-up svg").bounding_box()
        assert icon is not None and icon["width"] >= 12  # drawn, not an emoji glyph
        first.locator("button.pq-down").click()
        first.locator(".pq-fb-status.pq-ok").wait_for(timeout=10_000)
        assert first.locator("button.pq-down").get_attribute("aria-pressed") == "true"
        first.locator(".pq-comment textarea").fill("Il manque <b>2024</b>")
        first.locator("button.pq-send-comment").click()
        page.wait_for_function(
            "() => document.querySelector('.pq-fb-status').textContent.includes('commentaire')",
            timeout=10_000,
        )
        assert first.locator(".pq-comment").count() == 0  # sent: the box is gone
        # the other thumb afterwards: the new event keeps the comment (the export keeps only
        # the last event of an answer, and once lost the comment there)
        first.locator("button.pq-up").click()
        deadline = time.monotonic() + 10
        while FeedbackStore(fake_site.data).latest()[-1].rating != "up":
            assert time.monotonic() < deadline, "the new rating was not stored"
            time.sleep(0.1)
    latest = FeedbackStore(fake_site.data).latest()[-1]
    assert (latest.rating, latest.comment, latest.question) == (
        "up",
        "Il manque <b>2024</b>",
        "Combien de pôles ?",
    )
    assert latest.answer and latest.citations[0].source == webfake.INFO.source


def test_phone_layout_has_no_horizontal_scroll_and_keeps_the_input(browser, fake_site) -> None:  # type: ignore[no-untyped-def]
    with _chat(browser, fake_site, 390, 844) as page:
        fits = "document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(fits)
        answer = _ask_fake(page, webfake.BY_YEAR_QUESTION)
        _ask_fake(page, webfake.FOLLOW_UP)
        _ask_fake(page, "Je m'abstiens ?")
        answer.locator(".pq-text a.pq-cite").click()
        answer.locator(".pq-passage.pq-target").wait_for()
        page.wait_for_timeout(600)
        assert page.evaluate(fits), page.evaluate("document.documentElement.scrollWidth")
        # Only the conversation scrolls: the question box stays in the window.
        assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
        box = page.locator("#pq-question textarea").bounding_box()
        send = page.locator("#pq-send").bounding_box()
        assert box is not None and send is not None
        assert box["y"] + box["height"] <= 844 and send["x"] + send["width"] <= 390
        shot(page, "11_phone")


@pytest.mark.parametrize(("width", "height"), [(683, 384), (320, 225)])
def test_at_high_zoom_the_page_scrolls_to_its_header_and_question_box(  # type: ignore[no-untyped-def]
    browser, fake_site, width: int, height: int
) -> None:
    # a QA pass found the page cut to the window at 200 % zoom on a laptop (683 × 384) and at
    # 400 % (320 × 225): « Nouvelle conversation » above it, the question box under it, and no
    # way to scroll to either (the rule meant for short windows was never applied)
    with _chat(browser, fake_site, width, height) as page:
        _ask_fake(page, webfake.BY_YEAR_QUESTION)
        _ask_fake(page, webfake.FOLLOW_UP)
        assert page.evaluate("document.documentElement.scrollHeight > window.innerHeight")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.evaluate("window.scrollTo(0, 0)")
        assert page.locator("#pq-new").bounding_box()["y"] >= 0
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        for control in ("#pq-question textarea", "#pq-send"):
            box = page.locator(control).bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height
        assert page.locator("#pq-chat").bounding_box()["height"] >= 200  # readable
        # the wheel, over the question row, scrolls the page back to its header
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -2000)
        page.wait_for_function("() => window.scrollY === 0")
        # the conversation scrolled up: Gradio's button back to its end has a French name
        page.evaluate("document.querySelector('#pq-chat .bubble-wrap').scrollTo(0, 0)")
        down = page.locator("#pq-chat button[aria-label='Aller à la fin de la conversation']")
        down.wait_for()
        assert down.get_attribute("title") == "Aller à la fin de la conversation"
        assert page.locator("[aria-label='Scroll down'], [title='Scroll down']").count() == 0
        shot(page, f"13_zoom_{width}x{height}")


def test_page_says_the_index_is_being_prepared_then_answers(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """First start: the page is up at once, says what is prepared, and answers once ready."""
    readiness = Readiness(ready=False)
    readiness.begin("Construction de l'index des documents…")
    site = webfake.fake_site(tmp_path / "data", readiness=readiness)
    with site as served, _chat(browser, served) as page:
        status = page.locator("#pq-status")
        status.get_by_text("Préparation de l'index… Construction de l'index").wait_for()
        page.fill("#pq-question textarea", "Combien de pôles ?")
        page.click("#pq-send")
        page.locator("#pq-chat .bot-row").get_by_text(PREPARING).wait_for()
        assert page.locator("#pq-chat .pq-answer").count() == 0
        shot(page, "12_preparing")
        readiness.done()
        # The status line is refreshed every few seconds: it empties by itself.
        page.wait_for_function(
            "() => !document.querySelector('#pq-status').textContent.trim()", timeout=15_000
        )
        answer = _ask_fake(page, "Combien de pôles ?")
        assert "38 pôles" in answer.inner_text()


# The contrast of an element's text over the first opaque background behind it, its opacity
# and its ancestors' multiplied in (WCAG 2.1's relative luminance); with {part: "placeholder"},
# its placeholder's; with {part: "outline"}, its focus ring's over what is around the element.
CONTRAST_JS = """(el, how) => {
  const part = (how || {}).part;
  const rgba = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const own = getComputedStyle(el, part === "placeholder" ? "::placeholder" : null);
  let fg = rgba(part === "outline" ? own.outlineColor : own.color);
  let alpha = fg.length > 3 ? fg[3] : 1, bg = null;
  const first = part === "outline" ? el.parentElement : el;
  for (let n = first; n && n.nodeType === 1; n = n.parentElement) {
    const s = getComputedStyle(n);
    alpha *= Number(s.opacity);
    const b = rgba(s.backgroundColor);
    if (!bg && b.length && (b.length < 4 || b[3] > 0.95)) bg = b.slice(0, 3);
  }
  bg = bg || [255, 255, 255];
  const mixed = fg.slice(0, 3).map((c, i) => c * alpha + bg[i] * (1 - alpha));
  const [hi, lo] = [lum(mixed), lum(bg)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_answer_text_and_controls_meet_wcag_contrast(browser, fake_site, scheme: str) -> None:  # type: ignore[no-untyped-def]
    # a review found the short answer in an opened passage invisible in the dark theme (1.01:1),
    # white on orange buttons at 2.8:1, and small text under 4.5:1 through stacked opacities
    with local_only(browser, fake_site.url, 1400, 900) as ctx:
        page = ctx.new_page()
        page.goto(fake_site.url + f"?__theme={scheme}")
        page.wait_for_selector("#pq-question textarea")
        answer = _ask_fake(page, "Combien de pôles ?")
        answer.locator("details.pq-doc summary").first.click()
        answer.locator(".pq-rate").first.click()
        answer.locator(".pq-text a.pq-cite").first.click()
        opened = answer.locator(".pq-passage.pq-target")
        opened.wait_for()
        checked = {
            "short answer": answer.locator(".pq-short").first,
            "highlighted answer in the passage": answer.locator(".pq-hl strong").first,
            "citation link": answer.locator("a.pq-cite").first,
            "source number": answer.locator(".pq-num").first,
            "source excerpt": answer.locator(".pq-excerpt").first,
            "document date": answer.locator(".pq-doc-meta").first,
            "confidence": answer.locator(".pq-meta").first,
            "rating pressed": answer.locator('.pq-rate[aria-pressed="true"]').first,
            "send button": page.locator("#pq-send"),
            # the passage a citation opens: its text was 1.01:1 in the dark theme
            "passage opened by its citation": opened,
            "its document link": opened.locator("a.pq-open"),
        }
        low = {name: round(el.evaluate(CONTRAST_JS), 2) for name, el in checked.items()}
        assert {name: ratio for name, ratio in low.items() if ratio < 4.5} == {}, low
        # the question box shows where the focus is, its placeholder readable
        box = page.locator("#pq-question textarea")
        box.focus()
        assert box.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
        placeholder = box.evaluate(CONTRAST_JS, {"part": "placeholder"})
        assert placeholder >= 4.5, placeholder
        # … and « Envoyer », reached by the keyboard, a ring of 3:1 against the page
        page.keyboard.press("Tab")
        send = page.locator("#pq-send")
        assert send.evaluate("el => el === document.activeElement")
        # Gradio's buttons ease into their focus style: measured once that ends
        send.evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")
        ring = send.evaluate(CONTRAST_JS, {"part": "outline"})
        assert send.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
        assert ring >= 3, ring


def test_screen_readers_get_french_names_and_keyboard_focus_is_kept(browser, fake_site) -> None:  # type: ignore[no-untyped-def]
    # a review found each message named by its whole HTML in English, examples named « Select
    # example 1: … », and the focus dropped to the page's top after an example or a comment
    with _chat(browser, fake_site) as page:
        example = page.locator("#pq-chat button.example").first
        assert (example.get_attribute("aria-label") or "").startswith("Exemple 1 : ")
        example.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("#pq-chat .bot-row .pq-answer")
        page.wait_for_function(
            "() => document.activeElement === document.querySelector('#pq-question textarea')"
        )
        answer = _ask_fake(page, "Combien de pôles ?")
        labels = page.eval_on_selector_all(
            "#pq-chat [aria-label]", "els => els.map(e => e.getAttribute('aria-label'))"
        )
        assert "Réponse de poleqa" in labels and "Votre question" in labels, labels
        assert not [x for x in labels if "<" in x or "message" in x or "Select" in x], labels
        # each thumb a toggle named after its answer (« Oui » / « Non » alike under every one)
        thumbs = page.eval_on_selector_all(
            "#pq-chat .pq-rate",
            "bs => bs.map(b => [b.getAttribute('aria-label'), b.getAttribute('aria-pressed')])",
        )
        assert thumbs == [
            ["Réponse 1 utile : oui", "false"],
            ["Réponse 1 utile : non", "false"],
            ["Réponse 2 utile : oui", "false"],
            ["Réponse 2 utile : non", "false"],
        ], thumbs
        answer.locator("button.pq-up").click()
        answer.locator(".pq-fb-status.pq-ok").wait_for(timeout=10_000)
        answer.locator(".pq-comment textarea").fill("Clair.")
        answer.locator("button.pq-send-comment").focus()
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.activeElement && "
            "document.activeElement.classList.contains('pq-fb-status')",
            timeout=10_000,
        )
