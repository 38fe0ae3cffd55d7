"""`poleqa feedback export --csv`: citizens' feedback for staff, as a spreadsheet-ready CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from poleqa.cli.options import data_option, read_secret, settings_from
from poleqa.feedback import FEEDBACK_URL_ENV, open_feedback_store, to_csv


@click.group()
def feedback() -> None:
    """Citizens' feedback on answers (👍/👎 and comments)."""


@feedback.command("export")
@click.option("--csv", "as_csv", is_flag=True, required=True, help="Export as CSV (required).")
@data_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of standard output.",
)
@click.option("--all", "every", is_flag=True, help="Every event, not only the last per answer.")
@click.option(
    "--excel",
    is_flag=True,
    help="For a spreadsheet set to French: « ; » between cells, decimal commas, a byte-order "
    "mark (what the staff area's « Exporter les avis » gives).",
)
def export(as_csv: bool, data_dir: Path | None, out: Path | None, every: bool, excel: bool) -> None:
    """Export feedback as CSV: one row per rated answer (its last rating and comment).

    From the database named by POLEQA_FEEDBACK_URL (or the file POLEQA_FEEDBACK_URL_FILE
    names) when it is set, else from the data folder.
    """
    settings = settings_from(data_dir=data_dir, feedback_url=read_secret(FEEDBACK_URL_ENV))
    store = open_feedback_store(settings.feedback_url, settings.data_dir)
    records = store.records() if every else store.latest()
    text = to_csv(records, excel=excel)
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8", newline="")
        click.echo(f"{len(records)} feedback rows written to {out}", err=True)


commands = [feedback]
