"""A span reader and a judge make an answer: the best-judged span's sentence, or an abstention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from poleqa.query import Query
from poleqa.reading.citations import citations, cite
from poleqa.reading.evidence import SecondOpinion
from poleqa.reading.judge import Judge, feature_rows
from poleqa.reading.sentence import answer_sentence, trimmed_end, whole_words
from poleqa.roles import SpanReader
from poleqa.text import fold
from poleqa.types import Answer, Citation, ExtractedAnswer, Hit

# The judge's probability is calibrated on in-domain questions: below one half it rates an
# answer more likely wrong than right, and the answer says so (fixed, not tuned; how often such
# answers are right on the dev sets: docs/quality.md).
UNCERTAIN_BELOW = 0.5
ENGLISH_NOTE = (
    "La question est en anglais : la réponse est citée telle quelle depuis les sources en français."
)


def highlighted(span: ExtractedAnswer) -> ExtractedAnswer:
    """The span as the citizen sees it highlighted: whole words, without the punctuation that
    closes its clause."""
    chunk = span.hit.chunk
    start, end = whole_words(chunk.text, span.start - chunk.start, span.end - chunk.start)
    end = trimmed_end(chunk.text, start, end)
    return replace(span, start=chunk.start + start, end=chunk.start + end)


def span_text(span: ExtractedAnswer) -> str:
    chunk, span = span.hit.chunk, highlighted(span)
    return chunk.text[span.start - chunk.start : span.end - chunk.start]


def by_year(query: Query, answered: Sequence[ExtractedAnswer], cited: Sequence[Citation]) -> str:
    """« Selon la date des documents : document de 2019 : 56 pôles [2] ; document de 2023 :
    55 pôles [1] » (the year is the document's date: a figure may itself be a year) when the
    question names no year and the spans judged answers give different figures in documents of
    different years."""
    if query.years:
        return ""
    figures: dict[int, tuple[str, int]] = {}
    for span in answered:
        text, year = span_text(span), span.hit.info.year
        n = next(
            (
                c.n
                for c in cited
                if (c.info.source, c.start) == (span.hit.chunk.source, span.hit.chunk.start)
            ),
            None,
        )
        if year is not None and n is not None and any(ch.isdigit() for ch in text):
            figures.setdefault(year, (text, n))
    if len(figures) < 2 or len({fold(t) for t, _ in figures.values()}) < 2:
        return ""
    return "Selon la date des documents : " + " ; ".join(
        f"document de {year} : {text} [{n}]" for year, (text, n) in sorted(figures.items())
    )


def compose(
    query: Query,
    best: ExtractedAnswer,
    hits: Sequence[Hit],
    confidence: float,
    others: Sequence[ExtractedAnswer] = (),
    shown: int | None = None,
) -> Answer:
    """The answer a citizen reads: the sentence holding the span, verbatim, the span highlighted;
    `others` are the other spans judged answers (their figures by year become a note, citing
    only the first `shown` citations: the ones the reader will see)."""
    chunk, best = best.hit.chunk, highlighted(best)
    s, e = answer_sentence(chunk.text, best.start - chunk.start, best.end - chunk.start)
    start, end = chunk.start + s, chunk.start + e
    short = (best.start, best.end) if start <= best.start and best.end <= end else None
    if short == (start, end) or best.end <= best.start:
        short = None  # the whole sentence, or an empty span: nothing shorter to highlight
    cited = citations(hits, cite(best.hit, start, end, short))
    dated = by_year(query, [best, *others], cited[:shown])
    return Answer(
        question=query.text,
        text=chunk.text[s:e],
        abstained=False,
        confidence=round(float(confidence), 4),
        short_answer=chunk.text[short[0] - chunk.start : short[1] - chunk.start] if short else None,
        citations=cited,
        language=query.language,
        notes=(*_notes(query), dated) if dated else _notes(query),
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
    """Reads the passages, judges each passage's best span (with the sentence scorer's verdict
    from `evidence`), answers with the most likely one when the judge's probability reaches its
    threshold, and abstains otherwise."""

    def __init__(self, reader: SpanReader, judge: Judge, evidence: SecondOpinion) -> None:
        self.reader = reader
        self.judge = judge
        self.evidence = evidence

    def candidates(self, query: Query, hits: Sequence[Hit]) -> list[tuple[ExtractedAnswer, float]]:
        """Every passage's span with the judge's probability, most likely first."""
        spans = self.reader.read(query, hits)
        if not spans:
            return []
        rows = feature_rows(query, spans, self.evidence.gather(query, hits))
        probs = self.judge.probabilities(rows)
        order = np.argsort(-probs, kind="stable")
        return [(spans[i], float(probs[i])) for i in order]

    def answer(self, query: Query, hits: Sequence[Hit], shown: int | None = None) -> Answer:
        ranked = self.candidates(query, hits)
        if not ranked or not ranked[0][1] >= self.judge.threshold:  # NaN abstains too
            return abstain(query, hits, ranked[0][1] if ranked else 0.0)
        best, p = ranked[0]
        # the figures of other years shown beside it: only answers the judge rates more likely
        # right than wrong (a figure about something else, judged barely above the threshold,
        # read as that year's answer)
        others = [span for span, q in ranked[1:] if q >= max(self.judge.threshold, UNCERTAIN_BELOW)]
        answer = compose(query, best, hits, p, others, shown)
        return replace(answer, uncertain=p < UNCERTAIN_BELOW)
