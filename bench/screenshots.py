"""Screenshots of the web app for the docs: the chat and the staff area at 1400 and 390 px.

Starts the real app (`poleqa.web.create_app`) on a local port with a scripted pipeline over the
shipped corpus (documents read as usual, answers fixed: no model is loaded), drives Debian's
Chromium with Playwright and writes PNGs into docs/screenshots/:

  chat-answer-W.png     an answer with its « Selon la date des documents » note, citation [1] opened
  chat-follow-up-W.png  a follow-up (« J'ai compris : … ») and its sources
  chat-abstention-W.png an abstention with the closest passages and the tips
  staff-login-W.png     the staff area's login
  staff-verify-W.png    « Vérifier »: the top passages for a query
  staff-evaluate-W.png  « Évaluer »: the explained metrics and the accuracy by question type

Usage: python bench/screenshots.py [--out docs/screenshots] [--corpus corpus]
The staff password is POLEQA_STAFF_PASSWORD (default: the test server's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from poleqa.ingest import load_corpus
from poleqa.query import validate_question
from poleqa.types import Answer, Chunk, Citation, Document, DocumentInfo, Filters, Hit, Turn
from poleqa.web import create_app

REPO = Path(__file__).resolve().parents[1]
# Chromium's flags and the app served with `poleqa serve`'s settings, as the browser tests
# have them.
sys.path.insert(0, str(REPO / "tests"))
from browsing import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from webfake import serving  # noqa: E402

SIZES = {1400: 900, 390: 844}  # width: height of the window
STAFF_PASSWORD = "mot-de-passe-des-tests"  # tests/webserver.py's, unless the variable is set

AURA = "2023-03-30_auvergne-rhone-alpes-poles-labellises.txt"
CENTRE = "2014-01-07_centre-poles-nouvelle-phase-2013-2018.txt"
CIMES = "2022_cimes-poles-de-competitivite-en-france.txt"
DGE = "dge_les-poles-de-competitivite.txt"
POLYMERIS = "2025_polymeris-20-ans-des-poles.txt"

Q_LAUNCH = "En quelle année la politique des pôles de compétitivité a-t-elle été lancée ?"
Q_AURA = "Combien de pôles de compétitivité compte la région Auvergne-Rhône-Alpes ?"
Q_CENTRE = "Et en région Centre ?"
Q_TOKYO = "Quel est le prix d'un ticket de métro à Tokyo ?"


class DemoPipeline:
    """The shipped corpus with scripted answers and a word-overlap search (no model)."""

    def __init__(self, corpus: Path) -> None:
        self.docs = {d.source: d for d in load_corpus(corpus).documents}

    # -- answers -------------------------------------------------------------------------------
    def cite(self, n: int, source: str, needle: str, short: str | None = None) -> Citation:
        """Citation n: the paragraph holding `needle`; with `short`, `needle` is the answer."""
        doc = self.docs[source]
        at = doc.text.index(needle)
        start = doc.text.rfind("\n\n", 0, at) + 2 if "\n\n" in doc.text[:at] else 0
        end = doc.text.find("\n\n", at)
        end = len(doc.text) if end < 0 else end
        passage = doc.text[start:end]
        if short is None:
            return Citation(n, doc.info, start, end, passage, 0.6 - n / 20)
        stop = doc.text.index(".", at + len(needle)) + 1  # the answer: the needle's sentence
        s = doc.text.index(short, at)
        return Citation(n, doc.info, start, end, passage, 0.9, at, stop, s, s + len(short))

    def ask(
        self,
        question: str,
        history: tuple[Turn, ...] | None = None,
        k: int = 5,
        filters: Filters | None = None,
    ) -> Answer:
        question = validate_question(question, 2000)
        if question == Q_LAUNCH:
            sentence = (
                "Initiée en 2005, elle vise à mobiliser les facteurs clés de la compétitivité"
            )
            first = self.cite(1, CIMES, sentence, "2005")
            cited = (
                first,
                self.cite(2, CENTRE, "La politique des pôles de compétitivité a été mise en place"),
                self.cite(3, POLYMERIS, "20 ans"),
                self.cite(4, CIMES, "Une dynamique public-privé lancée en 2005"),
            )
            note = (
                "Selon la date des documents : document de 2014 : mise en place en 2004 [2] ; "
                "document de 2022 : initiée en 2005 [1]"
            )
            return self._answer(question, cited, "2005", notes=(note,))
        if question == Q_AURA:
            sentence = "La Région Auvergne-Rhône-Alpes compte désormais 13 pôles de compétitivité"
            first = self.cite(1, AURA, sentence, "13 pôles de compétitivité")
            cited = (first, self.cite(2, AURA, "Le 27 mars"), self.cite(3, CIMES, "Implanté en"))
            return self._answer(question, cited, "13 pôles de compétitivité")
        if question == Q_CENTRE:
            first = self.cite(1, CENTRE, "4 pôles ont leur siège en région Centre", "4 pôles")
            cited = (first, self.cite(2, CENTRE, "La DIRECCTE assure"), self.cite(3, DGE, "200"))
            resolved = "Combien de pôles de compétitivité compte la région Centre ?"
            return self._answer(question, cited, "4 pôles", resolved_question=resolved)
        cited = (
            self.cite(1, DGE, "Un pôle comprend en moyenne"),
            self.cite(2, CIMES, "Initiée en 2005"),
            self.cite(3, AURA, "La Région accompagne"),
        )
        return Answer(question, None, True, 0.12, citations=cited)

    def _answer(
        self, question: str, cited: tuple[Citation, ...], short: str, **extra: Any
    ) -> Answer:
        first = cited[0]
        text = self.docs[first.info.source].text[first.answer_start : first.answer_end]
        return Answer(
            question,
            text,
            False,
            0.86,
            short_answer=short,
            citations=cited,
            **extra,
        )

    # -- what the staff area uses -------------------------------------------------------------
    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        words = {
            w for w in re.findall(r"\w+", validate_question(query, 2000).lower()) if len(w) > 2
        }
        scored = []
        for doc in self.docs.values():
            if not _kept(doc.info, filters):
                continue
            for start, end in _paragraphs(doc.text):
                text = doc.text[start:end]
                score = len(words & set(re.findall(r"\w+", text.lower()))) / max(1, len(words))
                if score > 0:
                    scored.append((score, Chunk(len(scored), doc.source, start, end, text), doc))
        scored.sort(key=lambda t: -t[0])
        return [
            Hit(chunk, doc.info, round(score, 4), rank, round(0.7 + score / 5, 4), score * 9)
            for rank, (score, chunk, doc) in enumerate(scored[:k], 1)
        ]

    def document(self, source: str) -> Document:
        return self.docs[source]

    def sources(self) -> list[DocumentInfo]:
        return [d.info for d in self.docs.values()]

    def pinned(self) -> DemoPipeline:
        return self  # « Évaluer » asks of one index state; this corpus never changes

    def reload(self) -> None:
        pass

    def build(self, progress: bool = False, isolated: bool = False) -> SimpleNamespace:
        return SimpleNamespace(written=False, seconds=0.0, documents=len(self.docs), skipped=())


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    for m in re.finditer(r"[^\n](?:.|\n(?!\n))*", text):
        if len(m.group().strip()) > 40:
            yield m.start(), m.end()


def _kept(info: DocumentInfo, filters: Filters | None) -> bool:
    if filters is None:
        return True
    if filters.sources and info.source not in filters.sources:
        return False
    date = info.date or ""
    if filters.date_from and (not date or date < filters.date_from):
        return False
    return not (filters.date_to and (not date or date[: len(filters.date_to)] > filters.date_to))


def ask(page: Any, question: str) -> Any:
    """Asks in the chat and waits for the answer; returns the answer's element."""
    before = page.locator("#pq-chat .pq-answer").count()
    page.fill("#pq-question textarea", question)
    page.click("#pq-send")
    page.wait_for_function(
        "n => document.querySelectorAll('#pq-chat .pq-answer').length > n", arg=before
    )
    page.wait_for_timeout(600)
    return page.locator("#pq-chat .pq-answer").last


def chat_shots(browser: Any, url: str, out: Path, width: int) -> list[Path]:
    size = {"width": width, "height": SIZES[width]}
    written = []

    def shot(page: Any, name: str) -> None:
        path = out / f"{name}-{width}.png"
        page.screenshot(path=str(path))
        written.append(path)

    def fresh() -> Any:
        page = browser.new_page(viewport=size, locale="fr-FR")
        page.goto(url)
        page.wait_for_selector("#pq-question textarea")
        return page

    page = fresh()
    answer = ask(page, Q_LAUNCH)
    answer.locator(".pq-text a.pq-cite").click()
    page.wait_for_selector(".pq-passage.pq-target")
    page.wait_for_timeout(600)  # the smooth scroll
    shot(page, "chat-answer")
    page.close()

    page = fresh()
    ask(page, Q_AURA)
    ask(page, Q_CENTRE)
    shot(page, "chat-follow-up")
    page.close()

    page = fresh()
    ask(page, Q_TOKYO)
    shot(page, "chat-abstention")
    page.close()
    return written


def staff_shots(browser: Any, url: str, out: Path, width: int, password: str) -> list[Path]:
    page = browser.new_page(viewport={"width": width, "height": SIZES[width]}, locale="fr-FR")
    page.goto(url + "equipe/")
    page.wait_for_selector("input[type=password]")
    page.locator("input[type=text]").first.fill("equipe")
    login = out / f"staff-login-{width}.png"
    page.screenshot(path=str(login))
    page.fill("input[type=password]", password)
    page.press("input[type=password]", "Enter")
    page.wait_for_selector("#pq-query textarea", timeout=30_000)
    page.fill("#pq-query textarea", "pôles région Centre adhérents")
    page.click("#pq-search")
    page.wait_for_selector("#pq-hits table", timeout=30_000)
    verify = out / f"staff-verify-{width}.png"
    page.screenshot(path=str(verify))
    evaluate = out / f"staff-evaluate-{width}.png"
    evaluate_shot(page, evaluate)
    page.close()
    return [login, verify, evaluate]


# A small question set on the scripted answers: right, wrong (the expected 12 is not the 13
# answered) and unanswerable, so that the bars by type differ.
EVAL_SET = (
    {"question": Q_LAUNCH, "answers": ["2005"], "type": "date"},
    {"question": Q_AURA, "answers": ["13"], "type": "number"},
    {"question": Q_AURA, "answers": ["12"], "type": "number"},
    {"question": Q_TOKYO, "answers": [], "type": "unanswerable"},
)


def evaluate_shot(page: Any, path: Path) -> None:
    """« Évaluer » run on `EVAL_SET` through the page's upload, then its report."""
    with tempfile.TemporaryDirectory() as folder:
        questions = Path(folder) / "questions.jsonl"
        lines = [
            json.dumps({"id": f"q{i}", "sources": [], "answerable": bool(q["answers"]), **q})
            for i, q in enumerate(EVAL_SET, 1)
        ]
        questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
        page.get_by_role("tab", name="Évaluer").click()
        page.set_input_files("#pq-eval-upload input[type=file]", str(questions))
        page.wait_for_timeout(1000)  # the upload
        page.click("#pq-evaluate")
        page.wait_for_selector("#pq-metrics table.pq-by-type", timeout=30_000)
    page.screenshot(path=str(path), full_page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    password = os.environ.get("POLEQA_STAFF_PASSWORD") or STAFF_PASSWORD
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        app = create_app(DemoPipeline(args.corpus), Path(data), staff_password=password)
        with serving(app) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            written = []
            for width in SIZES:
                written += chat_shots(browser, url, args.out, width)
                written += staff_shots(browser, url, args.out, width, password)
            browser.close()
    for path in written:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


if __name__ == "__main__":
    main()
