"""The staff's « Vérifier »: the passages of a query with their scores, dates and offsets, the
filters checked, refusals in French, what a date filter leaves out said."""

from __future__ import annotations

import dataclasses
import html as html_module
import logging
import re
from pathlib import Path

import pytest
from webfake import INFO, PASSAGE_END, SENT_START, TEXT, FakePipeline

from poleqa.feedback import FeedbackStore
from poleqa.types import Chunk, DocumentInfo, Hit, undated_note
from poleqa.web import render
from poleqa.web.staff import StaffApp


@pytest.fixture
def staff(tmp_path: Path) -> StaffApp:
    return StaffApp(FakePipeline(), FeedbackStore(tmp_path / "data"))


def html_text(html: str) -> str:
    """What a browser shows of an escaped message (entities decoded, tags dropped)."""
    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def test_verify_filters_and_validates_dates(staff: StaffApp) -> None:
    html = staff.verify("pôles", [INFO.source], "2023", "2024-12-31", 5)
    assert "<td>1</td><td>0,5000<br><small>dense 0,810</small>" in html
    # the rank is the reading order, the score the retrieval's: the table says both
    assert f'<p class="pq-hits-note">{render.esc(render.HITS_CAPTION)}</p><table' in html
    assert f"<td>{SENT_START}–{PASSAGE_END}</td>" in html
    # The staff page lives at /equipe/: its document links climb back to the app's root.
    assert 'href="../document?source=' in html
    assert "Date « 31/02/2023 » impossible" in staff.verify("pôles", [], "31/02/2023", "", 5)
    # written as the documents' dates are shown (30/03/2023): read as « 2023-03-30 »
    assert staff.verify("pôles", [], "01/01/2023", "31/12/2024", 5) == html
    assert "La date min. est postérieure" in staff.verify("pôles", [], "2024", "2023-12", 5)
    # checked as the chat's questions, said of the field staff fill in: « Requête »
    assert "La requête est vide." in staff.verify("", [], "", "", 5)
    assert "La requête ne contient aucun mot." in staff.verify("?!", [], "", "", 5)
    assert staff.source_choices() == [(f"{INFO.title} ({INFO.source})", INFO.source)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pôles", [], "", "", 10000), "Le nombre de passages doit être un nombre entier entre 1"),
        (("pôles", [], "", "", 2.5), "Le nombre de passages doit être un nombre entier entre 1"),
        (("pôles", [], "", "", True), "Le nombre de passages doit être un nombre entier entre 1"),
        (("pôles", ["autre.txt"], "", "", 5), "Document inconnu : « autre.txt »."),
        (("pôles", [7], "", "", 5), "Les documents doivent être une liste de noms de fichiers."),
        (("pôles", [], "2023-13-45", "", 5), "Date « 2023-13-45 » impossible"),
        (("pôles", [], "", "2023-02-30", 5), "Date « 2023-02-30 » impossible"),
        (("pôles", [], "", "l'an dernier", 5), "Date « l'an dernier » non reconnue"),
        (({"q": 1}, [], "", "", 5), "La requête doit être un texte."),
    ],
)
def test_verify_refuses_bad_input_in_french_with_one_log_line(
    staff: StaffApp, args: tuple, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="poleqa")
    html = staff.verify(*args)
    assert html.startswith('<div class="pq-message pq-error">')
    assert message in html_text(html)
    assert len([r for r in caplog.records if r.name.startswith("poleqa")]) == 1


def test_verify_says_when_a_document_has_no_date() -> None:
    # an undated document's date cell was empty, read as a display fault
    undated = dataclasses.replace(INFO, date=None)
    hit = Hit(Chunk(0, undated.source, 0, 9, TEXT[:9]), undated, 0.5, 1)
    assert f"<td>{render.UNDATED}</td>" in render.hits_html([hit])
    dated = dataclasses.replace(hit, info=INFO)
    assert "<td>30/03/2023</td>" in render.hits_html([dated])


class UndatedPipeline(FakePipeline):
    """The fake pipeline with two more documents, without a date."""

    def sources(self) -> list[DocumentInfo]:
        undated = [
            dataclasses.replace(INFO, source=f"sans-date-{n}.txt", date=None) for n in (1, 2)
        ]
        return [INFO, *undated]


def test_verify_says_how_many_undated_documents_a_date_filter_left_out(tmp_path: Path) -> None:
    # « Vérifier » with a date dropped the undated documents without a word (the CLI said it):
    # a fact-checker concluded a fact was absent from the corpus
    staff = StaffApp(UndatedPipeline(), FeedbackStore(tmp_path / "data"))
    note = render.message_html(undated_note(2), "info")
    assert staff.verify("pôles", [], "2023", "", 5).startswith(note)
    assert note not in staff.verify("pôles", [], "", "", 5)  # no date filter, nothing left out
    one = render.message_html(undated_note(1), "info")
    assert staff.verify("pôles", ["sans-date-1.txt", INFO.source], "", "2024", 5).startswith(one)
