"""Feedback in a SQLite database in WAL mode: several server processes on one machine."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from poleqa.feedback import sql
from poleqa.feedback.records import Feedback, FeedbackRead, FeedbackStoreError, ReadsRecords

# Seconds a writer waits for another process's write to finish before giving up.
BUSY_TIMEOUT = 30.0
# AUTOINCREMENT: a number is never reused, so `seq` keeps the order of the events.
SEQ = "INTEGER PRIMARY KEY AUTOINCREMENT"
FLAG = "INTEGER"  # the boolean columns' type


class SqliteFeedbackStore(ReadsRecords):
    """One row per event in `path`; each `add` is committed and synced before it returns.

    WAL mode lets readers (the export) work while processes write; the file must be on a local
    disk (not a network share: SQLite's locks do not hold there).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._create()

    @property
    def location(self) -> str:
        return f"SQLite database {self.path}"

    def add(self, feedback: Feedback) -> None:
        with self._connect("write to") as db, db:  # the inner `with` commits, or rolls back
            db.execute(sql.insert_sql("?"), sql.row_of(feedback))

    def read(self, latest: bool = False) -> FeedbackRead:
        """Every record in commit order (or `latest` only), and a warning per damaged row."""
        with self._connect("read") as db:
            rows = db.execute(sql.SELECT).fetchall()
        return sql.read_rows(rows, self.location, latest)

    def _create(self) -> None:
        """The schema, on first use; WAL is recorded in the file, for every later connection."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise self._error("create", e) from e
        with self._connect("create") as db:
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                # IMMEDIATE: two processes opening an older table add its columns once.
                db.execute("BEGIN IMMEDIATE")
                db.execute(sql.SCHEMA.format(seq=SEQ, flag=FLAG, real="REAL"))
                db.execute(sql.INDEX)
                columns = [d[0] for d in db.execute(sql.COLUMNS).description]
                for statement in sql.upgrades(columns, FLAG):
                    db.execute(statement)

    @contextlib.contextmanager
    def _connect(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A connection for one operation; any database error becomes a FeedbackStoreError."""
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)
        except sqlite3.Error as e:
            raise self._error(doing, e) from e
        try:
            # FULL: a commit is on disk when `add` returns (NORMAL in WAL may lose the last ones).
            db.execute("PRAGMA synchronous=FULL")
            yield db
        except sqlite3.Error as e:
            raise self._error(doing, e) from e
        finally:
            db.close()

    def _error(self, doing: str, cause: Exception) -> FeedbackStoreError:
        return FeedbackStoreError(
            f"Cannot {doing} the feedback database {self.path}: {cause}. Check that the folder "
            "exists and is writable by the server, that the file is a SQLite database, and "
            "POLEQA_FEEDBACK_URL (sqlite:///absolute/path/feedback.db).",
            "Les avis ne peuvent pas être enregistrés pour le moment (base de données "
            "inaccessible). Réessayez plus tard.",
        )
