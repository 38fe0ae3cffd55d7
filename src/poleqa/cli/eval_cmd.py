"""`poleqa eval`: ask a question set through the chat pipeline and write quality reports."""

from __future__ import annotations

import time
from pathlib import Path

import click

from poleqa.cli.options import corpus_option, index_option, model_option, settings_from


@click.command("eval")
@click.argument("questions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@corpus_option
@index_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for predictions.jsonl, report.json, report.md and the chart.  "
    "[default: eval/out/<set name>]",
)
@click.option(
    "--k",
    type=click.IntRange(1, 50),
    default=5,
    show_default=True,
    help="Passages retrieved (and cited) per question.",
)
@model_option
@click.option(
    "--compare",
    "compare_to",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="An earlier report.json: print the metric deltas of this run against it.",
)
def eval_(
    questions: Path,
    corpus_dir: Path | None,
    index_dir: Path | None,
    out_dir: Path | None,
    k: int,
    model: str | None,
    compare_to: Path | None,
) -> None:
    """Evaluate answer quality on QUESTIONS (JSON Lines or CSV).

    Indexes the corpus if needed, asks every question as the chat does, and writes the
    reports. With --corpus and no --index, the index is kept in OUT/index so that the
    chat's index is never rebuilt for another corpus.
    """
    from poleqa.evaluation import (
        compare_lines,
        evaluate,
        load_questions,
        load_report,
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
    if corpus_dir is not None and index_dir is None:
        index_dir = out_dir / "index"
    settings = settings_from(corpus_dir=corpus_dir, index_dir=index_dir, model=model)
    pipeline = Pipeline(settings)

    start = time.perf_counter()
    if pipeline.ensure_index(progress=True) is not None:
        click.echo(
            f"Indexed {settings.corpus_dir} into {settings.index_dir} "
            f"in {time.perf_counter() - start:.0f} s.",
            err=True,
        )
    info = {
        "question set": str(questions),
        "corpus": str(settings.corpus_dir),
        "index": str(settings.index_dir),
        "model": settings.model,
    }
    result = evaluate(pipeline, qs, k, name=name, progress=True, info=info)
    write_reports(result, out_dir)

    for line in summary_lines(result):
        click.echo(line)
    click.echo(f"Reports written to {out_dir}/ (report.md, report.json, predictions.jsonl)")
    if old is not None:
        click.echo("")
        click.echo(f"Compared with {compare_to}:")
        for line in compare_lines(result.metrics, old, old_name="old"):
            click.echo(line)


commands = [eval_]
