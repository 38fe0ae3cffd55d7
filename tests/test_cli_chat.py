"""`poleqa chat`: questions one per line, each printed as `ask` prints it, a follow-up read
with the questions before it; refusals said without ending the conversation."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import REPO, ctrl_c_at
from test_cli_ask import ANSWERED, ASK_OUTPUT

from poleqa.cli import cli
from poleqa.cli.chat_cmd import GREETING

indexed = pytest.mark.usefixtures("fake_index")  # a small corpus indexed, in the working folder


def _chat(*lines: str, ends: str = "") -> tuple[str, str, int]:
    """stdout, stderr and exit code of `poleqa chat` given `lines` (then `ends`), from a pipe."""
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
    assert err == ""  # from a pipe: no greeting, no prompt


@indexed
def test_blank_lines_of_a_file_are_skipped() -> None:
    # « Q1⏎⏎Q2 » answered Q1 only, exit 0: a file with blank separators lost the rest
    out, err, code = _chat("", "  \t", ANSWERED, "", ANSWERED)
    assert code == 0 and err == ""
    assert out == (ASK_OUTPUT + "\n") * 2


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
    assert err.splitlines() == [
        "Error: The question holds no words, only punctuation.",
        "Error: The question is too long (2001 characters; at most 2000).",
    ]


def test_without_an_index_it_says_what_to_run(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["chat", "--index", "nulle-part"], input="")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No index in nulle-part: run `poleqa index --corpus")


@indexed
def test_a_file_of_which_no_line_could_be_asked_exits_2() -> None:
    # as `ask --jsonl`: a script reading the exit status took it for a success
    _, err, code = _chat("???", "x" * 2001)
    assert code == 2 and err.endswith("\nError: no line was answered (2 refused)\n")
    assert _chat("", "  ")[2] == 0  # nothing refused: nothing to say


@indexed
def test_a_line_that_is_not_utf8_is_said_and_the_next_one_answered() -> None:
    result = CliRunner().invoke(
        cli,
        ["chat", "--index", "index", "--k", "2"],
        input="Où est le siège ?".encode("latin-1") + b"\n" + ANSWERED.encode() + b"\n\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0 and result.stdout == ASK_OUTPUT + "\n"
    assert result.stderr == "Error: The line is not UTF-8 text (byte 2): save the file as UTF-8.\n"


@indexed
def test_ctrl_c_while_conversing_is_the_edges_said_and_130(monkeypatch: pytest.MonkeyPatch) -> None:
    # chat ended by itself with sys.exit(130): Python's shutdown then waited on the model
    # runtimes' threads (for ever, now and then); the CLI's edge leaves at once
    import poleqa.cli.chat_cmd as chat_cmd

    ctrl_c_at(monkeypatch, chat_cmd, "_converse")
    result = CliRunner().invoke(cli, ["chat", "--index", "index"], input=f"{ANSWERED}\n")
    assert (result.exit_code, result.stderr) == (130, "\nInterrupted.\n")


def _in_a_terminal(index: Path, corpus: Path, typed: bytes) -> tuple[str, int]:
    """What `poleqa chat` shows in a real terminal (a pseudo-terminal, its controlling one:
    Ctrl-C interrupts) given the keys `typed` once it prompts, and its exit code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLEQA_")}
    env |= {"OMP_NUM_THREADS": "1", "XDG_CACHE_HOME": str(REPO / ".cache"), "TERM": "dumb"}
    primary, secondary = pty.openpty()
    args = [str(Path(sys.executable).parent / "poleqa"), "chat", "--index", str(index)]
    args += ["--corpus", str(corpus)]

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        # as a terminal's shell starts it: a suite run in the background (`cmd &`) ignores
        # Ctrl-C, and Python would then leave it ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    process = subprocess.Popen(
        args, stdin=secondary, stdout=secondary, stderr=secondary, env=env,
        preexec_fn=own_terminal,
    )  # fmt: skip
    os.close(secondary)
    shown = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if select.select([primary], [], [], 1)[0]:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:  # the program ended: its side of the terminal is closed
                    break
                if not chunk:
                    break
                shown += chunk
                if typed and b"> " in shown:  # the model loaded, the first prompt shown
                    # typed as a person would, not within the microseconds after the prompt:
                    # a Ctrl-C then reaches Python before readline waits for keys, and waits
                    # with them for the next key (CPython's readline; seen on a loaded machine)
                    time.sleep(0.5)
                    os.write(primary, typed)
                    typed = b""
            elif process.poll() is not None:
                break
    finally:
        if process.poll() is None:  # stuck: the test fails on its output, not by hanging
            shown += _signal_state(process.pid)
            process.kill()
        code = process.wait(timeout=30)
        os.close(primary)
    return shown.decode("utf-8", "replace"), code


def _signal_state(pid: int) -> bytes:
    """The signals a stuck process blocks, ignores and catches (/proc), to say why it is."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines()
    except OSError:  # no /proc here
        return b""
    return "\n".join(["", *(line for line in status if line.startswith("Sig"))]).encode()


@pytest.mark.slow
def test_in_a_terminal_it_greets_prompts_and_edits_lines(seed_index: tuple) -> None:
    corpus, index, _ = seed_index
    # « région » typed « rgion », the cursor moved back two places (←, ←) to add the « é »
    question = "Combien de pôles compte la rgion\x1b[D\x1b[D\x1b[D\x1b[Dé\x1b[C\x1b[C\x1b[C\x1b[C"
    question += " Auvergne-Rhône-Alpes ?\r"
    shown, code = _in_a_terminal(index, corpus, question.encode() + b"\x04")
    assert code == 0, shown
    assert GREETING in shown and shown.count("> ") >= 2
    assert "Réponse courte : 13" in shown, shown  # the line as edited was asked
    shown, code = _in_a_terminal(index, corpus, b"\x03")  # Ctrl-C
    assert code == 130 and "Interrupted." in shown, shown
    assert "Traceback" not in shown and "Aborted" not in shown
