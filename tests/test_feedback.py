"""Feedback store (durable JSONL) and its CSV export, through the library and the CLI."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from poleqa.cli import cli
from poleqa.feedback import (
    FEEDBACK_FILE,
    MAX_COMMENT_CHARS,
    CitedSource,
    Feedback,
    FeedbackRead,
    FeedbackStore,
    to_csv,
)
from poleqa.types import Answer, Citation, DocumentInfo

INFO = DocumentInfo(source="regions/aura.txt", title="Les pôles de la Région", date="2023-03-30")
NOW = datetime(2026, 11, 23, 10, 30, 5, tzinfo=UTC)
HEADER = (
    "id,time,rating,comment,question,answer,abstained,confidence,citations,index_version,"
    "resolved_question,uncertain\n"
)
NO_STORE = (
    "Warning: no feedback store at {} (no opinion recorded yet, or another --data or "
    "POLEQA_FEEDBACK_URL is meant): the export holds the header only.\n"
)


def _answer(
    question: str = "Combien de pôles ?",
    text: str | None = "55 pôles.",
    resolved: str | None = None,
) -> Answer:
    citation = Citation(1, INFO, 100, 180, "… 55 pôles. …", 0.91, 110, 120, 110, 118)
    return Answer(
        question=question,
        text=text,
        abstained=text is None,
        confidence=0.8234,
        short_answer=None,
        citations=(citation,),
        resolved_question=resolved,
    )


def test_feedback_about_answer_keeps_question_answer_and_citations() -> None:
    f = Feedback.about(_answer(), "up", "  Très clair  ", feedback_id="f1", now=NOW)
    assert f == Feedback(
        id="f1",
        time="2026-11-23T10:30:05+00:00",
        rating="up",
        comment="Très clair",
        question="Combien de pôles ?",
        answer="55 pôles.",
        abstained=False,
        confidence=0.8234,
        citations=(CitedSource(1, "regions/aura.txt", "Les pôles de la Région", 100, 180),),
    )
    follow_up = _answer("Et en 2020 ?", resolved="Combien de pôles en 2020 ?")
    assert Feedback.about(follow_up, "down").resolved_question == "Combien de pôles en 2020 ?"
    assert Feedback.about(replace(_answer(), uncertain=True), "down").uncertain
    with pytest.raises(ValueError):
        Feedback.about(_answer(), "meh")
    assert len(Feedback.about(_answer(), "up", "x" * MAX_COMMENT_CHARS).comment) == 2000
    with pytest.raises(ValueError, match="2001 characters"):
        Feedback.about(_answer(), "up", "x" * (MAX_COMMENT_CHARS + 1))


def test_store_appends_durably_and_reads_back(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "data")
    assert store.records() == []
    first = Feedback.about(_answer(), "up", feedback_id="a", now=NOW)
    second = Feedback.about(_answer("Et en 2019 ?", None), "down", "rien", "b", now=NOW)
    store.add(first)
    store.add(second)
    lines = (tmp_path / "data" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert '"question": "Combien de pôles ?"' in lines[0]  # UTF-8, not \\u escapes
    assert FeedbackStore(tmp_path / "data").records() == [first, second]


def test_later_record_with_same_id_replaces_earlier_in_latest(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path)
    store.add(Feedback.about(_answer(), "up", feedback_id="a", now=NOW))
    store.add(Feedback.about(_answer("Autre ?"), "up", feedback_id="b", now=NOW))
    store.add(Feedback.about(_answer(), "down", "finalement non", "a", now=NOW))
    latest = store.latest()
    assert [(r.id, r.rating, r.comment) for r in latest] == [
        ("a", "down", "finalement non"),
        ("b", "up", ""),
    ]
    assert len(store.records()) == 3


def test_damaged_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path)
    store.add(Feedback.about(_answer(), "up", feedback_id="a", now=NOW))
    with open(store.path, "a", encoding="utf-8") as f:
        f.write('{"id": "cut-by-a-cra')  # a crash in the middle of a write
    assert [r.id for r in store.records()] == ["a"]
    store.add(Feedback.about(_answer(), "down", feedback_id="c", now=NOW))
    # The next record starts on a fresh line: only the damaged record is lost.
    assert [r.id for r in store.records()] == ["a", "c"]


def test_concurrent_adds_lose_nothing(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path)

    def add(i: int) -> None:
        store.add(Feedback.about(_answer(f"Question {i} ?"), "up", feedback_id=str(i), now=NOW))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(int(r.id) for r in store.records()) == list(range(20))


EXPECTED_CSV = HEADER + (
    "a,2026-11-23T10:30:05+00:00,up,,Combien de pôles ?,55 pôles.,no,0.82,"
    "[1] regions/aura.txt (100-180),,,no\n"
    'b,2026-11-23T10:30:05+00:00,down,"Pas clair, ""vraiment""\nà revoir",'
    "'=cmd|' /C calc'!A0,,yes,0.82,[1] regions/aura.txt (100-180),g-1,"
    "'=cmd|' /C calc'!A0 en 2020,no\n"
)


def test_csv_export_exact(tmp_path: Path) -> None:
    records = [
        Feedback.about(_answer(), "up", feedback_id="a", now=NOW),
        Feedback.about(
            _answer("=cmd|' /C calc'!A0", None, "=cmd|' /C calc'!A0 en 2020"),
            "down",
            'Pas clair, "vraiment"\nà revoir',
            "b",
            now=NOW,
            index_version="g-1",
        ),
    ]
    assert to_csv(records) == EXPECTED_CSV


def test_csv_export_for_a_french_spreadsheet_exact() -> None:
    records = [
        Feedback.about(
            replace(_answer(), uncertain=True), "up", "Clair ; merci", feedback_id="a", now=NOW
        ),
        Feedback.about(
            _answer("Et en 2020 ?", None, "Combien de pôles en 2020 ?"),
            "down",
            feedback_id="b",
            now=NOW,
            index_version="g-1",
        ),
    ]
    assert to_csv(records, excel=True) == (
        "\ufeffid;time;rating;comment;question;answer;abstained;confidence;citations;"
        "index_version;resolved_question;uncertain\n"
        'a;2026-11-23T10:30:05+00:00;up;"Clair ; merci";Combien de pôles ?;55 pôles.;no;0,82;'
        "[1] regions/aura.txt (100-180);;;yes\n"
        "b;2026-11-23T10:30:05+00:00;down;;Et en 2020 ?;;yes;0,82;"
        "[1] regions/aura.txt (100-180);g-1;Combien de pôles en 2020 ?;no\n"
    )


def test_cli_export_csv_to_file_and_stdout(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = FeedbackStore(data)
    store.add(Feedback.about(_answer(), "down", feedback_id="a", now=NOW))
    store.add(Feedback.about(_answer(), "up", feedback_id="a", now=NOW))
    runner = CliRunner()
    out = tmp_path / "export" / "feedback.csv"
    result = runner.invoke(
        cli, ["feedback", "export", "--csv", "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == HEADER + (
        "a,2026-11-23T10:30:05+00:00,up,,Combien de pôles ?,55 pôles.,no,0.82,"
        "[1] regions/aura.txt (100-180),,,no\n"
    )
    result = runner.invoke(cli, ["feedback", "export", "--csv", "--all", "--data", str(data)])
    assert result.exit_code == 0
    assert [line.split(",")[2] for line in result.output.splitlines()[1:]] == ["down", "up"]
    excel = runner.invoke(cli, ["feedback", "export", "--csv", "--excel", "--data", str(data)])
    assert excel.exit_code == 0 and excel.output.startswith("\ufeffid;time;rating;")
    empty = runner.invoke(cli, ["feedback", "export", "--csv", "--data", str(tmp_path / "none")])
    assert empty.exit_code == 0
    assert (empty.stdout, empty.stderr) == (
        HEADER,
        NO_STORE.format(tmp_path / "none" / FEEDBACK_FILE),
    )


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("comment", None, "comment: None is not str"),
        ("confidence", "high", "confidence: 'high' is not float"),
        ("abstained", 0, "abstained: 0 is not bool"),
        ("rating", 1, "rating: 1 is not str | None"),
        ("citations", {"n": 1}, "citations: {'n': 1} is not a list"),
        ("citations", [{"n": "1", "source": "s", "title": "t", "start": 0, "end": 1}],
         "n: '1' is not int"),
        ("citations", ["s"], "citations: 's' is not an object"),
        ("citations", [{"n": 1, "source": "s"}], "a citation's fields missing: title, start, end"),
        ("note", "x", "fields unknown: note"),
    ],
)  # fmt: skip
def test_a_field_of_the_wrong_type_costs_its_line_only(
    tmp_path: Path, field: str, value: object, why: str
) -> None:
    # valid JSON edited by hand: the export once died on it, every record with it
    data = tmp_path / "data"
    store = FeedbackStore(data)
    store.add(Feedback.about(_answer(), "up", feedback_id="a", now=NOW))
    good = json.loads(store.path.read_text(encoding="utf-8"))
    with open(store.path, "a", encoding="utf-8") as f:
        f.write(json.dumps({**good, "id": "b", field: value}) + "\n")
    read = store.read()
    assert [r.id for r in read.records] == ["a"]
    assert read.warnings == (
        f"{store.path} line 2 skipped: not a feedback record ({why}); fix or delete that line "
        "(the other records are read as usual)",
    )
    result = CliRunner().invoke(cli, ["feedback", "export", "--csv", "--data", str(data)])
    assert result.exit_code == 0 and result.stdout.count("\n") == 2  # header and record a


def test_a_line_torn_by_hand_is_named_with_what_to_do(tmp_path: Path, caplog) -> None:
    store = FeedbackStore(tmp_path)
    store.add(Feedback.about(_answer(), "up", feedback_id="a", now=NOW))
    good = Feedback.about(_answer(), "down", "rien", feedback_id="b", now=NOW).to_json()
    torn = good.replace('"rien"', '"ri\ten"')  # a tab typed into the comment
    with open(store.path, "a", encoding="utf-8") as f:
        f.write(torn + "\n" + "42\n" + '{"id": "d"}\n' + "[" * 100_000 + "\n")
    store.add(Feedback.about(_answer(), "up", feedback_id="e", now=NOW))
    caplog.set_level(logging.WARNING, logger="poleqa")

    read = store.read()
    column = torn.index("\t") + 1
    assert [r.id for r in read.records] == ["a", "e"]  # nothing else lost
    assert read.warnings[:2] == (
        f"{store.path} line 2 skipped: not valid JSON (Invalid control character at column "
        f"{column}); fix or delete that line (the other records are read as usual)",
        f"{store.path} line 3 skipped: not a feedback record (a JSON int, not an object); "
        "fix or delete that line (the other records are read as usual)",
    )
    assert read.warnings[2] == (
        f"{store.path} line 4 skipped: not a feedback record (fields missing: time, rating, "
        "comment, question, answer, abstained, confidence); fix or delete that line (the other "
        "records are read as usual)"
    )
    assert read.warnings[3] == (
        f"{store.path} line 5 skipped: not a feedback record (JSON nested too deeply); fix or "
        "delete that line (the other records are read as usual)"
    )
    assert [r.getMessage() for r in caplog.records] == list(read.warnings)
    latest = store.read(latest=True)
    assert [r.id for r in latest.records] == ["a", "e"] and latest.warnings == read.warnings
    assert store.latest() == list(latest.records) and store.records() == list(read.records)
    assert FeedbackStore(tmp_path / "none").read() == FeedbackRead((), ())


def test_the_export_command_names_a_torn_line_to_the_operator(tmp_path: Path) -> None:
    """What `poleqa feedback export` prints, in a process of its own (no test logging)."""
    store = FeedbackStore(tmp_path)
    store.add(Feedback.about(_answer(), "up", feedback_id="a", now=NOW))
    with open(store.path, "a", encoding="utf-8") as f:
        f.write('{"id": "b", "comment": "ri\ten"}\n')
    command = "from poleqa.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", command, "feedback", "export", "--csv", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "POLEQA_FEEDBACK_URL": ""},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 2  # the header and record a
    assert (
        f"{store.path} line 2 skipped: not valid JSON (Invalid control character at column 27); "
        "fix or delete that line (the other records are read as usual)"
    ) in done.stderr


def test_an_export_from_no_store_warns_and_creates_none(tmp_path: Path) -> None:
    # opening the SQLite address made an empty database (and its folder), silently
    db = tmp_path / "nowhere" / "feedback.db"
    export = ["feedback", "export", "--csv", "--excel", "--data", str(tmp_path / "data")]
    result = CliRunner().invoke(cli, export, env={"POLEQA_FEEDBACK_URL": f"sqlite://{db}"})
    assert result.exit_code == 0
    assert result.stdout_bytes == b"\xef\xbb\xbf" + HEADER.replace(",", ";").encode()
    assert result.stderr == NO_STORE.format(db)
    assert not db.parent.exists() and not (tmp_path / "data").exists()


def test_an_excel_export_to_standard_output_is_utf8_whatever_the_terminal(tmp_path: Path) -> None:
    # `> avis.csv` where the terminal is not UTF-8 (Windows): the byte-order mark and a 👍 in
    # a comment stopped the export with a traceback
    FeedbackStore(tmp_path).add(Feedback.about(_answer(), "up", "Très clair 👍", "a", now=NOW))
    command = "from poleqa.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", command, "feedback", "export", "--csv", "--excel", "--data",
         str(tmp_path)],
        capture_output=True,
        env={**os.environ, "POLEQA_FEEDBACK_URL": "", "PYTHONIOENCODING": "cp1252"},
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert done.stdout.decode("utf-8").startswith("\ufeffid;time;rating;")
    assert ";Très clair 👍;Combien de pôles ?;55 pôles.;" in done.stdout.decode("utf-8")


def test_an_export_never_replaces_the_store_and_says_what_it_cannot_write(tmp_path: Path) -> None:
    # « --out data/feedback.jsonl » (a Tab completion away) replaced every opinion with the CSV
    data = tmp_path / "data"
    store = FeedbackStore(data)
    store.add(Feedback.about(_answer(), "up", feedback_id="a", now=NOW))
    before = (data / FEEDBACK_FILE).read_bytes()
    runner = CliRunner()
    (tmp_path / "lien.jsonl").hardlink_to(data / FEEDBACK_FILE)
    for out in (
        data / FEEDBACK_FILE,
        data / ".." / "data" / FEEDBACK_FILE,
        tmp_path / "lien.jsonl",
    ):
        done = runner.invoke(
            cli, ["feedback", "export", "--csv", "--data", str(data), "--out", str(out)]
        )
        assert done.exit_code == 2, done.output
        assert "is the feedback store itself: write the export to another file." in done.stderr
    assert (data / FEEDBACK_FILE).read_bytes() == before
    # a path it cannot write: one line, no traceback
    (tmp_path / "a-file").write_text("x", "utf-8")
    out = tmp_path / "a-file" / "x.csv"
    args = ["feedback", "export", "--csv", "--data", str(data), "--out", str(out)]
    done = runner.invoke(cli, args)
    why = f"{tmp_path / 'a-file'} is a file, not a folder"
    assert (done.exit_code, done.stderr) == (1, f"Error: Cannot write {out}: {why}\n")
    (tmp_path / "a-folder.csv").mkdir()
    args[-1] = str(tmp_path / "a-folder.csv")
    done = runner.invoke(cli, args)
    assert done.exit_code == 2 and "is a directory" in done.stderr
