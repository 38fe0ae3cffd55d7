"""Typed spans in a sentence (numbers with units, dates, names, places, enumerations) by rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from poleqa.reading.scorer import lexicon
from poleqa.text import fold

MONTHS = lexicon.alternation("date_months")
_DATE = re.compile(
    rf"\b(?:(?:lundi |mardi |mercredi |jeudi |vendredi |samedi |dimanche )?"
    # a day and month, with its year or without ("le 27 mars", in a dated document)
    rf"(?:1er|\d{{1,2}})\s+(?:{MONTHS})(?:\s+(?:1[89]|20)\d\d)?"
    rf"|(?:début |fin |mi-|courant |printemps |été |automne |hiver )?"
    rf"(?:{MONTHS})\s+(?:1[89]|20)\d\d"
    rf"|\d{{1,2}}/\d{{1,2}}/(?:1[89]|20)\d\d"
    rf"|(?:(?:au |à l'|à la |en |au cours de l'|fin |début |mi-)?(?:printemps|été|automne|hiver|"
    rf"fin|début|mi-)\s*)?(?:1[89]|20)\d\d)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_NUM = r"(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[,.]\d+)?"
_SCALE = r"(?:\s*(?:millions?|milliards?|mds?|md|mille|k|m)\b)?"
_UNIT = rf"(?:\s*{lexicon.alternation('units')}\b)?"
_QUALIFIER = r"(?:(?:plus de|près de|environ|moins de|quelque|au moins|jusqu'à|de l'ordre de)\s+)?"
_NUMBER = re.compile(
    rf"{_QUALIFIER}{_NUM}{_SCALE}(?:\s*(?:d'euros|de dollars|€))?(?:\s*%)?{_UNIT}"
    rf"(?:\s*(?:à|-)\s*{_NUM}\s*%)?",
    re.IGNORECASE,
)
_WORD_NUMBERS = re.compile(
    r"\b(?:une centaine|une dizaine|une vingtaine|une trentaine|une cinquantaine|un millier|"
    r"deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|"
    r"vingt|trente|quarante|cinquante|soixante|cent)\s+[a-zéèêàç-]+",
    re.IGNORECASE,
)
_UPPER = "A-ZÀ-ÖØ-Þ"
_NAME_WORD = rf"[{_UPPER}][\w'’.-]*"
_PARTICLE = r"(?:de|du|des|d'|la|le|von|van|di|da|et)"
_SP = r"[^\S\n]+"  # a name never runs across lines ("Contact\n\nSophie DUEZ")
_PERSON = re.compile(
    rf"\b[{_UPPER}][a-zà-öø-ÿ]+(?:-[{_UPPER}][a-zà-öø-ÿ]+)?"
    rf"(?:{_SP}(?:{_PARTICLE}{_SP})?[{_UPPER}][\w’'-]*[a-zà-öø-ÿ])+"
    # or a surname in capitals ("Sophie DUEZ")
    rf"|\b[{_UPPER}][a-zà-öø-ÿ]+(?:-[{_UPPER}][a-zà-öø-ÿ]+)?{_SP}[{_UPPER}]{{2,}}"
    rf"(?:-[{_UPPER}]{{2,}})?\b"
)
_PROPER = re.compile(
    rf"(?:{_NAME_WORD}|\d+)(?:{_SP}(?:{_PARTICLE}{_SP}|d['’])?(?:{_NAME_WORD}|\d+))*"
)
_QUOTED = re.compile(r"«\s*([^»]{2,120}?)\s*»|\"([^\"]{2,120})\"|“([^”]{2,120})”")
_LIST = re.compile(r"(?:[^,;:.()]{2,80},\s+){1,}[^,;:.()]{2,80}?\s+(?:et|ou|and)\s+[^,;:.()]{2,80}")

# Words capitalised at sentence start or as titles: not names by themselves.
_NOT_NAMES = frozenset(fold(w) for w in lexicon.words("not_names"))


@dataclass(frozen=True)
class Span:
    """A typed span of a text: text[start:end]."""

    start: int
    end: int
    kind: str  # number | date | year | person | name | list
    text: str


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in " ,;:\u00a0\u202f":
        s += 1
    while e > s and text[e - 1] in " ,;:.\u00a0\u202f":
        e -= 1
    return s, e


def dates(text: str) -> list[Span]:
    out = []
    for m in _DATE.finditer(text):
        s, e = _trim(text, m.start(), m.end())
        kind = "year" if _YEAR.fullmatch(text[s:e]) else "date"
        out.append(Span(s, e, kind, text[s:e]))
    return out


def numbers(text: str) -> list[Span]:
    """Quantities: numbers with their qualifier and unit; bare years and dates excluded."""
    date_spans = [(d.start, d.end) for d in dates(text)]
    out = []
    for m in _NUMBER.finditer(text):
        s, e = _trim(text, m.start(), m.end())
        if any(ds <= s and e <= de for ds, de in date_spans):
            continue
        span = text[s:e]
        if _YEAR.fullmatch(span) or not any(c.isdigit() for c in span):
            continue
        # a number glued to letters (TEAM2, i-Démo 4) is a name, not a quantity
        if s > 0 and (text[s - 1].isalpha() or text[s - 1] == "-"):
            continue
        out.append(Span(s, e, "number", span))
    for m in _WORD_NUMBERS.finditer(text):
        out.append(Span(m.start(), m.end(), "number", m.group()))
    return sorted(out, key=lambda sp: sp.start)


def persons(text: str) -> list[Span]:
    out = []
    for m in _PERSON.finditer(text):
        first = fold(m.group().split()[0])
        if first in _NOT_NAMES:
            # "Le Président Jean Dupont": drop the leading title words
            parts = m.group().split()
            while parts and fold(parts[0]) in _NOT_NAMES:
                parts = parts[1:]
            if len(parts) < 2:
                continue
            s = m.start() + m.group().index(parts[0])
            out.append(Span(s, m.end(), "person", text[s : m.end()]))
        else:
            out.append(Span(m.start(), m.end(), "person", m.group()))
    return out


# Who a "qui" question may be answered by when no one is named: a role or an institution
# ("le préfet de région", "un binôme formé d'un élu et d'un industriel", "l'État").
_ROLE = re.compile(
    r"\b(?:pr[ée]sidente?s?|pr[ée]sid[ée]e?s? par|directeur|directrice|d[ée]l[ée]gu[ée]e?s? "
    r"g[ée]n[ée]ra(?:l|le|ux)|pr[ée]f[eè]te?s?|ministres?|maires?|[ée]lu(?:e|s|es)?|bin[ôo]mes?|"
    r"secr[ée]taires?|commissaires?|responsables?|fondateurs?|fondatrices?|"
    r"[ÉE]tat|R[ée]gions?|conseil|comit[ée]s?|minist[eè]re|agence|bpifrance|"
    r"chairs?|director|prefect|minister|mayor)\b",
    re.IGNORECASE,
)


def roles(text: str) -> list[Span]:
    """Roles and institutions that can answer "qui" without a person's name."""
    return [Span(m.start(), m.end(), "role", m.group()) for m in _ROLE.finditer(text)]


def names(text: str) -> list[Span]:
    """Capitalised sequences, acronyms and quoted names that are not just sentence openers."""
    out = []
    for m in _QUOTED.finditer(text):
        g = next(i for i in (1, 2, 3) if m.group(i))
        out.append(Span(m.start(g), m.end(g), "name", m.group(g)))
    for m in _PROPER.finditer(text):
        words = m.group().split()
        while words and fold(words[0].rstrip("'’")) in _NOT_NAMES:
            words = words[1:]
        if not words or all(w.isdigit() for w in words):
            continue
        s = m.start() + m.group().index(words[0])
        s, e = _trim(text, s, m.end())
        if e - s >= 2:
            out.append(Span(s, e, "name", text[s:e]))
    return out


def enumerations(text: str) -> list[Span]:
    out = []
    for m in _LIST.finditer(text):
        s, e = _trim(text, m.start(), m.end())
        out.append(Span(s, e, "list", text[s:e]))
    return out


def spans_of(text: str, kind: str) -> list[Span]:
    """Spans of the kind an answer type expects."""
    if kind == "number":
        return numbers(text)
    if kind == "date":
        return dates(text)
    if kind == "person":
        return persons(text)
    if kind in ("name", "place"):
        return names(text)
    if kind == "list":
        return enumerations(text)
    return []


def not_in_question(spans: list[Span], question_folded: str) -> list[Span]:
    """Spans that are not already written in the question (the year asked about is no answer)."""
    out = []
    for sp in spans:
        f = fold(sp.text)
        if f and f not in question_folded:
            out.append(sp)
    return out
