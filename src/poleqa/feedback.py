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

    @classmethod
    def about(
        cls,
        answer: Answer,
        rating: str | None,
        comment: str = "",
        feedback_id: str | None = None,
        now: datetime | None = None,
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
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Feedback:
        raw = json.loads(line)
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

    def records(self) -> list[Feedback]:
        """Every record, in order; a damaged line (e.g. cut by a crash) is skipped and logged."""
        if not self.path.exists():
            return []
        out: list[Feedback] = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    out.append(Feedback.from_json(line))
                except (ValueError, TypeError, KeyError) as e:
                    log.warning("%s line %d skipped: %s", self.path, number, e)
        return out

    def latest(self) -> list[Feedback]:
        """One record per id (the last one written), in the order the ids first appeared."""
        by_id: dict[str, Feedback] = {}
        for record in self.records():
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
            ]
        )
    return buffer.getvalue()
