"""A span reader and a judge make an answer: the best-judged span's sentence, or an abstention."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from poleqa.query import Query
from poleqa.reading.citations import citations, cite
from poleqa.reading.judge import Judge, feature_rows
from poleqa.reading.sentence import answer_sentence
from poleqa.roles import SpanReader
from poleqa.types import Answer, ExtractedAnswer, Hit

ENGLISH_NOTE = (
    "La question est en anglais : la réponse est citée telle quelle depuis les sources en français."
)


def compose(query: Query, best: ExtractedAnswer, hits: Sequence[Hit], confidence: float) -> Answer:
    """The answer a citizen reads: the sentence holding the span, verbatim, the span highlighted."""
    chunk = best.hit.chunk
    s, e = answer_sentence(chunk.text, best.start - chunk.start, best.end - chunk.start)
    start, end = chunk.start + s, chunk.start + e
    short = (best.start, best.end) if start <= best.start and best.end <= end else None
    if short == (start, end):
        short = None  # the whole sentence: nothing shorter to highlight
    return Answer(
        question=query.text,
        text=chunk.text[s:e],
        abstained=False,
        confidence=round(float(confidence), 4),
        short_answer=chunk.text[short[0] - chunk.start : short[1] - chunk.start] if short else None,
        citations=citations(hits, cite(best.hit, start, end, short, confidence)),
        language=query.language,
        notes=_notes(query),
    )


def abstain(query: Query, hits: Sequence[Hit], confidence: float) -> Answer:
    return Answer(
        question=query.text,
        text=None,
        abstained=True,
        confidence=round(float(confidence), 4),
        citations=citations(hits, None),
        language=query.language,
        notes=_notes(query),
    )


def _notes(query: Query) -> tuple[str, ...]:
    return (ENGLISH_NOTE,) if query.language == "en" else ()


class ReadingAnswerer:
    """Reads the passages, judges each passage's best span, answers with the most likely one
    when the judge's probability reaches its threshold, and abstains otherwise."""

    def __init__(self, reader: SpanReader, judge: Judge) -> None:
        self.reader = reader
        self.judge = judge

    def candidates(self, query: Query, hits: Sequence[Hit]) -> list[tuple[ExtractedAnswer, float]]:
        """Every passage's span with the judge's probability, most likely first."""
        spans = self.reader.read(query, hits)
        if not spans:
            return []
        probs = self.judge.probabilities(feature_rows(query, spans))
        order = np.argsort(-probs, kind="stable")
        return [(spans[i], float(probs[i])) for i in order]

    def answer(self, query: Query, hits: Sequence[Hit]) -> Answer:
        ranked = self.candidates(query, hits)
        if not ranked or ranked[0][1] < self.judge.threshold:
            return abstain(query, hits, ranked[0][1] if ranked else 0.0)
        best, p = ranked[0]
        return compose(query, best, hits, p)
