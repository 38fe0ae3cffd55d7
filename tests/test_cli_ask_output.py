"""`poleqa ask`'s plain output: an answer cut from a longer sentence (as the chat shows it), the
commands it advises."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from webfake import INFO

from poleqa.cli import cli
from poleqa.cli.ask_cmd import _print_answer
from poleqa.serialise import answer_to_json
from poleqa.types import Answer, Citation


def test_ask_marks_an_answer_cut_from_a_longer_sentence(capsys: pytest.CaptureFixture) -> None:
    """As the chat does: « … » where the sentence the answer was cut from goes on; --json keeps
    the exact span."""
    passage = (
        "Quatre pôles y ont leur siège : la Cosmetic Valley avec 300 adhérents, S2E2 avec 130 "
        "adhérents, Elastopole et Dream. Fin."
    )
    middle = "la Cosmetic Valley avec 300 adhérents, S2E2 avec 130 adhérents"
    start = passage.index(middle)
    cite = Citation(1, INFO, 0, len(passage), passage, 1.0, start, start + len(middle))
    answer = Answer("Q ?", middle, False, 0.9, citations=(cite,))
    _print_answer(answer)
    assert capsys.readouterr().out.splitlines()[0] == f"Réponse : … {middle} …"
    assert answer_to_json(answer)["answer"] == middle


def test_the_commands_advised_quote_folders_with_spaces(tmp_path: Path) -> None:
    # copied and pasted, « --index nouvel index » named two things
    args = ["ask", "Combien ?", "--index", str(tmp_path / "nouvel index"), "--corpus", "mon corpus"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert (
        f"run `poleqa index --corpus 'mon corpus' --index '{tmp_path}/nouvel index'` first."
        in result.output
    )
