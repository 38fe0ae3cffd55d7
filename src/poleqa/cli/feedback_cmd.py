"""`poleqa feedback export --csv`: citizens' feedback for staff, as a spreadsheet-ready CSV."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from poleqa.cli.options import bad_value, data_option, read_secret, settings_from
from poleqa.errors import PoleqaError, writable
from poleqa.feedback import (
    FEEDBACK_FILE,
    FEEDBACK_URL_ENV,
    open_feedback_store,
    sqlite_path,
    to_csv,
)


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
    store_file = _store_file(settings.feedback_url, settings.data_dir)
    if out is not None and store_file is not None and _same_file(out, store_file):
        # the export would replace every opinion recorded with its own CSV
        raise bad_value(
            "out", f"{out} is the feedback store itself: write the export to another file."
        )
    if out is not None:
        writable(out)  # checked before the store is read; the folder made
    absent = _absent_store(settings.feedback_url, settings.data_dir)
    if absent is not None:
        # opening it would create it (a SQLite file, the folder): a mistyped --data or
        # POLEQA_FEEDBACK_URL would go unseen behind a header without rows
        click.echo(
            f"Warning: no feedback store at {absent} (no opinion recorded yet, or another "
            "--data or POLEQA_FEEDBACK_URL is meant): the export holds the header only.",
            err=True,
        )
        records = []
    else:
        store = open_feedback_store(settings.feedback_url, settings.data_dir)
        records = store.records() if every else store.latest()
    text = to_csv(records, excel=excel)
    if out is None:
        # UTF-8 whatever the terminal's encoding: `> avis.csv` on Windows would otherwise
        # write cp1252 (and fail on the byte-order mark --excel starts with)
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
    else:
        try:
            out.write_text(text, encoding="utf-8", newline="")
        except OSError as e:  # a folder named so, a file system that refuses it
            raise PoleqaError(f"Cannot write {out}: {e.strerror or e}") from e
        click.echo(f"{len(records)} feedback rows written to {out}", err=True)


def _store_file(url: str | None, data_dir: Path) -> Path | None:
    """The file of the JSONL or SQLite store named; None for a PostgreSQL store."""
    if not url or not url.strip():
        return data_dir / FEEDBACK_FILE
    if url.strip().lower().startswith("sqlite:"):
        return sqlite_path(url.strip())
    return None


def _absent_store(url: str | None, data_dir: Path) -> Path | None:
    """The file of the JSONL or SQLite store named, when it does not exist; None otherwise
    (a PostgreSQL store is reached to be read: its errors say what is wrong)."""
    path = _store_file(url, data_dir)
    return None if path is None or path.exists() else path


def _same_file(out: Path, store: Path) -> bool:
    """Whether `out` is the store's file (or its SQLite journal), however it is written."""
    store = store.resolve()
    names = {store} | {store.with_name(store.name + s) for s in ("-wal", "-journal", "-shm")}
    if out.resolve() in names:
        return True
    try:  # a hard link to it: another name, the same file
        return out.exists() and store.exists() and os.path.samefile(out, store)
    except OSError:
        return False


commands = [feedback]
