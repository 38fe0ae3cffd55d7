"""The sentence scorer's answer grown past a label: "Membres :" with the units it introduces."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from poleqa.reading.scorer.candidates import Candidate, type_spans
from poleqa.reading.scorer.question import DATE, LIST, NAME, NUMBER, PERSON, PLACE, QuestionAnalysis
from poleqa.reading.sentence import MAX_ANSWER_CHARS
from poleqa.types import Sentence

if TYPE_CHECKING:
    from poleqa.index import Index

# A list item line ("- X", "* X", "1. X", "• X").
ITEM = re.compile(r"\s*(?:[-*+•·▪◦–]|\d{1,2}[.)])\s+\S")


def label_extended(index: Index, q: QuestionAnalysis, best: Candidate) -> Candidate:
    """A label ("Contact", "Membres :") answers with the unit it introduces: the span from
    the label to the next unit when that holds the expected type, and, for a list question,
    a sentence ending on ":" with the list items that follow (one verbatim span)."""
    s = best.sentence
    doc = index.document(s.source)
    following = [x for x in index.sentences_in(s.source, s.end, len(doc.text)) if x.start >= s.end]
    label = best.text.strip()
    if not label or not following:
        return best
    if q.qtype == LIST and label.endswith(":"):
        end = s.end
        for x in following:
            if x.end - s.start > MAX_ANSWER_CHARS or not ITEM.match(doc.text[x.start : x.end]):
                break
            end = x.end
        if end == s.end:
            return best
        return spanned(index, q, best, s.start, end)
    typed = q.qtype in (NUMBER, DATE, PERSON, NAME, PLACE)
    is_label = label.endswith(":") or (
        len(label.split()) <= 4 and not re.search(r"[.!?;»)]$", label)
    )
    if not typed or best.spans or not is_label or label.startswith("|"):
        return best
    nxt = following[0]
    if "\n\n\n" in doc.text[s.end : nxt.start]:
        return best
    if not type_spans(q, doc.text[nxt.start : nxt.end]):
        return best
    start = s.start if nxt.end - s.start <= MAX_ANSWER_CHARS else nxt.start
    return spanned(index, q, best, start, nxt.end)


def spanned(index: Index, q: QuestionAnalysis, best: Candidate, start: int, end: int) -> Candidate:
    s = best.sentence
    text = index.document(s.source).text[start:end]
    return replace(
        best,
        sentence=Sentence(s.id, s.source, start, end),
        text=text,
        spans=tuple(type_spans(q, text)),
    )
