"""The sentence scorer's short answers, citations and the notes of a gated abstention."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from poleqa.reading.scorer import entities
from poleqa.reading.scorer.question import DATE, LIST, NUMBER, PERSON, PLACE, QuestionAnalysis
from poleqa.text import stems
from poleqa.types import Citation, Hit, Sentence

if TYPE_CHECKING:
    from poleqa.index import Index

_TYPE_NAMES = {NUMBER: "aucun chiffre", DATE: "aucune date", PERSON: "aucun nom de personne"}


def gap_note(q: QuestionAnalysis, features: Mapping[str, float]) -> str:
    """Why poleqa abstains when a gate of `gates.evidence_gaps` decided it, in French."""
    if features.get("gap_year"):
        years = " ni ".join(f"de {y}" for y in q.dated_years)
        either = "ni " if len(q.dated_years) > 1 else ""
        return f"Aucun passage trouvé ne date cette information {either}{years}."
    if features.get("gap_type") and q.qtype in _TYPE_NAMES:
        return f"Le passage le plus proche ne contient {_TYPE_NAMES[q.qtype]} qui réponde."
    return "Le passage le plus proche ne parle pas de ce que la question demande."


_WORD_RE = re.compile(r"\w+")
# "quelle part / proportion / quel pourcentage / taux": the answer is a share
_SHARE_Q = re.compile(r"\b(part|proportion|pourcentage|taux|share|percentage)\b")
# "quel montant / quelle somme / quel budget", "how much money": the answer is an amount of money
_MONEY_Q = re.compile(
    r"\b(montant|somme|budget|cout|prix|cotisation|subventions?|aides?|dotation|enveloppe|"
    r"chiffre d'affaires|financement|paie|payait|coute|money|how much)\b"
)
_LOCATIVE = re.compile(
    r"(?:\b(?:à|en|au|aux|dans|vers|sur|de|près de|at|in)|\bd')\s*(?:(?:la|le|les)\s+|l['’])?$",
    re.IGNORECASE,
)
_CURRENCY = re.compile(r"€|\beuros?\b|\bdollars?\b", re.IGNORECASE)


def short_answer(
    q: QuestionAnalysis, text: str, spans: Sequence[entities.Span]
) -> tuple[int, int] | None:
    """Offsets (in `text`) of the short answer: the typed span nearest the question's words."""
    if not spans:
        if text.lstrip().startswith("|"):
            # a table row: the value cells after the row label
            cells = [m for m in re.finditer(r"[^|]+", text) if m.group().strip()]
            if len(cells) >= 2:
                s, e = cells[1].start(), cells[-1].end()
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                return (s, e)
        return None
    qstems = set(q.stems)
    words = list(_WORD_RE.finditer(text))
    anchors = [m.start() for m in words if qstems & set(stems(m.group()))]
    if q.qtype == LIST:
        sp = max(spans, key=lambda x: x.end - x.start)
        return (sp.start, sp.end)
    head = set(q.head)
    # where the sentence names what the question asks for: the answer follows it
    # ("le cluster INDURA") or carries it as its unit ("130 adhérents")
    head_ends = [m.end() for m in words if head & set(stems(m.group()))]
    share = q.qtype == NUMBER and bool(_SHARE_Q.search(q.folded))
    money = q.qtype == NUMBER and not share and bool(_MONEY_Q.search(q.folded))

    def rank(sp: entities.Span) -> tuple[int, float]:
        named = bool(head & set(stems(sp.text))) or any(
            0 <= sp.start - e <= 12 and not text[e : sp.start].strip(" '’").count(" ") > 1
            for e in head_ends
        )
        tier = 0 if named else 1
        if share:
            tier += 0 if "%" in sp.text or "pour cent" in sp.text else 2
        if money:
            tier += 0 if _CURRENCY.search(sp.text) else 2
        if q.qtype == PLACE:
            # "à Orléans", "en Bretagne": a place follows a locative preposition
            tier += 0 if _LOCATIVE.search(text[max(0, sp.start - 16) : sp.start]) else 1
        if not anchors:
            return tier, sp.start
        return tier, min(abs(a - sp.start) for a in anchors)

    best = min(spans, key=rank)
    return (best.start, best.end)


def shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def citation_for(
    index: Index,
    hit: Hit | None,
    sentence: Sentence,
    start: int,
    end: int,
    short: tuple[int, int] | None,
    score_: float,
) -> Citation:
    if hit is not None:
        chunk = hit.chunk
        info = hit.info
    else:
        chunk = next(
            (
                index.chunks[i]
                for i in index.chunk_ids(sentence.source)
                if index.chunks[i].start <= sentence.start < index.chunks[i].end
            ),
            None,
        )
        info = index.info(sentence.source)
    if chunk is None:
        c_start, c_end = sentence.start, sentence.end
        passage = index.document(sentence.source).text[c_start:c_end]
    else:
        c_start, c_end, passage = chunk.start, chunk.end, chunk.text
    return Citation(
        n=1,
        info=info,
        start=c_start,
        end=c_end,
        passage=passage,
        score=round(float(score_), 4),
        answer_start=start,
        answer_end=end,
        short_start=short[0] if short else None,
        short_end=short[1] if short else None,
    )
