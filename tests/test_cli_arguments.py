"""Bad arguments: a usage error (exit 2) in one line, said before any work, naming the option or
the environment variable the value came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
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
