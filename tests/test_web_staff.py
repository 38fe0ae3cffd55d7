"""The staff area's handlers: « Vérifier » with its checks, « Évaluer » on a real small pipeline,
re-indexing and the feedback export."""

from __future__ import annotations

import html as html_module
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from webfake import INFO, TEXT, FakePipeline, small_pipeline

from poleqa.config import Settings
from poleqa.errors import QuestionError
from poleqa.evaluation.questions import parse_questions
from poleqa.feedback import Feedback, FeedbackStore
from poleqa.index.builder import BuildReport
from poleqa.types import Answer
from poleqa.web import render
from poleqa.web.eval_view import FORMAT_HELP, METRICS, TYPE_NAMES, value_text
from poleqa.web.staff import MAX_QUESTIONS, StaffApp, _build_summary, build_staff_blocks

# A question set about the documents of `webfake.WEB_DOCS` (and one they do not answer).
QUESTIONS = [
    {
        "question": "Combien d'adhérents comptait Vallée Cobalt en 2016 ?",
        "answers": ["148"],
        "sources": ["a_cobalt.md"],
        "answerable": True,
        "type": "number",
    },
    {
        "question": "Qui est la présidente de Vallée Cobalt ?",
        "answers": ["Odile Ferrandier"],
        "sources": ["a_cobalt.md"],
        "answerable": True,
        "type": "name",
    },
    {
        "question": "Où est le siège du pôle Hêtraie Nord ?",
        "answers": ["Vaudrecourt"],
        "sources": ["b_hetraie.md"],
        "answerable": True,
        "type": "name",
    },
    {
        "question": "Avec quel pôle Saline-Est a-t-il fusionné ?",
        "answers": ["Thalassor"],
        "sources": ["c_saline.md"],
        "answerable": True,
        "type": "name",
    },
    # The documents do not give this year: whatever the reply, it cannot be right.
    {
        "question": "En quelle année le pôle Hêtraie Nord a-t-il été créé ?",
        "answers": ["2005"],
        "sources": ["b_hetraie.md"],
        "answerable": True,
        "type": "date",
    },
    {
        "question": "Quel est le budget annuel du pôle Hêtraie Nord en 2031 ?",
        "answers": [],
        "sources": [],
        "answerable": False,
        "type": "unanswerable",
    },
]


@pytest.fixture
def staff(tmp_path: Path) -> StaffApp:
    pipeline = FakePipeline()
    pipeline.settings = Settings()  # type: ignore[attr-defined]  # as a Pipeline has
    return StaffApp(pipeline, FeedbackStore(tmp_path / "data"))


def _upload_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    """Where Gradio would have put an uploaded file `name` (its upload folder, made here)."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    upload = tmp_path / "uploads" / "abc" / name
    upload.parent.mkdir(parents=True)
    return upload


def html_text(html: str) -> str:
    """What a browser shows of an escaped message (entities decoded, tags dropped)."""
    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def test_reindex_reports_in_french_and_refuses_overlap(
    staff: StaffApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="poleqa")
    assert staff.reindex() == render.message_html(
        "Index reconstruit en 2 s : 6 documents (ajoutés : 1, modifiés : 0, retirés : 0), "
        "30 passages. Fichier non indexé : cassé.pdf (aucun texte n'a pu être extrait du "
        "fichier).",
        "ok",
    )
    # the operator's log says it too (only refusals were logged)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("poleqa")] == [
        "re-indexed from the staff area: 6 documents (1 added, 0 changed, 0 removed), 1 skipped"
        "\n  skipped cassé.pdf: no text could be extracted from the file"
    ]
    with staff._reindexing:
        assert "déjà en cours" in staff.reindex()


def test_build_summaries_count_in_french() -> None:
    one = BuildReport(1, 1, 1, 0, 0, 0, (), 0.4, "flat")
    assert _build_summary(one) == (
        "Index reconstruit en 0 s : 1 document (ajoutés : 1, modifiés : 0, retirés : 0), 1 passage."
    )
    up_to_date = BuildReport(1, 3, 0, 0, 0, 1, (), 0.1, "flat", written=False)
    assert _build_summary(up_to_date) == "L'index est déjà à jour (1 document)."


def test_feedback_export_is_a_csv_of_the_latest_opinions(staff: StaffApp) -> None:
    answer = FakePipeline().ask("Combien de pôles ?")
    staff.store.add(Feedback.about(answer, "down", "bof", "a"))
    staff.store.add(Feedback.about(answer, "up", "=1+1", "a"))
    status, path = staff.export_feedback()
    assert "Avis exportés : 1." in html_text(status)
    assert path is not None and Path(path).name == "avis.csv"
    rows = Path(path).read_text(encoding="utf-8").splitlines()
    # for a double click: columns and accents in a spreadsheet set to French
    assert rows[0].startswith("\ufeffid;time;rating;comment") and len(rows) == 2
    assert ";up;'=1+1;" in rows[1]  # spreadsheet formulas stay text


def test_evaluate_explains_each_metric_and_charts_accuracy_by_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real evaluation (real index, retrieval and reader on a small corpus) through the
    handler of the « Évaluer » button, as the page calls it (an uploaded file's record)."""
    upload = _upload_path(tmp_path, monkeypatch, "questions.jsonl")
    lines = [json.dumps({"id": f"q{i}", **q}, ensure_ascii=False) for i, q in enumerate(QUESTIONS)]
    upload.write_text("\n".join(lines) + "\n", encoding="utf-8")
    staff = StaffApp(small_pipeline(tmp_path), FeedbackStore(tmp_path / "data"))

    summary, failures, files = staff.evaluate({"path": str(upload)}, 5)

    assert files and any(Path(f).name == "report.json" for f in files)
    report = json.loads(next(Path(f) for f in files if f.endswith("report.json")).read_text())
    metrics = report.get("metrics", report)
    text = html_text(summary)
    # Every metric of the run is named in French, explained, and shows the run's value.
    shown = [m for m in METRICS if m[0] in metrics]
    assert {"answer_accuracy", "answer_f1", "abstain_accuracy", "false_abstain_rate"} <= {
        m[0] for m in shown
    }
    for key, label, explanation, kind in shown:
        assert label in text and explanation in text
        assert value_text(metrics[key], kind) in text
    # One bar per question type, with its number of questions and its accuracy.
    rows = re.findall(r'<tr class="pq-type-row">(.*?)</tr>', summary)
    types = {q["type"] for q in QUESTIONS}
    assert len(rows) == len(types)
    for qtype in types:
        row = next(r for r in rows if f"<code>{qtype}</code>" in r)
        assert TYPE_NAMES[qtype] in html_text(row)
        count = sum(q["type"] == qtype for q in QUESTIONS)
        assert f"<td>{count}</td>" in row
        accuracy = metrics.get(f"type/{qtype}/answer_accuracy")
        if accuracy is None:
            accuracy = metrics[f"type/{qtype}/abstain_accuracy"]
        assert value_text(accuracy, "rate") in html_text(row)
        assert f'style="width:{accuracy * 100:.1f}%"' in row
    # The failures listed are the questions judged wrong (the date at least).
    wrong = round((1 - metrics["overall_accuracy"]) * len(QUESTIONS))
    assert wrong >= 1 and metrics["type/date/answer_accuracy"] == 0
    assert f"Échecs : {wrong} sur {len(QUESTIONS)} questions" in html_text(failures)
    assert "En quelle année le pôle Hêtraie Nord" in html_text(failures)
    # in French for staff: the table's columns, the questions' types
    assert all(h in html_text(failures) for h in ("Réponse attendue", "Sources citées"))
    assert "expected_sources" not in failures
    failed_types = {q["type"] for q in QUESTIONS} & {
        t for t in TYPE_NAMES if f"<td>{TYPE_NAMES[t]}</td>" in failures
    }
    assert "date" in failed_types
    assert not [t for t in TYPE_NAMES if t != TYPE_NAMES[t] and f"<td>{t}</td>" in failures]


# A number written with a decimal point, as English does (a date « 2023-03-30 » is not one).
DECIMAL_POINT = re.compile(r"\d\.\d")


def test_every_number_on_the_staff_pages_has_a_decimal_comma(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staff: StaffApp
) -> None:
    # « Vérifier » wrote its scores « 0.5000 », « Évaluer » its rates « 64,0 % »: French
    # writes a comma, on both tabs
    verified = html_text(staff.verify("pôles", [], "", "", 5))
    assert "0,5000" in verified and "dense 0,810" in verified and "lexical 2,500" in verified
    assert not DECIMAL_POINT.search(verified), verified
    upload = _upload_path(tmp_path, monkeypatch, "questions.jsonl")
    lines = [json.dumps({"id": f"q{i}", **q}, ensure_ascii=False) for i, q in enumerate(QUESTIONS)]
    upload.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary, failures, _ = StaffApp(
        small_pipeline(tmp_path), FeedbackStore(tmp_path / "data")
    ).evaluate({"path": str(upload)}, 5)
    shown = html_text(summary + failures)
    assert re.search(r"\d,\d %", shown) and not DECIMAL_POINT.search(shown), shown
    # a table's figure, whichever table shows one
    assert "<td>0,250</td>" in render.table_html(["F1"], [[0.25]])


class _RefusingPipeline(FakePipeline):
    """Refuses the questions that start with « Refusée » as the real one refuses bad input."""

    def ask(self, question: str, *args: Any, **kwargs: Any) -> Answer:
        if question.startswith("Refusée"):
            raise QuestionError("The question is refused.", "La question est refusée.")
        return super().ask(question, *args, **kwargs)


def test_evaluation_failures_read_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an abstention where an answer was expected, an answer where none was, a refused question
    upload = _upload_path(tmp_path, monkeypatch, "questions.jsonl")
    rows = [
        {"id": "a", "question": "Je m'abstiens ?", "answers": ["38"], "answerable": True},
        {"id": "b", "question": "Combien ?", "answers": [], "answerable": False},
        {"id": "c", "question": "Refusée ?", "answers": ["38"], "answerable": True},
    ]
    upload.write_text("".join(json.dumps({"sources": [], **r}) + "\n" for r in rows), "utf-8")
    staff = StaffApp(_RefusingPipeline(), FeedbackStore(tmp_path / "data"))
    _, failures, _ = staff.evaluate({"path": str(upload)}, 5)
    shown = html_text(failures)
    assert "Échecs : 3 sur 3 questions" in shown
    assert "(pas de réponse)" in shown and "(aucune : poleqa doit le dire)" in shown
    assert "(erreur : La question est refusée." in shown
    assert "abstained" not in shown and "(error" not in shown


def test_a_question_longer_than_the_chat_takes_is_refused_with_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staff: StaffApp
) -> None:
    upload = _upload_path(tmp_path, monkeypatch, "questions.jsonl")
    row = {"id": "c", "question": "x" * 2001, "answers": ["38"], "answerable": True}
    upload.write_text(json.dumps({"sources": [], **row}) + "\n", "utf-8")
    message, failures, files = staff.evaluate({"path": str(upload)}, 5)
    assert html_text(message) == (
        "Le fichier de questions questions.jsonl est mal formé (1 problème) :"
        "- ligne 1 : question trop longue (2001 caractères ; le chat en accepte 2000 au plus)"
    )
    assert failures == "" and files is None


def test_a_set_too_large_for_the_staff_area_is_refused_before_any_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staff: StaffApp
) -> None:
    # 180,000 questions fit in 20 MB: eight hours holding every staff member's « Vérifier »
    upload = _upload_path(tmp_path, monkeypatch, "grand.jsonl")
    rows = (json.dumps({"id": f"q{i}", **QUESTIONS[0]}) + "\n" for i in range(MAX_QUESTIONS + 1))
    upload.write_text("".join(rows), "utf-8")
    message, failures, files = staff.evaluate({"path": str(upload)}, 5)
    assert html_text(message) == (
        f"Le fichier grand.jsonl contient {MAX_QUESTIONS + 1} questions : {MAX_QUESTIONS} au "
        "plus ici (la commande poleqa eval n'a pas de limite)."
    )
    assert failures == "" and files is None and staff.pipeline.histories == []


@pytest.mark.parametrize(("name", "read"), [("notes.txt", False), ("questions.tsv", True)])
def test_any_file_may_be_dropped_and_evaluate_says_in_french_what_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, read: bool
) -> None:
    # the widget filters nothing (Gradio's own refusal was an English toast, and it refused
    # .tsv, .json and .ndjson, which the evaluation reads): « Évaluer » sorts them
    upload = _upload_path(tmp_path, monkeypatch, name)
    row = QUESTIONS[0]
    answers = "|".join(row["answers"])
    upload.write_text(
        "id\tquestion\tanswers\tsources\tanswerable\n"
        f"q0\t{row['question']}\t{answers}\t{row['sources'][0]}\ttrue\n",
        "utf-8",
    )
    staff = StaffApp(FakePipeline(), FeedbackStore(tmp_path / "data"))
    blocks = build_staff_blocks(staff).blocks.values()
    widget = next(b for b in blocks if getattr(b, "elem_id", None) == "pq-eval-upload")
    assert widget.file_types is None
    message, _, files = staff.evaluate({"path": str(upload)}, 5)
    if read:
        assert files and "Exactitude des réponses" in html_text(message)
    else:
        assert files is None and html_text(message) == (
            "Le jeu de questions doit être un fichier JSONL ou CSV "
            "(.jsonl, .json, .ndjson, .csv, .tsv)."
        )


def test_each_evaluation_replaces_the_last_ones_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every run left a poleqa-eval-* folder in /tmp (the questions and answers in it) for good
    upload = _upload_path(tmp_path, monkeypatch, "questions.jsonl")
    upload.write_text(json.dumps({"id": "q0", **QUESTIONS[0]}) + "\n", encoding="utf-8")
    staff = StaffApp(FakePipeline(), FeedbackStore(tmp_path / "data"))
    first = staff.evaluate({"path": str(upload)}, 5)[2]
    second = staff.evaluate({"path": str(upload)}, 5)[2]
    assert first and second and {Path(f).parent for f in first} != {Path(f).parent for f in second}
    assert not any(Path(f).exists() for f in first) and all(Path(f).exists() for f in second)


def test_evaluate_tab_shows_the_question_file_format(staff: StaffApp) -> None:
    config = build_staff_blocks(staff).get_config_file()
    values = [str(c.get("props", {}).get("value")) for c in config["components"]]
    shown = next(v for v in values if "Format du jeu de questions" in v)
    assert all(line.strip() in shown for line in FORMAT_HELP.splitlines())
    # The example lines are valid questions of the format they document.
    block = FORMAT_HELP.split("```json\n", 1)[1].split("```", 1)[0]
    questions = parse_questions(block, "jsonl")
    assert [q.type for q in questions] == ["number", "unanswerable"]


def test_golds_no_cited_document_holds_are_named_on_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staff: StaffApp
) -> None:
    upload = _upload_path(tmp_path, monkeypatch, "questions.jsonl")
    rows = [  # the first gold is a typo of nothing in the document; the second is in it
        {"id": "typo", "question": "Combien ?", "answers": ["zzqx"], "answerable": True},
        {"id": "fine", "question": "Combien ?", "answers": [TEXT.split()[0]], "answerable": True},
    ]
    upload.write_text(
        "".join(json.dumps({"sources": [INFO.source], **r}) + "\n" for r in rows), "utf-8"
    )
    _, failures, files = staff.evaluate({"path": str(upload)}, 5)
    assert (
        "Attention : questions dont aucune réponse attendue ne figure dans les documents "
        "qu'elles citent (1) ; une faute de frappe dans la réponse attendue les compte comme "
        "des échecs, quelle que soit la réponse : typo"
    ) in html_text(failures)
    # the failure's cause says so, and the report downloaded has the warning it points to
    assert "réponse attendue : dans aucun de ses documents" in html_text(failures)
    report = next(Path(f) for f in files if f.endswith("report.md")).read_text("utf-8")
    assert "## Warnings" in report and "have none of their answers" in report
    # … and says what answered, as the CLI's does (the fake pipeline's settings)
    run = json.loads(next(Path(f) for f in files if f.endswith("report.json")).read_text("utf-8"))
    assert run["run/question set"] == "questions.jsonl" and run["run/reader"] == "trained"
    assert run["run/index"] == str(Settings().index_dir)
    assert "| typo |" in report and "in none of its documents (see the warnings)" in report


def test_metric_values_read_as_french_writes_them() -> None:
    # F1 and MRR are explained from 0 to 1: they are given so, not as percentages
    kinds = {key: kind for key, _, _, kind in METRICS}
    assert value_text(0.25, kinds["answer_f1"]) == "0,250"
    assert value_text(0.5, kinds["mrr@5"]) == "0,500"
    assert value_text(0.64, kinds["answer_accuracy"]) == "64,0 %"
    assert value_text(248.4, kinds["latency_p50_ms"]) == "248 ms"
    assert value_text(float("nan"), "rate") == "—"
