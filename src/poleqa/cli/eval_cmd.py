"""`poleqa eval`: ask a question set through the chat pipeline and write quality reports."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from poleqa.cli.first_run import convert_model, ensure_model
from poleqa.cli.options import (
    ReadingChoice,
    corpus_option,
    index_option,
    model_option,
    option_named,
    reading_options,
    settings_from,
)
from poleqa.config import Settings
from poleqa.errors import PoleqaError, QuestionSetError, ReportError
from poleqa.names import shown_name

if TYPE_CHECKING:
    from poleqa.evaluation import Question
    from poleqa.pipeline import Pipeline


class _OutFolder(click.Path):
    """--out's folder: an empty name would write the reports into the current folder, as
    « --out . » does on purpose."""

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> object:
        if isinstance(value, str) and not value.strip():
            self.fail("give a folder, not an empty name", param, ctx)
        return super().convert(value, param, ctx)


@click.command("eval")
@click.argument(
    "questions", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=False
)
@click.option(
    "--squad",
    "squad_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Evaluate the trained reader alone on a SQuAD-format file (each question against "
    "its own paragraph, no retrieval).",
)
@click.option("--limit", type=click.IntRange(1), help="With --squad: only the first N questions.")
@click.option(
    "--no-answer",
    type=click.Choice(["auto", "allow", "never"]),
    default="auto",
    show_default=True,
    help="With --squad: whether the reader may answer « no answer ». auto: only on a file "
    "holding unanswerable questions (SQuAD 2.0); on a file where every question has its "
    "answer (SQuAD 1.1, PIAF) it gives a span for each, as that task is scored.",
)
@corpus_option
@index_option
@click.option(
    "--out",
    "out_dir",
    type=_OutFolder(path_type=Path, file_okay=False),
    help="Folder for predictions.jsonl, report.json, report.md and the chart (with --squad: "
    "predictions.jsonl, report.json and squad_results.jsonl).  "
    "[default: eval/out/<set name>]",
)
@click.option(
    "--k",
    type=click.IntRange(1, 50),
    help="Passages cited per answer (the reader reads what it needs).  [default: 5]",
)
@model_option
@reading_options
@click.option(
    "--compare",
    "compare_to",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="An earlier report.json: print the metric deltas of this run against it.",
)
def eval_(
    questions: Path | None,
    squad_file: Path | None,
    limit: int | None,
    no_answer: str,
    corpus_dir: Path | None,
    index_dir: Path | None,
    out_dir: Path | None,
    k: int | None,
    model: str | None,
    reading: ReadingChoice,
    compare_to: Path | None,
) -> None:
    """Evaluate answer quality on QUESTIONS (JSON Lines or CSV), or the reader on --squad FILE.

    Indexes the corpus if needed, asks every question as the chat does, and writes the
    reports. With --corpus and no --index, the index is kept in OUT/index so that the
    chat's index is never rebuilt for another corpus.
    """
    if (questions is None) == (squad_file is None):
        raise click.UsageError("give a QUESTIONS file or --squad FILE (one of them)")
    if squad_file is not None:
        _refuse_ignored_by_squad()
        out_dir = out_dir or Path("eval") / "out" / squad_file.stem
        settings = settings_from(reading)
        _check_out(out_dir, settings)
        _eval_squad(squad_file, out_dir, limit, settings, no_answer)
        return
    if limit is not None or no_answer != "auto":
        raise click.UsageError("--limit and --no-answer go with --squad FILE")
    # Late: they load numpy and FAISS (see poleqa.cli).
    from poleqa.evaluation import (
        compare_lines,
        evaluate,
        keep_earlier,
        load_questions,
        load_report,
        run_differences,
        run_fields,
        run_info,
        set_name,
        summary_lines,
        write_reports,
    )
    from poleqa.pipeline import Pipeline

    # Everything that can be wrong with the inputs is reported before any indexing.
    qs = load_questions(questions)
    old = load_report(compare_to) if compare_to else None
    name = set_name(questions)
    out_dir = out_dir or Path("eval") / "out" / name
    index = _own_index(corpus_dir, index_dir, out_dir)
    settings = settings_from(
        reading,
        corpus_dir=corpus_dir,
        index_dir=index,
        model=model,
        k=k,
    )
    _check_out(out_dir, settings)
    _check_compare(compare_to, out_dir)
    ensure_model(settings)  # the first run's model set-up, said rather than silent
    pipeline = Pipeline(settings)
    _index_if_needed(pipeline, settings, own=index != index_dir)  # OUT/index: eval's own
    warnings, unfound = _checked(qs, pipeline, settings)
    info = run_info(str(questions), settings)
    _make_out(out_dir)
    result = evaluate(
        pipeline,
        qs,
        settings.k,
        name=name,
        progress=True,
        info=info,
        warnings=warnings,
        unfound=unfound,
    )
    earlier = keep_earlier(out_dir)
    write_reports(result, out_dir)

    click.echo("\n".join(summary_lines(result)))
    click.echo(f"Reports written to {out_dir}/ (report.md, report.json, predictions.jsonl)")
    _said_earlier(earlier)
    if old is not None and compare_to is not None:
        lines = compare_lines(result.metrics, old, old_name="old")
        differ = run_differences(run_fields(result), old)
        _said_compared([*lines, differ] if differ else lines, compare_to, earlier, out_dir)


def _said_compared(lines: list[str], compare_to: Path, earlier: Path | None, out_dir: Path) -> None:
    """The comparison with the report --compare named, said under the name it has now."""
    click.echo("")
    shown = compare_to
    if earlier is not None and compare_to.resolve() == (out_dir / "report.json").resolve():
        shown = earlier / "report.json"  # where the report compared with now is
    click.echo(f"Compared with {shown}:")
    click.echo("\n".join(lines))


def _own_index(corpus_dir: Path | None, index_dir: Path | None, out_dir: Path) -> Path | None:
    """The index to use: another corpus never goes into the chat's index, even one
    POLEQA_INDEX names: only an --index given on this command line is used for it, else
    OUT/index (PoleqaError if that is the chat's)."""
    if corpus_dir is None or _on_command_line("index_dir"):
        return index_dir
    chats = (index_dir or Settings().index_dir).resolve()
    own = out_dir / "index"
    if own.resolve() == chats:  # « --out . » in the chat's folder
        raise PoleqaError(
            f"{option_named('out_dir')} {out_dir} would index {corpus_dir} into the chat's "
            f"index ({chats}): "
            "choose another --out, or name an index with --index."
        )
    return own


def _check_out(out_dir: Path, settings: Settings) -> None:
    """PoleqaError, before any question is asked, if the reports cannot go to `out_dir`: inside
    the corpus (report.md would be indexed as a document next time), inside the index (its
    generation folders are replaced when it is rebuilt), or a folder that cannot be made (a
    traceback after the whole run once)."""
    out, corpus = out_dir.resolve(), settings.corpus_dir.resolve()
    named = option_named("out_dir")  # the flag, or the variable POLEQA_EVAL_OUT
    if out.is_relative_to(corpus):
        raise PoleqaError(
            f"The reports' folder {out_dir} ({named}) is inside the corpus folder "
            f"{settings.corpus_dir}: its report.md would be indexed as a document next time; "
            "choose an --out outside the corpus."
        )
    if out.is_relative_to(settings.index_dir.resolve()):
        raise PoleqaError(
            f"The reports' folder {out_dir} ({named}) is inside the index {settings.index_dir}: "
            "it would be deleted when the index is next rebuilt; choose an --out outside it."
        )
    from poleqa.evaluation.report import EARLIER  # late: see poleqa.cli

    earlier = out / EARLIER
    if os.path.lexists(earlier) and (earlier.is_symlink() or not earlier.is_dir()):
        raise PoleqaError(
            f"{out_dir / EARLIER} is not a folder of its own: an earlier run's reports are "
            "moved there when the next run writes its own; move it or choose another --out."
        )
    existing = next(p for p in (out, *out.parents) if os.path.lexists(p))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        what = "is not a folder" if not existing.is_dir() else "cannot be written to"
        raise PoleqaError(
            f"Cannot make the reports' folder {out_dir} ({named}): {existing} {what}."
        )
    from poleqa.evaluation.report import REPORTS

    taken = next((out / n for n in REPORTS if (out / n).is_dir()), None)
    if taken is not None:  # found only when writing, after the whole run, once
        raise PoleqaError(f"{taken} is a folder: the report of that name cannot be written.")


def _make_out(out_dir: Path) -> None:
    """The reports' folder made once the inputs are checked, before any question is asked: a
    file system that refuses it (/proc, a full disk) said then, not after the whole run."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = e.strerror or e
        named = option_named("out_dir")
        raise PoleqaError(f"Cannot make the reports' folder {out_dir} ({named}): {why}.") from e


def _check_compare(compare_to: Path | None, out_dir: Path) -> None:
    """ReportError for a --compare inside OUT/previous/ when this run will replace its reports
    (OUT holds reports to move there)."""
    from poleqa.evaluation.report import EARLIER, REPORTS  # late: see poleqa.cli

    earlier = out_dir / EARLIER
    replaced = any((out_dir / name).is_file() for name in REPORTS)
    if (
        replaced
        and compare_to is not None
        and compare_to.resolve().is_relative_to(earlier.resolve())
    ):
        raise ReportError(
            f"{option_named('compare_to')} {compare_to}: this run replaces the reports in "
            f"{earlier}; compare with "
            f"{out_dir / 'report.json'} (the last run's, moved to {EARLIER}/ as this one ends)."
        )


def _checked(
    qs: list[Question], pipeline: Pipeline, settings: Settings
) -> tuple[list[str], tuple[str, ...]]:
    """What the set claims that the corpus does not bear out (sources it lacks, golds in none
    of their documents), said on stderr; the lines for the report, every name in them, and
    the ids of the questions whose golds are in none of their documents."""
    from poleqa.evaluation import check_lines, unfound_answers, unknown_sources

    texts = {d.source: pipeline.document(d.source).text for d in pipeline.sources()}
    unknown, unfound = unknown_sources(qs, texts), unfound_answers(qs, texts)
    for line in check_lines(unknown, unfound, settings.corpus_dir):
        click.echo(f"poleqa: {shown_name(line)}", err=True)  # the set's names, one line
    return check_lines(unknown, unfound, settings.corpus_dir, shown=None), unfound


def _refuse_ignored_by_squad() -> None:
    """UsageError naming the options given with --squad: it reads each question's own
    paragraph with the reader alone, so they would be ignored silently."""
    ignored = [
        f"--{name.removesuffix('_dir').removesuffix('_to').replace('_', '-')}"
        for name in (
            "corpus_dir",
            "index_dir",
            "k",
            "model",
            "reader",
            "passage_order",
            "compare_to",
        )
        if _on_command_line(name)
    ]
    if ignored:
        verb = "does" if len(ignored) == 1 else "do"
        raise click.UsageError(
            f"--squad evaluates the trained reader alone: {', '.join(ignored)} {verb} not apply"
        )


def _index_if_needed(pipeline: Pipeline, settings: Settings, own: bool) -> None:
    """Build the index when it is missing or stale, and say so on stderr. One read from
    another corpus folder is read if current; if stale, it is refused (IndexOtherCorpusError)
    unless it is eval's `own` (OUT/index, rebuilt for whichever corpus it is given:
    eval/dev/questions.jsonl and eval/domain/dev.jsonl share eval/out/dev). An index named by
    --index, POLEQA_INDEX or the chat's is never updated with another folder's documents."""
    start = time.perf_counter()
    if pipeline.ensure_index(progress=True, replace=own) is not None:
        click.echo(
            f"Indexed {settings.corpus_dir} into {settings.index_dir} "
            f"in {time.perf_counter() - start:.0f} s.",
            err=True,
        )


def _on_command_line(name: str) -> bool:
    """Whether the option `name` was given on the command line (not by default or environment)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is click.core.ParameterSource.COMMANDLINE


def _checked_squad(examples: list, path: Path) -> list:
    """The file's questions, or QuestionSetError: two with one id (predictions.jsonl is read
    by id), or one without words (scored 0 whatever the reader says)."""
    seen: set[str] = set()
    twice: list[str] = []
    for e in examples:
        if e.id in seen:
            twice.append(e.id)
        seen.add(e.id)
    empty = [e.id for e in examples if not e.question.strip()]
    for found, what in ((twice, "id(s) given twice"), (empty, "empty question(s)")):
        if found:
            shown = ", ".join(found[:5]) + ("…" if len(found) > 5 else "")
            raise QuestionSetError(f"{path}: {len(found)} {what}: {shown}")
    return examples


def _eval_squad(
    path: Path, out_dir: Path, limit: int | None, settings: Settings, no_answer: str
) -> None:
    # Late: the reader loads torch and transformers (see poleqa.cli).
    from poleqa.evaluation.squad import (
        evaluate_squad,
        no_answer_allowed,
        shown,
        write_squad_reports,
    )
    from poleqa.reading import load_span_model
    from poleqa.reading.squad import placed, read_squad

    every, unplaced = placed(_checked_squad(read_squad(path), path))
    if unplaced:  # scored as they are, a right span would count as wrong
        click.echo(
            f"poleqa: {len(unplaced)} question(s) left out, none of their answers in their "
            f"paragraph: {', '.join(e.id for e in unplaced[:5])}{'…' if len(unplaced) > 5 else ''}",
            err=True,
        )
    if not every:  # a report of zeros would read as a reader that got everything wrong
        raise QuestionSetError(f"{path} holds no question to evaluate.")
    # the whole file's task decides, not the questions --limit keeps
    allowed = no_answer_allowed(no_answer, any(e.impossible for e in every))
    examples = every[:limit]
    _make_out(out_dir)
    convert_model(settings.cache_dir, onnx=False)  # the reader's base only; no ONNX export
    predictions, metrics = evaluate_squad(load_span_model(settings), examples, allowed, True)
    earlier = write_squad_reports(out_dir, examples, predictions, metrics)
    for key, value in shown(metrics).items():
        click.echo(f"{key}: {value}" if isinstance(value, int) else f"{key}: {value:.4f}")
    click.echo(
        "exact_match, f1: poleqa's French normalisation (French and English articles removed, "
        "punctuation made a space); exact_match_squad, f1_squad: the official SQuAD v1.1 one"
    )
    click.echo(
        f"Reports written to {out_dir}/ (report.json, predictions.jsonl, squad_results.jsonl)"
    )
    _said_earlier(earlier)


def _said_earlier(earlier: Path | None) -> None:
    if earlier is not None:
        click.echo(f"The earlier run's reports were moved to {earlier}/.")


commands = [eval_]
