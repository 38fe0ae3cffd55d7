"""The sentence scorer's evidence gates: what the question demands that a sentence plainly lacks
(the thing counted, the quantity asked for, the role, the event, the year, the answer type)."""

from __future__ import annotations

import re

from poleqa.reading.scorer import entities, lexicon
from poleqa.reading.scorer.question import DATE, NUMBER, PERSON, QuestionAnalysis
from poleqa.text import stems


def stem_present(stem: str, have: frozenset[str] | set[str]) -> bool:
    """The stem, or for a long one a stem sharing all but its last two letters (inflections and
    derived forms the stemmer leaves apart: "bretagn"/"bretagnes", "toulousain"/"toulous")."""
    if stem in have:
        return True
    if len(stem) < 6:
        return False
    head = stem[:-2]
    return any(t.startswith(head) for t in have)


_MONEY = lexicon.stem_set("money_words")
# words that qualify a number without saying what it counts ("plus de 60", "près de 600")
_NOT_COUNTED = _MONEY | lexicon.stem_set("count_qualifiers")
# Nouns that count the same things: "combien d'adhérents" is answered by "210 membres".
_SYNONYMS: dict[str, frozenset[str]] = {
    st: group
    for group in (frozenset(g) for g in lexicon.groups("count_synonyms", stems))
    for st in group
}
_CLAUSE_END = re.compile(r"[,;:.|()\n«»]")


def _counted(raw: str, span: entities.Span) -> list[str]:
    """What a number counts: the words of its span and the two after it within the clause
    ("48 animateurs et experts bénévoles"), without digits, qualifiers and money."""
    after = _CLAUSE_END.split(raw[span.end : span.end + 60], maxsplit=1)[0]
    words = stems(span.text) + stems(after)[:2]
    return [w for w in words if not w[0].isdigit() and w not in _NOT_COUNTED]


def unit_signal(q: QuestionAnalysis, raw: str, spans: list[entities.Span]) -> float:
    """For "how many X" questions: 1 when a number of the sentence counts X (the words after it,
    or the table row label, share a stem with the question, synonyms included), 0.5 for a bare
    number, amount or share, 0 when every number counts something else (48 animateurs ≠
    adhérents)."""
    if q.qtype != NUMBER:
        return 1.0
    if not spans:
        return 0.0
    qst = set(q.stems)
    for st in q.stems:
        qst |= _SYNONYMS.get(st, frozenset())
    if raw.lstrip().startswith("|"):
        label = raw.strip().strip("|").split("|")[0]
        if qst & set(stems(label)):
            return 1.0
    best = 0.0
    for sp in spans:
        if "%" in sp.text or _MONEY & set(stems(sp.text)):
            best = max(best, 0.5)
            continue
        counted = _counted(raw, sp)
        if qst & set(counted):
            return 1.0
        if not counted:
            best = max(best, 0.5)
    return best


# Nouns that only say "a quantity of": the thing asked is the noun after them.
_QUANTITY_WORDS = lexicon.stem_set("quantity_words")


def head_signal(q: QuestionAnalysis, have: frozenset[str]) -> float:
    """Share of the noun the question asks for ("budget" in "quel est le budget …"), and of what
    holds it ("l'équipe" in "combien de salariés compte l'équipe"), found in `have` (synonyms
    included); 1 when the question names neither."""
    head = [h for h in (*q.head, *q.owner) if h not in _QUANTITY_WORDS]
    if not head:
        return 1.0
    found = sum(stem_present(h, have) or bool(_SYNONYMS.get(h, frozenset()) & have) for h in head)
    return found / len(head)


# What a "qui" question asks someone to be, by word family (stem prefixes): the answer's
# sentence or context must name the same role ("Qui est le trésorier ?" is not answered by
# "son délégué général, Thomas Prieur").
_ROLE_FAMILIES = lexicon.groups("role_families")


def role_signal(q: QuestionAnalysis, have: frozenset[str]) -> float:
    """For "qui" questions naming a role: 1 when `have` names it too (same word family), else 0;
    1 when the question names no role."""
    if q.qtype != PERSON:
        return 1.0
    asked = [f for f in _ROLE_FAMILIES if any(s.startswith(f) for s in q.stems)]
    if not asked:
        return 1.0
    return 1.0 if any(any(s.startswith(f) for s in have) for f in asked) else 0.0


def event_signal(q: QuestionAnalysis, have: frozenset[str]) -> float:
    """For date questions: 1 when every event they ask about ("fusionné", "lancé") is named in
    `have` by a word of its family (the first letters of its stem: "fusion", "lancement"), else
    0; 1 when the question names no event."""
    for ev in q.event:
        head = ev[: max(3, min(len(ev), 5) - 1)]
        if not any(t.startswith(head) for t in have):
            return 0.0
    return 1.0


def evidence_gaps(
    q: QuestionAnalysis,
    raw: str,
    spans: list[entities.Span],
    year: float,
    unit: float,
    head: float,
    role: float = 1.0,
    event: float = 1.0,
) -> dict[str, float]:
    """What the question demands and the sentence plainly lacks; any gap makes poleqa abstain.

    gap_year: the question dates what it asks ("en 2021") and neither the sentence, its heading,
    the sentence before, its paragraph's lead nor the document's date names that year.
    gap_type: it asks for a number, a date or a person and the sentence holds none (for a
    person, not even a role: "le préfet").
    gap_unit: it asks "combien de X" and every number of the sentence counts something else.
    gap_head: it asks for a quantity of X ("le budget annuel", "combien de projets") and X, or
    the word qualifying it, is neither in the sentence nor in its context (heading, table header,
    sentence before). gap_role: "qui" names a role (président, trésorier, fondateur…) that the
    sentence and its context never name. gap_event: "quand" asks about an event ("a-t-il fermé")
    that the sentence and its context never name.
    """
    strict = q.qtype in (NUMBER, DATE, PERSON)
    has_type = bool(spans) or (q.qtype == PERSON and bool(entities.roles(raw)))
    return {
        "gap_year": 1.0 if q.dated_years and year <= 0 else 0.0,
        "gap_type": 1.0 if strict and not has_type else 0.0,
        "gap_unit": 1.0 if q.qtype == NUMBER and q.head and unit == 0.0 else 0.0,
        "gap_head": 1.0 if q.qtype == NUMBER and head < 1.0 else 0.0,
        "gap_role": 1.0 if role == 0.0 else 0.0,
        "gap_event": 1.0 if event == 0.0 else 0.0,
    }
