"""Bad arguments: a usage error (exit 2) in one line, said before any work, naming the option or
the environment variable the value came from."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support import ctrl_c_at
from test_evaluation_cli import _fake_set

from poleqa.cli import cli


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "Cannot read the report {}: Expecting property name enclosed in double "
                       "quotes: line 1 column 2 (char 1)."),
        (b"\xff\xfe", "Cannot read the report {}: 'utf-8' codec can't decode byte 0xff in "
                      "position 0: invalid start byte."),
        (b"[0.5]", "{} is not a report.json (expected a JSON object of metrics)."),
        (b'{"name": "dev"}', "{} is not a report.json (expected a JSON object of metrics)."),
        # compared, it showed only the counts both have
        (b'{"n_questions": 4, "f1": 0.5, "exact_match": 0.25}',  # one from before 2026-12-05
         "{} is the report of `poleqa eval --squad` (the reader alone): no metric of a "
         "question set's run to compare with."),
        (None, "Cannot read the report {}: Permission denied."),
    ],
)  # fmt: skip
def test_eval_compare_with_a_report_it_cannot_read_is_a_usage_error_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None, why: str
) -> None:
    # it exited 1, as a failure of the run, not of what was given
    qpath, out = _fake_set(tmp_path, monkeypatch), tmp_path / "out"
    report = tmp_path / "old.json"
    report.write_bytes(content or b'{"answer_accuracy": 0.5}')
    if content is None:  # unreadable (made so here: root reads any file)
        read_text = Path.read_text

        def refused(path: Path, *args: object, **kwargs: object) -> str:
            if path == report:
                raise PermissionError(13, "Permission denied", str(path))
            return read_text(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "read_text", refused)
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out), "--compare", str(report)])
    assert (res.exit_code, res.stdout) == (2, "")
    assert res.stderr == f"Error: {why.format(report)}\n"
    assert not out.exists()  # said before the run


def test_eval_compare_with_a_report_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    qpath, out = _fake_set(tmp_path, monkeypatch), tmp_path / "out"
    report = tmp_path / "old.json"
    report.write_text(json.dumps({"answer_accuracy": 0.5, "name": "dev"}), encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out), "--compare", str(report)])
    assert res.exit_code == 0, res.output
    assert f"Compared with {report}:\n" in res.stdout


# -- a value from the environment is said under its variable ------------------------------------

USAGE = "Usage: poleqa {0} [OPTIONS]{1}\nTry 'poleqa {0} --help' for help.\n\n"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, prog_name="poleqa")


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--k", "0"], {}, "'--k'"),
        ([], {"POLEQA_ASK_K": "0"}, "'POLEQA_ASK_K' (--k)"),
    ],
)
def test_a_bad_value_names_the_variable_it_came_from(
    args: list[str], env: dict[str, str], named: str
) -> None:
    # « Invalid value for '--k' » sent the user to a command line that had no --k
    result = run("ask", "Combien ?", *args, env=env)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == USAGE.format("ask", " [QUESTION]") + (
        f"Error: Invalid value for {named}: 0 is not in the range 1<=x<=50.\n"
    )


def test_a_variable_named_after_the_python_parameter_is_named_too() -> None:
    result = run("search", "x", env={"POLEQA_SEARCH_AS_JSON": "maybe"})
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Invalid value for 'POLEQA_SEARCH_AS_JSON' (--json): 'maybe' is not a valid "
        "boolean. Recognized values: , 0, 1, f, false, n, no, off, on, t, true, y, yes\n"
    )


OVERLAP = "POLEQA_INDEX_CHUNK_OVERLAP"


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--chunk-overlap", "600"], {}, "'--chunk-overlap'"),
        ([], {OVERLAP: "600"}, f"'{OVERLAP}' (--chunk-overlap)"),
    ],
)
def test_the_commands_own_checks_name_the_variable_too(
    folders, fake_models, args: list[str], env: dict[str, str], named: str
) -> None:
    result = run("index", "--model", "fake-a", *args, env=env)
    assert result.exit_code == 2
    assert result.stderr == USAGE.format("index", "") + (
        f"Error: Invalid value for {named}: the overlap (600) must be smaller than the chunk "
        "size (500)\n"
    )


def test_eval_names_the_variable_that_gave_its_reports_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    qpath = _fake_set(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    env = {"POLEQA_EVAL_OUT": "corpus/report"}
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--corpus", "corpus"], env=env)
    assert (res.exit_code, res.output) == (
        1,
        "Error: The reports' folder corpus/report (POLEQA_EVAL_OUT) is inside the corpus folder "
        "corpus: its report.md would be indexed as a document next time; choose an --out "
        "outside the corpus.\n",
    )


def test_an_error_naming_a_folder_with_a_newline_stays_one_line(tmp_path: Path) -> None:
    # a question set's problems are one a line; any other message is one line, escaped
    result = CliRunner().invoke(cli, ["index", "--corpus", str(tmp_path / "nulle\npart")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: Corpus folder not found: {tmp_path}/nulle\\npart\n"


def test_ctrl_c_is_said_and_ends_at_once_with_130(monkeypatch: pytest.MonkeyPatch) -> None:
    # left to Python's shutdown, the model runtimes' threads ended it in a C++ abort (134)
    import poleqa.cli.ask_cmd as ask_cmd

    ctrl_c_at(monkeypatch, ask_cmd, "check_index")
    result = CliRunner().invoke(cli, ["ask", "Combien de pôles ?"])
    assert (result.exit_code, result.stderr) == (130, "\nInterrupted.\n")


def test_every_command_turns_off_what_could_reach_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a model hub, and ONNX Runtime's telemetry (its Linux wheels carry a client for it)
    for name in ("HF_HUB_OFFLINE", "ORT_DISABLE_TELEMETRY"):
        monkeypatch.delenv(name, raising=False)
    assert CliRunner().invoke(cli, ["ask", ""]).exit_code == 2  # refused, after the edge ran
    assert (os.environ["HF_HUB_OFFLINE"], os.environ["ORT_DISABLE_TELEMETRY"]) == ("1", "1")
