"""Citizens' feedback on answers: the store role, its backends (file, SQLite, PostgreSQL), CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from poleqa.feedback.file import FEEDBACK_FILE, FeedbackStore
from poleqa.feedback.postgres import PostgresFeedbackStore, redact
from poleqa.feedback.records import (
    CSV_COLUMNS,
    MAX_COMMENT_CHARS,
    RATINGS,
    CitedSource,
    Feedback,
    FeedbackRead,
    FeedbackStoreError,
    latest_per_id,
    to_csv,
)
from poleqa.feedback.sqlite import SqliteFeedbackStore

__all__ = [
    "CSV_COLUMNS",
    "FEEDBACK_FILE",
    "FEEDBACK_URL_ENV",
    "MAX_COMMENT_CHARS",
    "RATINGS",
    "CitedSource",
    "Feedback",
    "FeedbackBackend",
    "FeedbackRead",
    "FeedbackStore",
    "FeedbackStoreError",
    "PostgresFeedbackStore",
    "SqliteFeedbackStore",
    "latest_per_id",
    "open_feedback_store",
    "to_csv",
]

# Read by the edges (`poleqa serve`, `poleqa feedback`) into Settings.feedback_url; never an
# option, since a command line (`ps`) would show the password the address may hold.
FEEDBACK_URL_ENV = "POLEQA_FEEDBACK_URL"
URL_FORMS = (
    "unset (the file feedback.jsonl in the data folder), "
    "sqlite:///absolute/path/feedback.db (one machine), "
    "or postgresql://USER:PASSWORD@HOST:PORT/DATABASE (several servers)"
)


@runtime_checkable
class FeedbackBackend(Protocol):
    """Where opinions go. `add` returns once the record is durable, or raises (an OSError,
    FeedbackStoreError for the databases); reading skips damaged records with a warning each."""

    @property
    def location(self) -> str:
        """Where the records are, for messages (never a password)."""
        ...

    def add(self, feedback: Feedback) -> None: ...

    def read(self, latest: bool = False) -> FeedbackRead: ...

    def records(self) -> list[Feedback]: ...

    def latest(self) -> list[Feedback]: ...


def open_feedback_store(url: str | None, data_dir: Path) -> FeedbackBackend:
    """The store named by `url` (Settings.feedback_url), its schema created if needed.

    No url: the JSONL file in `data_dir`. FeedbackStoreError when the url is malformed or the
    database cannot be reached: a server checks it when it starts, not at the first opinion.
    """
    if not url or not url.strip():
        return FeedbackStore(data_dir)
    url = url.strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("postgresql", "postgres"):
        return PostgresFeedbackStore(url)
    if scheme == "sqlite":
        return SqliteFeedbackStore(sqlite_path(url))
    raise FeedbackStoreError(
        f"POLEQA_FEEDBACK_URL {_shown(url)!r} names no known store: use {URL_FORMS}.",
        "L'adresse de la base des avis (POLEQA_FEEDBACK_URL) est mal formée.",
    )


def sqlite_path(url: str) -> Path:
    """The file of `sqlite:///absolute/path.db` (`sqlite:////…` too, as SQLAlchemy writes it)."""
    parts = urlsplit(url)
    path = parts.path
    if parts.netloc or not path.startswith("/") or parts.query or parts.fragment:
        raise FeedbackStoreError(
            f"POLEQA_FEEDBACK_URL {_shown(url)!r} is not a SQLite address: write "
            "sqlite:///absolute/path/feedback.db (three slashes, then the absolute path of a "
            "file on this machine).",
            "L'adresse de la base des avis (POLEQA_FEEDBACK_URL) est mal formée.",
        )
    return Path("/" + path.lstrip("/"))


def _shown(url: str) -> str:
    """`url` for a message: without a password, and not too long."""
    return redact(url)[:200]
