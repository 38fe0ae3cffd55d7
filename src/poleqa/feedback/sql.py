"""What the database stores share: one table, one row per event, read back into records."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import astuple

from poleqa.feedback.records import (
    CSV_COLUMNS,
    CitedSource,
    Feedback,
    FeedbackRead,
    latest_per_id,
)

log = logging.getLogger(__name__)

TABLE = "poleqa_feedback"
# The record's fields, in order (the CSV export's columns); `citations` is a JSON list of the
# CitedSource fields.
FIELDS = CSV_COLUMNS
# `seq` orders the events as they were committed; `{seq}`, `{flag}`, `{real}` are the
# database's own types for a growing key, a boolean and a float.
SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " seq {seq},"
    " id TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " rating TEXT,"
    " comment TEXT NOT NULL,"
    " question TEXT NOT NULL,"
    " answer TEXT,"
    " abstained {flag} NOT NULL,"
    " confidence {real} NOT NULL,"
    " citations TEXT NOT NULL,"
    " index_version TEXT NOT NULL,"
    " resolved_question TEXT NOT NULL DEFAULT '',"
    " uncertain {flag} NOT NULL DEFAULT FALSE"
    ")"
)
# Columns added since the first release: a table created before gets them when a store opens
# it (its rows read as ""), so upgrading poleqa neither refuses nor loses stored opinions.
ADDED_COLUMNS = {
    "resolved_question": "TEXT NOT NULL DEFAULT ''",
    "uncertain": "{flag} NOT NULL DEFAULT FALSE",
}
INDEX = f"CREATE INDEX IF NOT EXISTS {TABLE}_id ON {TABLE} (id)"
SELECT = f"SELECT seq, {', '.join(FIELDS)} FROM {TABLE} ORDER BY seq"
COLUMNS = f"SELECT * FROM {TABLE} LIMIT 0"  # its cursor's description names the columns


def upgrades(columns: Iterable[str], flag: str) -> list[str]:
    """The ALTER TABLEs that give a table with `columns` the ones added since (`flag`: the
    database's boolean type)."""
    have = set(columns)
    return [
        f"ALTER TABLE {TABLE} ADD COLUMN {name} {kind.format(flag=flag)}"
        for name, kind in ADDED_COLUMNS.items()
        if name not in have
    ]


def insert_sql(placeholder: str) -> str:
    """The INSERT of one record, with the driver's placeholder (`?` or `%s`)."""
    marks = ", ".join([placeholder] * len(FIELDS))
    return f"INSERT INTO {TABLE} ({', '.join(FIELDS)}) VALUES ({marks})"


def row_of(feedback: Feedback) -> tuple[object, ...]:
    """The values of `insert_sql`, in FIELDS order."""
    citations = json.dumps([astuple(c) for c in feedback.citations], ensure_ascii=False)
    return (
        feedback.id,
        feedback.time,
        feedback.rating,
        feedback.comment,
        feedback.question,
        feedback.answer,
        bool(feedback.abstained),
        float(feedback.confidence),
        citations,
        feedback.index_version,
        feedback.resolved_question,
        bool(feedback.uncertain),
    )


def record_of(row: Sequence[object]) -> Feedback:
    """The record of a row of SELECT (seq first); ValueError, TypeError or KeyError if the row
    was edited into something that is not one."""
    values = dict(zip(FIELDS, row[1:], strict=True))
    cites = json.loads(str(values.pop("citations")))
    if not isinstance(cites, list):
        raise TypeError(f"citations are a JSON {type(cites).__name__}, not a list")
    for text in ("id", "time", "comment", "question", "index_version", "resolved_question"):
        if not isinstance(values[text], str):
            raise TypeError(f"{text} is {values[text]!r}, not text")
    abstained, uncertain = bool(values.pop("abstained")), bool(values.pop("uncertain"))
    confidence = float(values.pop("confidence"))  # type: ignore[arg-type]
    return Feedback(
        **values,  # type: ignore[arg-type]
        abstained=abstained,
        uncertain=uncertain,
        confidence=confidence,
        citations=tuple(CitedSource(*c) for c in cites),
    )


def read_rows(rows: Iterable[Sequence[object]], where: str, latest: bool) -> FeedbackRead:
    """The records of SELECT's rows; a row that is not one is skipped with a warning."""
    out: list[Feedback] = []
    warnings: list[str] = []
    for row in rows:
        try:
            out.append(record_of(row))
        except (ValueError, TypeError, KeyError) as e:
            warnings.append(
                f"{where}: row seq={row[0]} of table {TABLE} skipped: not a feedback record "
                f"({e}); fix or delete that row (the other records are read as usual)"
            )
            log.warning("%s", warnings[-1])
    return FeedbackRead(tuple(latest_per_id(out) if latest else out), tuple(warnings))
