"""Answer-quality evaluation: question sets, metrics, reports (`poleqa eval`, the web tab)."""

from poleqa.evaluation.metrics import (
    Prediction,
    compare,
    compute_metrics,
    unfound_answers,
    unknown_sources,
)
from poleqa.evaluation.questions import (
    Question,
    load_questions,
    parse_questions,
    set_name,
)
from poleqa.evaluation.report import (
    check_lines,
    compare_lines,
    keep_earlier,
    load_report,
    prediction_json,
    run_differences,
    run_fields,
    summary_lines,
    write_reports,
)
from poleqa.evaluation.runner import (
    EvalResult,
    evaluate,
    evaluate_file,
    failure_rows,
    failures,
    run_info,
)

__all__ = [
    "EvalResult",
    "Prediction",
    "Question",
    "check_lines",
    "compare",
    "compare_lines",
    "compute_metrics",
    "evaluate",
    "evaluate_file",
    "failure_rows",
    "failures",
    "keep_earlier",
    "load_questions",
    "load_report",
    "parse_questions",
    "prediction_json",
    "run_differences",
    "run_fields",
    "run_info",
    "set_name",
    "summary_lines",
    "unfound_answers",
    "unknown_sources",
    "write_reports",
]
