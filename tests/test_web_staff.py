"""The staff area's handlers (fake pipeline): « Vérifier » with its checks, re-indexing, export."""

from __future__ import annotations

import html as html_module
import logging
import re
from pathlib import Path

import pytest
from webfake import INFO, PASSAGE_END, SENT_START, FakePipeline

from poleqa.feedback import Feedback, FeedbackStore
from poleqa.web import render
from poleqa.web.staff import StaffApp


@pytest.fixture
def staff(tmp_path: Path) -> StaffApp:
    return StaffApp(FakePipeline(), FeedbackStore(tmp_path / "data"))


def test_verify_filters_and_validates_dates(staff: StaffApp) -> None:
    html = staff.verify("pôles", [INFO.source], "2023", "2024-12-31", 5)
    assert "<td>1</td><td>0.5000<br><small>dense 0.810</small>" in html
    assert f"<td>{SENT_START}–{PASSAGE_END}</td>" in html
    # The staff page lives at /equipe/: its document links climb back to the app's root.
    assert 'href="../document?source=' in html
    assert "Date « 30/03/2023 » non reconnue" in staff.verify("pôles", [], "30/03/2023", "", 5)
    assert "La date min. est postérieure" in staff.verify("pôles", [], "2024", "2023-12", 5)
    assert "La question est vide." in staff.verify("", [], "", "", 5)
    assert staff.source_choices() == [(f"{INFO.title} ({INFO.source})", INFO.source)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pôles", [], "", "", 10000), "Le nombre de passages doit être un nombre entier entre 1"),
        (("pôles", [], "", "", 2.5), "Le nombre de passages doit être un nombre entier entre 1"),
        (("pôles", [], "", "", True), "Le nombre de passages doit être un nombre entier entre 1"),
        (("pôles", ["autre.txt"], "", "", 5), "Document inconnu : « autre.txt »."),
        (("pôles", [7], "", "", 5), "Les documents doivent être une liste de noms de fichiers."),
        (("pôles", [], "2023-13-45", "", 5), "Date « 2023-13-45 » non reconnue"),
        (("pôles", [], "", "2023-02-30", 5), "Date « 2023-02-30 » non reconnue"),
        (("pôles", [], "", "２０２３", 5), "Date « ２０２３ » non reconnue"),
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


def html_text(html: str) -> str:
    """What a browser shows of an escaped message (entities decoded, tags dropped)."""
    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def test_reindex_reports_in_french_and_refuses_overlap(staff: StaffApp) -> None:
    assert staff.reindex() == render.message_html(
        "Index reconstruit en 2 s : 6 documents (ajoutés : 1, modifiés : 0, retirés : 0), "
        "30 passages. Fichiers illisibles ignorés : cassé.pdf.",
        "ok",
    )
    with staff._reindexing:
        assert "déjà en cours" in staff.reindex()


def test_feedback_export_is_a_csv_of_the_latest_opinions(staff: StaffApp) -> None:
    answer = FakePipeline().ask("Combien de pôles ?")
    staff.store.add(Feedback.about(answer, "down", "bof", "a"))
    staff.store.add(Feedback.about(answer, "up", "=1+1", "a"))
    status, path = staff.export_feedback()
    assert "Avis exportés : 1." in html_text(status)
    assert path is not None and Path(path).name == "avis.csv"
    rows = Path(path).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("id,time,rating,comment") and len(rows) == 2
    assert ",up,'=1+1," in rows[1]  # spreadsheet formulas stay text
