"""A feedback record, what reading a store gives, and the CSV export shared by every store."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import TypeVar

from poleqa.errors import PoleqaError
from poleqa.jsontext import parse_json
from poleqa.types import Answer

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
    # last: added after the first release, so older readers keep working
    "resolved_question",
    "uncertain",
)


class FeedbackStoreError(PoleqaError, OSError):
    """The feedback store cannot be opened, written or read (database unreachable, bad URL).

    Also an OSError, like the file store's errors: the chat and the staff export already turn
    those into their French message, so no opinion is ever dropped without one.
    """

    message_fr = "Les avis ne peuvent pas être enregistrés pour le moment. Réessayez plus tard."


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
    # The question as answered when a follow-up was completed (« Et en 2020 ? » alone says
    # little to whoever reads the opinion); "" when it was answered as asked, and in older records.
    resolved_question: str = ""
    # The answer said it was uncertain (« Réponse incertaine »): a 👎 on it was foretold.
    uncertain: bool = False

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
            resolved_question=answer.resolved_question or "",
            uncertain=answer.uncertain,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Feedback:
        """The record of one line; ValueError (JSONDecodeError included) or TypeError naming
        what is wrong when the line is not one."""
        raw = parse_json(line)
        if not isinstance(raw, dict):
            raise TypeError(f"a JSON {type(raw).__name__}, not an object")
        cites = raw.pop("citations", [])
        if not isinstance(cites, list):
            raise TypeError(f"citations: {cites!r} is not a list")
        for c in cites:
            if not isinstance(c, dict):
                raise TypeError(f"citations: {c!r} is not an object")
            _named(CitedSource, c, "a citation's ")
        _named(cls, raw, "")
        return _typed(cls(**raw, citations=tuple(_typed(CitedSource(**c)) for c in cites)))


_Record = TypeVar("_Record", "Feedback", "CitedSource")
# The JSON types a record's fields take (what the export and the staff view then rely on).
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "str | None": (str, type(None)),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


def _named(kind: type, raw: dict, what: str) -> None:
    """TypeError naming the fields `raw` lacks or has too many for a `kind` record."""
    known = {f.name: f for f in fields(kind)}
    missing = [
        n
        for n, f in known.items()
        if f.default is MISSING and f.default_factory is MISSING and n not in raw
    ]
    unknown = [str(n) for n in raw if n not in known]
    if missing:
        raise TypeError(f"{what}fields missing: {', '.join(missing)}")
    if unknown:
        raise TypeError(f"{what}fields unknown: {', '.join(unknown)}")


def _typed(record: _Record) -> _Record:
    """`record` (a dataclass read from JSON), or TypeError naming a field of the wrong type."""
    for f in fields(record):
        kinds = _JSON_TYPES.get(str(f.type))
        value = getattr(record, f.name)
        if kinds and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        ):
            raise TypeError(f"{f.name}: {value!r} is not {f.type}")
    return record


@dataclass(frozen=True)
class FeedbackRead:
    """What reading a feedback store gave: the records, and one warning per record skipped."""

    records: tuple[Feedback, ...]
    warnings: tuple[str, ...]


class ReadsRecords:
    """`records()` and `latest()` for a store that has `read(latest)`."""

    def read(self, latest: bool = False) -> FeedbackRead:
        raise NotImplementedError

    def records(self) -> list[Feedback]:
        """Every record, in order; a damaged one is skipped and logged (see `read`)."""
        return list(self.read().records)

    def latest(self) -> list[Feedback]:
        """One record per id (the last one written), in the order the ids first appeared."""
        return list(self.read(latest=True).records)


def latest_per_id(records: Iterable[Feedback]) -> list[Feedback]:
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


def to_csv(records: Iterable[Feedback], excel: bool = False) -> str:
    """CSV (comma-separated, header row, RFC 4180 quoting, \\n line ends), one row per record.

    `excel`: what a spreadsheet set to French opens as columns on a double click: « ; » between
    cells, decimal commas, and a byte-order mark (without it Excel reads UTF-8 as Windows-1252).
    """
    buffer = io.StringIO()
    if excel:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";" if excel else ",", lineterminator="\n")
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
                f"{r.confidence:.2f}".replace(".", "," if excel else "."),
                _citations_cell(r.citations),
                r.index_version,
                _cell(r.resolved_question),
                "yes" if r.uncertain else "no",
            ]
        )
    return buffer.getvalue()
