"""`poleqa chat`: questions one per line, each printed as `ask` prints it, a follow-up read
with the questions before it; refusals said without ending the conversation."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli_ask import ANSWERED, ASK_OUTPUT, fake_index  # noqa: F401 (a fixture)

from poleqa.cli import cli
from poleqa.cli.chat_cmd import GREETING

indexed = pytest.mark.usefixtures("fake_index")  # a small corpus indexed, in the working folder


def _chat(*lines: str, ends: str = "\n") -> tuple[str, str, int]:
    """stdout, stderr and exit code of `poleqa chat` given `lines` (then `ends`: an empty line,
    or "" for the end of input)."""
    result = CliRunner().invoke(
        cli,
        ["chat", "--index", "index", "--k", "2"],
        input="".join(f"{line}\n" for line in lines) + ends,
        catch_exceptions=False,
    )
    return result.stdout, result.stderr, result.exit_code


@indexed
def test_each_answer_is_printed_as_ask_prints_it() -> None:
    out, err, code = _chat(ANSWERED)
    assert code == 0
    assert out == ASK_OUTPUT + "\n"
    assert err == f"{GREETING}\n> > "  # a prompt per line read (a terminal shows the Enter)
    _, err, _ = _chat(ANSWERED, ends="")
    assert err == f"{GREETING}\n> > \n"  # Ctrl-D: the prompt's line ended


@indexed
def test_a_follow_up_is_read_with_the_question_before_it() -> None:
    out, _, code = _chat("Où est le siège de Xylofutur ?", "Et celui d'Aqua-Valley ?", ends="")
    assert code == 0
    second = out.split("\n\n")[1]
    assert second.startswith("Question comprise : Où est le siège d'Aqua-Valley ?\n"), second
    assert "Montpellier" in second.splitlines()[1]


@indexed
def test_a_refused_question_is_said_and_the_next_one_answered() -> None:
    out, err, code = _chat("?!", "x" * 2001, ANSWERED)
    assert code == 0 and out == ASK_OUTPUT + "\n"
    assert err.splitlines()[1:] == [
        "> Error: The question holds no words, only punctuation.",
        "> Error: The question is too long (2001 characters; at most 2000).",
        "> > ",
    ]


def test_without_an_index_it_says_what_to_run(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["chat", "--index", "nulle-part"], input="")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No index in nulle-part: run `poleqa index --corpus")


@indexed
def test_a_line_that_is_not_utf8_is_said_and_the_next_one_answered() -> None:
    result = CliRunner().invoke(
        cli,
        ["chat", "--index", "index", "--k", "2"],
        input="Où est le siège ?".encode("latin-1") + b"\n" + ANSWERED.encode() + b"\n\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0 and result.stdout == ASK_OUTPUT + "\n"
    assert result.stderr.splitlines()[1] == (
        "> Error: The line is not UTF-8 text (byte 2): save the file as UTF-8."
    )
