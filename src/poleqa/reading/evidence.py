"""A second opinion on the trained reader's spans: the sentence scorer's verdict (the judge
learns how far to trust it; docs/reader.md gives what it adds, cross-validated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from poleqa.query import Query
from poleqa.roles import Answerer
from poleqa.types import ExtractedAnswer, Hit


@dataclass(frozen=True)
class Evidence:
    """What the sentence scorer says of a question: its confidence, and the sentence it answers
    with as (source, start, end) in document offsets, None when it abstains."""

    scorer_confidence: float
    scorer_sentence: tuple[str, int, int] | None

    def scorer_agrees(self, span: ExtractedAnswer) -> bool:
        """Whether the scorer answered with a sentence overlapping `span` (a span may run past
        the end of the scorer's sentence, or the scorer's answer may be a shorter cut of it)."""
        if self.scorer_sentence is None:
            return False
        source, start, end = self.scorer_sentence
        return span.hit.chunk.source == source and span.start < end and start < span.end


class SecondOpinion(Protocol):
    """What the judge asks besides the reader (the role; EvidenceGatherer serves it)."""

    def gather(self, query: Query, hits: Sequence[Hit]) -> Evidence: ...


class EvidenceGatherer:
    """Asks the sentence scorer once per question, on all the question's candidate passages
    (`pipeline.CANDIDATE_HITS`; the reader reads the first few of them)."""

    def __init__(self, scorer: Answerer) -> None:
        self.scorer = scorer

    def gather(self, query: Query, hits: Sequence[Hit]) -> Evidence:
        verdict = self.scorer.answer(query, hits)
        first = None if verdict.abstained or not verdict.citations else verdict.citations[0]
        if first is None or first.answer_start is None or first.answer_end is None:
            return Evidence(float(verdict.confidence), None)
        sentence = (first.info.source, first.answer_start, first.answer_end)
        return Evidence(float(verdict.confidence), sentence)
