"""The staff area in a real Chromium: Gradio's own texts in French there too (its progress
text while a search runs, its refusal of a file over the upload limit), numbers with a decimal
comma, the « Vérifier » form whole in a 1280 px window."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import webfake
from browsing import local_only

from poleqa.types import Filters, Hit
from poleqa.web import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "un mot de passe d'équipe"
WAIT = 30_000  # ms


class HeldSearch(webfake.FakePipeline):
    """The fake pipeline whose searches (« Vérifier ») wait until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Semaphore(0)  # one token per search begun
        self.release = threading.Event()

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        self.started.release()
        self.release.wait(60)
        return super().search(query, k, filters)


@contextmanager
def _staff(
    browser,  # type: ignore[no-untyped-def]
    folder: Path,
    pipeline: Any = None,
    width: int = 1280,
    height: int = 900,
    corpus: Path | None = None,
    locale: str = "fr-FR",
) -> Iterator[object]:
    """A staff page, logged in, on a server of its own, in a window of `width` × `height`; no
    script error on it meanwhile. With a `corpus` folder, documents may be added to it."""
    app = create_app(
        pipeline or webfake.FakePipeline(),
        folder / "data",
        staff_password=PASSWORD,
        corpus_dir=corpus,
    )
    with webfake.serving(app) as url, local_only(browser, url, width, height, locale) as ctx:
        page = ctx.new_page()
        failures: list[str] = []
        page.on("pageerror", lambda e: failures.append(str(e)))
        page.goto(url + "equipe/")
        page.locator("input[type=text]").first.fill("equipe")
        page.fill("input[type=password]", PASSWORD)
        page.press("input[type=password]", "Enter")
        page.wait_for_selector("#pq-query textarea", timeout=WAIT)
        yield page
        assert failures == []


def test_gradio_speaks_french_in_an_english_browser_too(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Gradio says its own texts in the browser's language: its login form, the upload box and
    # its footer were English around poleqa's French in an English browser
    app = create_app(webfake.FakePipeline(), tmp_path / "data", staff_password=PASSWORD)
    with webfake.serving(app) as url, local_only(browser, url, 1280, 900, "en-US") as ctx:
        page = ctx.new_page()
        page.goto(url + "equipe/")
        page.locator("input[type=password]").wait_for(timeout=WAIT)
        login = page.inner_text("body")
        assert "nom d'utilisateur" in login and "Username" not in login, login
        page.locator("input[type=text]").first.fill("equipe")
        page.fill("input[type=password]", PASSWORD)
        page.press("input[type=password]", "Enter")
        page.get_by_role("tab", name="Évaluer").click()
        upload = page.locator("#pq-eval-upload")
        upload.wait_for(timeout=WAIT)
        assert "Déposez le fichier ici" in upload.inner_text()
        assert "Drop File Here" not in page.inner_text("body")
        assert page.evaluate("document.documentElement.lang") in ("fr", "fr-FR")


def test_the_progress_text_is_french_while_a_search_runs(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # poleqa.js said Gradio's « processing | 1.2s » in French on the chat only: the staff
    # pages kept it in English; its time and the scores had a decimal point
    pipeline = HeldSearch()
    with _staff(browser, tmp_path, pipeline) as page:
        try:
            page.fill("#pq-query textarea", "pôles")
            page.click("#pq-search")
            assert pipeline.started.acquire(timeout=WAIT / 1000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.meta-text, .meta-text-center')]"
                ".some(e => e.textContent.includes('en cours'))",
                timeout=WAIT,
            )
            page.wait_for_timeout(1200)  # the timer has ticked: Gradio has written it again
            shown = page.locator("body").inner_text()
        finally:
            pipeline.release.set()
        page.wait_for_selector("#pq-hits table", timeout=WAIT)
        hits = page.locator("#pq-hits").inner_text()
    assert re.search(r"en cours \| \d+,\d s", shown), shown
    assert "processing" not in shown and "queue:" not in shown
    # its time and the scores found, with a decimal comma as French writes them
    assert "0,5000" in hits
    assert not re.search(r"\d\.\d", shown) and not re.search(r"\d\.\d", hits)


def test_a_file_over_the_upload_limit_is_refused_in_french(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Gradio's client refuses it before sending, in an English notice: « File(s) exceed the
    # maximum allowed size of 20.0 Mb: "grand.jsonl" »
    big = tmp_path / "grand.jsonl"
    with big.open("wb") as f:
        f.truncate(20 * 1024 * 1024 + 1)
    with _staff(browser, tmp_path) as page:
        page.get_by_role("tab", name="Évaluer").click()
        page.locator("#pq-eval-upload input[type=file]").set_input_files(str(big))
        notice = page.locator(".toast-wrap")
        notice.get_by_text("Fichier trop volumineux").wait_for(timeout=WAIT)
        shown = notice.inner_text()
    assert "Fichier trop volumineux : « grand.jsonl » (20 Mo au plus)." in shown
    assert "Erreur" in shown and "exceed" not in shown and "Error" not in shown


# Each visible field of the page: its label's height and line height, its block's widths, and
# how far the slider's last value (« 20 ») reaches past its block's right edge.
FIELDS = """() => [...document.querySelectorAll('[data-testid=block-info]')]
  .filter((label) => label.offsetParent)
  .map((label) => {
    const block = label.closest('.block');
    const max = block.querySelector('[data-testid=max-value]');
    const past = max ? max.getBoundingClientRect().right - block.getBoundingClientRect().right : 0;
    return [label.textContent.trim(), label.getBoundingClientRect().height,
            parseFloat(getComputedStyle(label).lineHeight), block.scrollWidth, block.clientWidth,
            past];
  })"""


@pytest.mark.parametrize("width", [1280, 800])
def test_the_verify_form_shows_its_labels_whole(browser, tmp_path: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    # at 1280 px « Nombre de passages » took two lines in its 160 px, and the slider's « 20 »
    # was cut off; the dates' labels broke in « AAAA[-MM[- »
    with _staff(browser, tmp_path, width=width) as page:
        fields = page.evaluate(FIELDS)
    assert {f[0] for f in fields} >= {
        "Requête",
        "Nombre de passages",
        "Date max. (JJ/MM/AAAA)",
    }
    for label, height, line, scrolled, shown, past in fields:
        assert height < 1.5 * line, f"{label!r} on more than one line"
        assert scrolled <= shown and past <= 0, f"{label!r}'s field cut off"


def test_a_document_added_is_indexed_at_once_and_offered_by_verify(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the documents « Vérifier » offers were refreshed only by reloading the page, and a
    # document added waited for someone to think of « Réindexer »
    pipeline = webfake.small_pipeline(tmp_path / "site")
    sent = tmp_path / "fiche-mistral.md"
    sent.write_text("# Fiche Mistral\n\nLe pôle Mistral a son siège à Arles.\n", "utf-8")
    with _staff(browser, tmp_path, pipeline, corpus=tmp_path / "site" / "corpus") as page:
        page.get_by_role("tab", name="Index et avis").click()
        page.set_input_files("#pq-add-upload input[type=file]", str(sent))
        page.wait_for_timeout(500)  # the upload's progress done
        page.get_by_label("Date (JJ/MM/AAAA)").fill("30/10/2025")
        page.click("#pq-add")
        page.locator("#pq-add-status .pq-ok").wait_for(timeout=WAIT)
        status = page.locator("#pq-reindex-status .pq-ok")
        status.wait_for(timeout=WAIT)
        assert "ajoutés : 1" in status.inner_text()
        assert "fiche-mistral.md" in {s.source for s in pipeline.sources()}
        page.get_by_role("tab", name="Vérifier").click()
        page.get_by_label("Documents (tous si vide)").click()
        page.get_by_role("option", name="Fiche Mistral (fiche-mistral.md)").wait_for(timeout=WAIT)


def test_a_document_is_withdrawn_after_confirming_and_leaves_the_index(
    browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pipeline = webfake.small_pipeline(tmp_path / "site")
    corpus = tmp_path / "site" / "corpus"
    with _staff(browser, tmp_path, pipeline, corpus=corpus) as page:
        page.get_by_role("tab", name="Index et avis").click()
        page.click("#pq-withdraw")  # nothing chosen: said, nothing asked
        page.locator("#pq-withdraw-status .pq-info").wait_for(timeout=WAIT)
        assert "Choisissez d'abord un document." in page.inner_text("#pq-withdraw-status")
        choice = page.get_by_label("Document du corpus")
        choice.click()
        page.get_by_role("option", name="b_hetraie.md").click()
        page.click("#pq-withdraw")
        page.locator("#pq-withdraw-yes").wait_for(timeout=WAIT)
        assert "Retirer « b_hetraie.md » du corpus ?" in page.inner_text("#pq-withdraw-question")
        page.click("#pq-withdraw-no")  # cancelled: nothing moves
        page.locator("#pq-withdraw-yes").wait_for(state="hidden", timeout=WAIT)
        assert (corpus / "b_hetraie.md").exists()
        assert page.evaluate("document.activeElement.id") == "pq-withdraw"  # not the page's top
        # another document chosen after the question: the question goes (it named the first)
        page.click("#pq-withdraw")
        page.locator("#pq-withdraw-yes").wait_for(timeout=WAIT)
        choice.click()
        page.get_by_role("option", name="c_saline.md").click()
        page.locator("#pq-withdraw-yes").wait_for(state="hidden", timeout=WAIT)
        choice.click()
        page.get_by_role("option", name="b_hetraie.md").click()
        page.click("#pq-withdraw")
        page.click("#pq-withdraw-yes")
        page.locator("#pq-withdraw-status .pq-ok").wait_for(timeout=WAIT)
        status = page.locator("#pq-reindex-status .pq-ok")
        status.wait_for(timeout=WAIT)
        assert "retirés : 1" in status.inner_text()
        assert not (corpus / "b_hetraie.md").exists()
        assert [p.name for p in (corpus / ".retires").rglob("*.md")] == ["b_hetraie.md"]
        assert "b_hetraie.md" not in {s.source for s in pipeline.sources()}
        choice.click()  # the list no longer offers it
        page.get_by_role("option", name="a_cobalt.md").wait_for(timeout=WAIT)
        assert page.get_by_role("option", name="b_hetraie.md").count() == 0
        # a document put in the folder meanwhile (another tab, a colleague): offered on a load
        (corpus / "d_nouveau.md").write_text("# Nouveau\n\nUn pôle nouveau.\n", "utf-8")
        page.reload()
        page.get_by_role("tab", name="Index et avis").click()
        page.get_by_label("Document du corpus").click()
        page.get_by_role("option", name="d_nouveau.md").wait_for(timeout=WAIT)
