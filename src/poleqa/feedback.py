"""Durable store of citizens' feedback on answers: one JSON line per event, exported to CSV."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from poleqa.types import Answer

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"
RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000  # a comment on one answer; the web chat refuses longer ones
CSV_COLUMNS = (
    "id",
    "time",
    "rating",
    "comment",
    "question",
    "answer",
    "abstained",
    "confidence",
    "citations",
    "index_version",
)


@dataclass(frozen=True)
class CitedSource:
    """What feedback keeps of a citation: enough to find the passage again."""

    n: int
    source: str
    title: str
    start: int
    end: int


@dataclass(frozen=True)
class Feedback:
    """One opinion on one answer. A later record with the same id replaces the earlier one."""

    id: str
    time: str  # ISO 8601, UTC
    rating: str | None  # "up", "down", or None (comment only)
    comment: str
    question: str
    answer: str | None
    abstained: bool
    confidence: float
    citations: tuple[CitedSource, ...] = field(default_factory=tuple)
    index_version: str = ""  # the index generation the answer came from ("" in older records)

    @classmethod
    def about(
        cls,
        answer: Answer,
        rating: str | None,
        comment: str = "",
        feedback_id: str | None = None,
        now: datetime | None = None,
        index_version: str = "",
    ) -> Feedback:
        if rating is not None and rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS} or None, not {rating!r}")
        if len(comment) > MAX_COMMENT_CHARS:
            raise ValueError(f"comment of {len(comment)} characters (at most {MAX_COMMENT_CHARS})")
        when = (now or datetime.now(UTC)).astimezone(UTC)
        return cls(
            id=feedback_id or uuid.uuid4().hex,
            time=when.isoformat(timespec="seconds"),
            rating=rating,
            comment=comment.strip(),
            question=answer.question,
            answer=answer.text,
            abstained=answer.abstained,
            confidence=round(float(answer.confidence), 4),
            citations=tuple(
                CitedSource(c.n, c.info.source, c.info.title, c.start, c.end)
                for c in answer.citations
            ),
            index_version=index_version,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Feedback:
        """The record of one line; ValueError (JSONDecodeError included), TypeError or KeyError
        when the line is not one."""
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise TypeError(f"a JSON {type(raw).__name__}, not an object")
        cites = tuple(CitedSource(**c) for c in raw.pop("citations", ()))
        return cls(**raw, citations=cites)


class FeedbackStore:
    """Appends feedback to `<data_dir>/feedback.jsonl`, flushed and fsynced before returning."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / FEEDBACK_FILE
        self._lock = threading.Lock()

    def add(self, feedback: Feedback) -> None:
        line = feedback.to_json() + "\n"
        with self._lock:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as f:
                if f.tell() > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":  # a crash cut the last record: start a fresh line
                        line = "\n" + line
                f.write(line.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())

    def read(self, latest: bool = False) -> FeedbackRead:
        """Every record in order (or `latest` only), and a warning per damaged line skipped.

        A damaged line (cut by a crash, edited by hand) costs that line only; each warning is
        also logged.
        """
        if not self.path.exists():
            return FeedbackRead((), ())
        out: list[Feedback] = []
        warnings: list[str] = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    out.append(Feedback.from_json(line))
                except (ValueError, TypeError, KeyError) as e:
                    warnings.append(self._skipped(number, e))
                    log.warning("%s", warnings[-1])
        return FeedbackRead(tuple(_latest(out) if latest else out), tuple(warnings))

    def _skipped(self, number: int, error: Exception) -> str:
        """The warning for a line that is not a record: where it is, why, and what to do."""
        if isinstance(error, json.JSONDecodeError):
            # e.g. "Invalid control character at": a tab or line break typed inside a string
            why = f"not valid JSON ({error.msg.removesuffix(' at')} at column {error.colno})"
        else:
            why = f"not a feedback record ({error})"
        return (
            f"{self.path} line {number} skipped: {why}; fix or delete that line "
            "(the other records are read as usual)"
        )

    def records(self) -> list[Feedback]:
        """Every record, in order; a damaged line is skipped and logged (see `read`)."""
        return list(self.read().records)

    def latest(self) -> list[Feedback]:
        """One record per id (the last one written), in the order the ids first appeared."""
        return list(self.read(latest=True).records)


@dataclass(frozen=True)
class FeedbackRead:
    """What reading the feedback file gave: the records, and one warning per line skipped."""

    records: tuple[Feedback, ...]
    warnings: tuple[str, ...]


def _latest(records: Iterable[Feedback]) -> list[Feedback]:
    """One record per id (the last one written), in the order the ids first appeared."""
    by_id: dict[str, Feedback] = {}
    for record in records:
        by_id[record.id] = record  # dict keeps first-insertion order
    return list(by_id.values())


def _cell(text: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _citations_cell(citations: Iterable[CitedSource]) -> str:
    return "; ".join(f"[{c.n}] {c.source} ({c.start}-{c.end})" for c in citations)


def to_csv(records: Iterable[Feedback]) -> str:
    """CSV (comma-separated, header row, RFC 4180 quoting, \\n line ends), one row per record."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(
            [
                r.id,
                r.time,
                r.rating or "",
                _cell(r.comment),
                _cell(r.question),
                _cell(r.answer or ""),
                "yes" if r.abstained else "no",
                f"{r.confidence:.2f}",
                _citations_cell(r.citations),
                r.index_version,
            ]
        )
    return buffer.getvalue()
