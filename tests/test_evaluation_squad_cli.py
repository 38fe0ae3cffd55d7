"""`poleqa eval --squad` through the CLI: the inputs it refuses before reading anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner


def test_cli_eval_squad_refuses_the_options_it_would_ignore(tmp_path: Path) -> None:
    from poleqa.cli import cli

    squad = tmp_path / "s.json"
    squad.write_text('{"data": []}', encoding="utf-8")
    res = CliRunner().invoke(
        cli, ["eval", "--squad", str(squad), "--reader", "sentences", "--k", "3", "--corpus", "."]
    )
    assert res.exit_code == 2
    assert "--squad evaluates the trained reader alone: --corpus, --k, --reader do not apply" in (
        res.output
    )


def test_cli_eval_squad_refuses_a_file_without_questions(tmp_path: Path) -> None:
    # it wrote a report of zeros, as for a reader that got everything wrong
    from poleqa.cli import cli

    squad = tmp_path / "s.json"
    squad.write_text('{"data": [{"title": "T", "paragraphs": []}]}', encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", "--squad", str(squad), "--out", str(tmp_path / "o")])
    assert (res.exit_code, res.output) == (2, f"Error: {squad} holds no question to evaluate.\n")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("qas", "error"),
    [
        # predictions.jsonl is read by id: two « q1 » lines made one of them disappear
        ([{"id": "q1", "question": q, "answers": []} for q in "AB"], "1 id(s) given twice: q1"),
        ([{"id": "q1", "question": "  ", "answers": []}], "1 empty question(s): q1"),
        ([{"id": None, "question": "A ?", "answers": []}], "id None"),  # was read as « None »
    ],
)
def test_cli_eval_squad_refuses_ids_twice_empty_questions_and_null_ids(
    tmp_path: Path, qas: list, error: str
) -> None:
    from poleqa.cli import cli

    squad = tmp_path / "s.json"
    paragraph = {"context": "Le pôle compte 40 membres.", "qas": qas}
    squad.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [paragraph]}]}), "utf-8")
    res = CliRunner().invoke(cli, ["eval", "--squad", str(squad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and error in res.output, res.output
