"""Evaluation outputs: predictions.jsonl, report.json, report.md, a chart, and console summaries."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from poleqa.errors import PoleqaError, ReportError
from poleqa.evaluation.metrics import HIT_AT, MAIN_METRICS, Prediction, compare, group_accuracy
from poleqa.evaluation.runner import (
    EvalResult,
    cited_sources,
    expected_text,
    failures,
    got_text,
    why_text,
)
from poleqa.jsontext import parse_json
from poleqa.serialise import answer_to_json

PREDICTIONS = "predictions.jsonl"
REPORT_JSON = "report.json"
RUN = "run/"  # report.json's keys of how the run was made
UNCOMPARED = ("created",)  # run fields two runs always differ in
REPORT_MD = "report.md"
CHART = "accuracy_by_type.png"
SQUAD_RESULTS = "squad_results.jsonl"  # eval --squad's per-question scores
REPORTS = (PREDICTIONS, REPORT_JSON, REPORT_MD, CHART, SQUAD_RESULTS)
EARLIER = "previous"  # the folder inside --out where the run before's reports are kept


def prediction_json(p: Prediction) -> dict:
    """One line of predictions.jsonl: the question, the judgement and the full reply."""
    q = p.question
    return {
        "id": q.id,
        "question": q.question,
        "type": q.type,
        "tags": list(q.tags),
        "answerable": q.answerable,
        "answers": list(q.answers),
        "sources": list(q.sources),
        "correct": p.correct,
        "source_rank": p.source_rank,
        "f1": None if p.f1 is None else round(p.f1, 4),
        "latency_ms": round(p.latency_ms, 1),
        "error": p.error,
        "response": None if p.answer is None else answer_to_json(p.answer),
    }


def write_reports(result: EvalResult, out_dir: Path) -> dict[str, Path]:
    """Write predictions.jsonl, report.json, report.md and the per-type chart into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "predictions": out_dir / PREDICTIONS,
        "report_json": out_dir / REPORT_JSON,
        "report_md": out_dir / REPORT_MD,
        "chart": out_dir / CHART,
    }
    with paths["predictions"].open("w", encoding="utf-8") as fh:
        for p in result.predictions:
            fh.write(json.dumps(prediction_json(p), ensure_ascii=False) + "\n")
    flat = {**_rounded(result.metrics), **run_fields(result)}  # still one flat object
    paths["report_json"].write_text(
        json.dumps(flat, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    write_chart(result, paths["chart"])
    paths["report_md"].write_text(render_markdown(result, chart=CHART), encoding="utf-8")
    return paths


def keep_earlier(out_dir: Path) -> Path | None:
    """Move the reports an earlier run left in `out_dir` into its `previous/` folder (those of
    the run before that are replaced), so that a new run never overwrites the last one
    silently; the folder they went to, or None when there were none."""
    found = [out_dir / n for n in REPORTS if (out_dir / n).is_file()]
    if not found:
        return None
    earlier = out_dir / EARLIER
    try:
        earlier.mkdir(exist_ok=True)
        for name in REPORTS:
            (earlier / name).unlink(missing_ok=True)  # never mix two runs' files there
        for f in found:
            f.replace(earlier / f.name)
    except OSError as e:
        raise PoleqaError(
            f"Cannot keep the earlier reports of {out_dir} in {earlier}: {e.strerror or e}."
        ) from e
    return earlier


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def run_fields(result: EvalResult) -> dict[str, str]:
    """How the run was made, as report.json records it beside the metrics: « run/reader »,
    « run/k »… (text, so that no comparison takes them for metrics)."""
    return {f"{RUN}{key}": str(value) for key, value in {"k": result.k, **result.info}.items()}


def run_differences(new: dict[str, object], old: dict[str, object]) -> str | None:
    """The note saying how two reports' runs differ (their readers, k…), None if alike or if
    either does not say (written before reports recorded it)."""
    shown = [k for k in new if k.startswith(RUN) and k[len(RUN) :] not in UNCOMPARED]
    if not any(k.startswith(RUN) for k in old):
        return None
    changed = [
        f"{k[len(RUN) :]} ({old.get(k, '–')} → {new[k]})" for k in shown if old.get(k) != new[k]
    ]
    return f"Note: the runs differ in {', '.join(changed)}." if changed else None


def load_report(path: Path) -> dict[str, float]:
    """The metrics of an earlier report.json (for --compare); ReportError, before any run, if
    it cannot be read or holds no metric (the comparison would have said nothing after it)."""
    try:
        data = parse_json(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ReportError(f"Cannot read the report {path}: {e.strerror or e}.") from e
    except ValueError as e:  # not JSON, or not UTF-8 text
        raise ReportError(f"Cannot read the report {path}: {e}.") from e
    metrics = isinstance(data, dict) and any(
        isinstance(v, int | float) and not isinstance(v, bool) for v in data.values()
    )
    if not metrics:
        raise ReportError(f"{path} is not a report.json (expected a JSON object of metrics).")
    if "exact_match" in data:  # `eval --squad`'s (no question set's has it): counts alone
        raise ReportError(
            f"{path} is the report of `poleqa eval --squad` (the reader alone): no metric of "
            "a question set's run to compare with."
        )
    return data


def _fmt(key: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if key.startswith("n_") or key.endswith("/n"):
        return str(int(value))
    if key.endswith("_ms"):
        return f"{value:.0f} ms"
    return f"{value:.3f}"


def _cell(text: str) -> str:
    """`text` in a Markdown table's cell: its markup shown, not run by a previewer (a question
    set's « <img onerror=…> »), one line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: EvalResult, chart: str | None = CHART) -> str:
    m = result.metrics
    lines = [f"# Evaluation: {result.name}", ""]
    info = {"questions": str(m.get("n_questions", 0)), "k": str(result.k), **result.info}
    lines += [f"- **{key}**: {_cell(value)}" for key, value in info.items()]
    if result.warnings:
        lines += ["", "## Warnings", ""]
        lines += [f"- {_cell(w)}" for w in result.warnings]
    lines += ["", "## Key metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {key} | {_fmt(key, m[key])} |" for key in MAIN_METRICS if key in m]
    for prefix, title in (("type", "By type"), ("tag", "By tag")):
        groups = group_accuracy(m, prefix)
        if not groups:
            continue
        lines += ["", f"## {title}", ""]
        lines += ["| " + prefix + " | n | accuracy | F1 | source hit@5 |", "|---|---|---|---|---|"]
        for group, (acc, n) in groups.items():
            f1 = m.get(f"{prefix}/{group}/answer_f1")
            hit = m.get(f"{prefix}/{group}/source_hit@5")
            lines.append(
                f"| {_cell(group)} | {n} | {_fmt('', acc)} | {_fmt('', f1)} | {_fmt('', hit)} |"
            )
    if chart:
        lines += ["", f"![accuracy by type]({chart})"]
    lines += [
        "",
        "A group's accuracy is over all its questions: an answerable one is right when answered "
        "right (an abstention or an error is wrong), an unanswerable one when poleqa abstained.",
    ]
    wrong = failures(result)
    lines += ["", f"## Failures ({len(wrong)})", ""]
    if wrong:
        lines += [
            "| id | type | question | expected | got | why | expected sources | cited sources |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in wrong:
            q = p.question
            cited = []
            for rank, src in enumerate(cited_sources(p), 1):
                hit = rank == p.source_rank
                cited.append(f"**{src}**" if hit else src)
            lines.append(
                "| "
                + " | ".join(
                    _cell(x)
                    for x in (
                        q.id,
                        q.type,
                        q.question,
                        expected_text(q),
                        got_text(p),
                        why_text(p, unfound=q.id in result.unfound),
                        ", ".join(q.sources),
                        ", ".join(cited),
                    )
                )
                + " |"
            )
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def write_chart(result: EvalResult, path: Path) -> None:
    """Bar chart of accuracy per question type (matplotlib's Agg canvas, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = group_accuracy(result.metrics, "type")
    names = list(groups)
    values = [0.0 if math.isnan(a) else a for a, _ in groups.values()]
    fig = Figure(figsize=(max(5.0, 0.8 * len(names) + 2), 3.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    bars = ax.bar(
        names, values, color=["#9a9a9a" if n == "unanswerable" else "#3b6ea8" for n in names]
    )
    for bar, (_, n) in zip(bars, groups.values(), strict=True):
        ax.annotate(
            f"n={n}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"{result.name}: accuracy by question type (k={result.k})")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    fig.savefig(path)


def check_lines(
    unknown: Sequence[str], unfound: Sequence[str], corpus: Path | str, shown: int | None = 5
) -> list[str]:
    """What a question set claims that the corpus does not bear out, a line per kind naming
    the sources (`metrics.unknown_sources`) or the question ids (`metrics.unfound_answers`),
    the first `shown` of them (None: all, for report.md)."""

    def listed(items: Sequence[str]) -> str:
        cut = items if shown is None else items[:shown]
        return ", ".join(cut) + ("…" if len(cut) < len(items) else "")

    lines = []
    if unknown:
        lines.append(
            f"{len(unknown)} source(s) the questions cite are not in {corpus} (their "
            f"questions' source hits count as misses): {listed(unknown)}"
        )
    if unfound:
        lines.append(
            f"{len(unfound)} question(s) have none of their answers in the documents they cite "
            f"(a typo in the gold makes each a miss, whatever the reply): {listed(unfound)}"
        )
    return lines


def summary_lines(result: EvalResult) -> list[str]:
    """A few lines of key metrics for the end of `poleqa eval`."""
    m = result.metrics

    def g(key: str) -> str:
        return _fmt(key, m.get(key))

    hits = " ".join(f"@{k} {g(f'source_hit@{k}')}" for k in HIT_AT)
    lines = [
        f"{result.name}: {g('n_questions')} question{_s(m.get('n_questions'))} "
        f"({g('n_answerable')} answerable, "
        f"{g('n_unanswerable')} unanswerable), k={result.k}",
        f"  answer accuracy {g('answer_accuracy')}   F1 {g('answer_f1')}   "
        f"false abstentions {g('false_abstain_rate')}",
        f"  abstention accuracy {g('abstain_accuracy')}   overall accuracy {g('overall_accuracy')}",
        f"  source hit {hits}   MRR@5 {g('mrr@5')}",
        f"  latency p50 {g('latency_p50_ms')}   p95 {g('latency_p95_ms')}",
    ]
    if m.get("uncertain_rate"):
        lines.append(
            f"  answers marked uncertain {g('uncertain_rate')}: right {g('uncertain_precision')}"
            f"   unmarked answers right {g('sure_precision')}"
        )
    tags = group_accuracy(m, "tag")
    if tags:
        lines.append(
            "  by tag: " + "   ".join(f"{t} {_fmt('', a)} (n={n})" for t, (a, n) in tags.items())
        )
    if m.get("n_errors"):
        lines.append(f"  {int(m['n_errors'])} question(s) failed with an error (see report.md)")
    return lines


def _compared(key: str, new: dict[str, float], old: dict[str, float]) -> bool:
    """Whether compare_lines shows `key`: the main metrics, and a group's accuracy (its
    answer or abstain accuracy against a report written before groups had one)."""
    if "/" not in key or key.endswith("/accuracy"):
        return True
    group, _, name = key.rpartition("/")
    if name not in ("answer_accuracy", "abstain_accuracy"):
        return False
    return f"{group}/accuracy" not in new or f"{group}/accuracy" not in old


def compare_lines(new: dict[str, float], old: dict[str, float], old_name: str = "old") -> list[str]:
    """A table of metric deltas (new − old)."""
    # Per-group counts, F1 and source hits would triple the table: groups show their accuracy.
    rows = [r for r in compare(new, old) if _compared(r[0], new, old)]
    if not rows:
        return ["No metric in common with the report compared."]
    width = max(len(k) for k, *_ in rows)
    lines = [f"{'metric':<{width}}  {old_name:>10}  {'new':>10}  {'delta':>9}"]
    for key, before, after, delta in rows:
        if key.startswith("n_") or key.endswith("/n"):
            d = f"{delta:+.0f}"
        elif key.endswith("_ms"):
            d = f"{delta:+.0f} ms"
        else:
            d = f"{delta + 0.0:+.3f}" if abs(delta) >= 5e-4 else "+0.000"
        lines.append(f"{key:<{width}}  {_fmt(key, before):>10}  {_fmt(key, after):>10}  {d:>9}")
    if new.get("n_questions") != old.get("n_questions"):
        lines.append("Note: the two runs did not ask the same number of questions.")
    return lines


def _s(count: object) -> str:
    """The plural's « s » for `count` things (« 1 question », « 2 questions »)."""
    return "" if count == 1 else "s"
