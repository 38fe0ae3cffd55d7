"""Metrics by type and by tag: group names holding "/" reach every table and chart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from poleqa.evaluation import EvalResult, Prediction, Question, compute_metrics, summary_lines
from poleqa.evaluation.metrics import group_accuracy
from poleqa.evaluation.report import render_markdown, write_chart
from poleqa.types import Answer
from poleqa.web.eval_view import type_chart


def _pred(qid: str, qtype: str, tags: tuple[str, ...], correct: bool) -> Prediction:
    q = Question(qid, f"question {qid} ?", ("oui",), ("a.md",), True, qtype, tags)
    reply = Answer(f"question {qid} ?", "oui" if correct else "non", False, 0.9, None, ())
    return Prediction(q, reply, correct, None, float(correct), 10.0)


@pytest.fixture()
def result() -> EvalResult:
    # « oui/non » and « date/période » are type names an uploaded set may well use;
    # `group_accuracy` split keys on every "/" and lost them
    preds = [
        _pred("q1", "oui/non", ("a/b",), True),
        _pred("q2", "oui/non", (), False),
        _pred("q3", "number", ("a/b",), True),
        _pred("q4", "n", (), True),  # « type/oui/non/n » must not read as type « oui », « non »
    ]
    return EvalResult("groups", 5, tuple(preds), compute_metrics(preds))


def test_group_accuracy_keeps_names_with_slashes(result: EvalResult) -> None:
    assert result.metrics["type/oui/non/answer_accuracy"] == 0.5
    assert group_accuracy(result.metrics, "type") == {
        "n": (1.0, 1),
        "number": (1.0, 1),
        "oui/non": (0.5, 2),
    }
    assert group_accuracy(result.metrics, "tag") == {"a/b": (1.0, 2)}


def test_report_chart_and_staff_bars_show_names_with_slashes(
    result: EvalResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md = render_markdown(result, chart=None)
    assert "| oui/non | 2 | 0.500 | 0.500 | 0.000 |" in md
    assert "| a/b | 2 | 1.000 | 1.000 | 0.000 |" in md
    assert "  by tag: a/b 1.000 (n=2)" in summary_lines(result)
    labels: list[list[str]] = []

    def savefig(fig: Figure, path: Path) -> None:
        labels.append([t.get_text() for t in fig.axes[0].get_xticklabels()])

    monkeypatch.setattr(Figure, "savefig", savefig)
    write_chart(result, tmp_path / "chart.png")
    assert labels == [["n", "number", "oui/non"]]
    html = type_chart(result.metrics)
    rows = re.findall(r'<tr class="pq-type-row">(.*?)</tr>', html)
    assert re.findall(r"<code>(.*?)</code>", html) == ["n", "number", "oui/non"]
    assert "<td>2</td><td>50,0 %</td>" in rows[2]
