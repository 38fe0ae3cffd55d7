"""Feedback in a PostgreSQL database: one store shared by several servers (psycopg 3)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from poleqa.feedback import sql
from poleqa.feedback.records import Feedback, FeedbackRead, FeedbackStoreError, ReadsRecords

if TYPE_CHECKING:  # psycopg is an optional dependency (the `postgres` extra)
    import psycopg

CONNECT_TIMEOUT = 10  # seconds; a server that does not answer is an error, not a hang
# Held while the schema is created: two servers starting at once would otherwise race on
# CREATE TABLE IF NOT EXISTS (PostgreSQL then fails one of them on a duplicate type).
SCHEMA_LOCK = 0x706F6C65  # "pole"
SEQ = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
FLAG = "BOOLEAN"  # the boolean columns' type
_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")
_UNREACHABLE_FR = (
    "Les avis ne peuvent pas être enregistrés pour le moment (base de données "
    "inaccessible). Réessayez plus tard."
)


def redact(url: str) -> str:
    """`url` with its password (if any) hidden, for messages and logs."""
    return _PASSWORD.sub(r"\1***@", url)


class PostgresFeedbackStore(ReadsRecords):
    """One row per event in table `poleqa_feedback`, created on first use.

    A connection per operation: feedback is rare next to questions, and a server restarted
    meanwhile is simply reached again. `add` returns once PostgreSQL has committed the row.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._psycopg = _import_psycopg()
        try:
            self._psycopg.conninfo.conninfo_to_dict(url)
        except self._psycopg.Error as e:
            raise FeedbackStoreError(
                f"POLEQA_FEEDBACK_URL is not a PostgreSQL address ({_said(e)}): write it "
                "postgresql://USER:PASSWORD@HOST:PORT/DATABASE.",
                "L'adresse de la base des avis (POLEQA_FEEDBACK_URL) est mal formée.",
            ) from e
        self._create()

    @property
    def location(self) -> str:
        return f"PostgreSQL database {redact(self.url)}"

    def add(self, feedback: Feedback) -> None:
        with self._connect("write to") as db:
            db.execute(sql.insert_sql("%s"), sql.row_of(feedback))

    def read(self, latest: bool = False) -> FeedbackRead:
        """Every record in commit order (or `latest` only), and a warning per damaged row."""
        with self._connect("read") as db:
            rows = db.execute(sql.SELECT).fetchall()
        return sql.read_rows(rows, self.location, latest)

    def _create(self) -> None:
        with self._connect("create the table of") as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            db.execute(sql.SCHEMA.format(seq=SEQ, flag=FLAG, real="DOUBLE PRECISION"))
            db.execute(sql.INDEX)
            columns = [d.name for d in db.execute(sql.COLUMNS).description or ()]
            for statement in sql.upgrades(columns, FLAG):
                db.execute(statement)

    @contextlib.contextmanager
    def _connect(self, doing: str) -> Iterator[psycopg.Connection]:
        """One transaction, committed when the block ends without error, then closed; any
        database error becomes a FeedbackStoreError (nothing is ever dropped silently)."""
        pg = self._psycopg
        try:
            with pg.connect(
                self.url, connect_timeout=CONNECT_TIMEOUT, application_name="poleqa"
            ) as db:
                yield db
        except pg.OperationalError as e:
            raise FeedbackStoreError(
                f"Cannot {doing} the feedback database {redact(self.url)}: {_said(e)}. "
                "Check that the server is running and reachable, and the user, password and "
                "database in POLEQA_FEEDBACK_URL.",
                _UNREACHABLE_FR,
            ) from e
        except pg.Error as e:
            raise FeedbackStoreError(
                f"Cannot {doing} the feedback database {redact(self.url)}: "
                f"{type(e).__name__}: {_said(e)}",
                _UNREACHABLE_FR,
            ) from e


def _said(error: Exception) -> str:
    """The driver's message, on one line, without the password if it quotes the address."""
    return redact(" ".join(str(error).split()))


def _import_psycopg() -> ModuleType:
    # Imported here, not at the top: psycopg is needed only with a postgresql:// address, and
    # is an optional extra (`pip install 'poleqa[postgres]'`).
    try:
        import psycopg
    except ImportError as e:
        raise FeedbackStoreError(
            "POLEQA_FEEDBACK_URL names a PostgreSQL database, but psycopg is not installed: "
            "pip install 'poleqa[postgres]' (or psycopg[binary]).",
            "La base des avis (PostgreSQL) n'est pas utilisable sur ce serveur.",
        ) from e
    return psycopg
