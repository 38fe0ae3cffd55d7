"""The sentence scorer's disagreeing figures: the most recent one, the others in a note."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from poleqa.reading.scorer.candidates import Candidate
from poleqa.reading.scorer.question import NUMBER, QuestionAnalysis
from poleqa.reading.scorer.short import shorten
from poleqa.types import Document, Sentence

if TYPE_CHECKING:
    from poleqa.index import Index


def dating_text(doc: Document, s: Sentence, before: Sentence | None) -> str:
    """What dates a sentence that names no year: the sentence before, the start of its
    paragraph or list item ("**iD4CAR (2009).** … Bernadette Rovire en est la directrice")
    and the document's date."""
    line_start = doc.text.rfind("\n", 0, s.start) + 1
    lead = doc.text[max(line_start, s.start - 800) : s.start]
    prev = doc.text[before.start : before.end] if before is not None else ""
    return " ".join(t for t in (prev, lead, doc.info.date or "") if t)


def rivals(
    model: dict[str, Any], q: QuestionAnalysis, best: Candidate, candidates: list[Candidate]
) -> list[Candidate]:
    """Figures of the same kind from other documents, nearly as good, when the question
    names no year: sources that disagree (e.g. 71 pôles in one phase, 55 in another)."""
    if q.years or q.qtype != NUMBER or not best.spans:
        return []
    margin = model.get("alternatives_margin", 0.5)
    return [
        c
        for c in candidates[1:6]
        if c.sentence.source != best.sentence.source
        and c.spans
        and c.score >= best.score - margin
        and c.features["lex_ctx"] >= best.features["lex_ctx"] - 0.05
    ]


def when(index: Index, c: Candidate) -> str:
    """When a figure holds: the latest year in its sentence, else its document's date."""
    years = re.findall(r"\b(?:19|20)\d\d\b", c.text)
    date = index.info(c.sentence.source).date or ""
    return max(years) if years else date[:4]


def most_recent(
    index: Index,
    model: dict[str, Any],
    q: QuestionAnalysis,
    best: Candidate,
    candidates: list[Candidate],
) -> tuple[Candidate, tuple[str, ...]]:
    """The most recent of the disagreeing figures, and a French note citing the others."""
    pool = [best, *rivals(model, q, best, candidates)]
    if len(pool) == 1:
        return best, ()
    chosen = max(pool, key=lambda c: (when(index, c), c is best))
    notes = []
    for c in pool:
        if c is chosen:
            continue
        info = index.info(c.sentence.source)
        year = when(index, c)
        notes.append(
            f"Autre chiffre ({year or 'non daté'}) dans « {info.title} » : {c.spans[0].text} "
            f"(« {shorten(c.plain, 160)} »)."
        )
    if chosen is not best:
        notes.insert(0, "Les sources ne donnent pas le même chiffre : voici le plus récent.")
    return chosen, tuple(notes[:3])
