"""Time phrases of a question (« en 2013 », « entre 2004 et 2006 », « au 1er janvier 2004 »)
and a question asked again about another one."""

from __future__ import annotations

import re

from poleqa.query.language import detect_language

_Y = r"(?:1[89]|20)\d\d"
_YEAR = re.compile(rf"\b{_Y}\b")
_MONTHS = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|"
    "décembre|decembre|january|february|march|april|may|june|july|august|september|october|"
    "november|december"
)
# A time phrase: a range (« entre 2004 et 2006 », « de 2004 à 2006 », « 2004-2006 ») or a date
# (« 2004 », « mars 2004 », « 1er janvier 2004 »), each after an optional preposition and article.
_PREPOSITION = (
    r"jusqu['’]en|jusqu['’]à|jusqu['’]au|à partir de|depuis|dès|en|au|aux|à|pour|pendant|"
    r"avant|après|vers|fin|début|courant|as of|since|in|for|during|before|after|until|by|"
    r"at|on|from"
)
_RANGE = (
    rf"(?P<r1>(?:entre|between)\s+{_Y}\s+(?:et|and)\s+{_Y}"
    rf"|(?:de|du|from)\s+{_Y}\s+(?:à|a|au|to|until)\s+{_Y})"
    rf"|(?P<r2>{_Y}\s*[-–/]\s*{_Y})"
)
_DATE = rf"(?P<day>(?:(?:(?:1er|premier|\d{{1,2}})\s+)?(?:{_MONTHS})\s+)?){_Y}"
TIME = re.compile(
    rf"(?<![\w'’])(?:(?P<prep>{_PREPOSITION})\s+)?"
    rf"(?:{_RANGE}|(?:(?:l['’]an(?:née)?|le|la|l['’]|the)\s*)?{_DATE})"
    r"(?![\w'’])",
    re.IGNORECASE,
)
# An English preposition, and the French one that says the same.
_FRENCH = {
    "since": "depuis",
    "in": "en",
    "for": "pour",
    "during": "pendant",
    "before": "avant",
    "after": "après",
    "until": "jusqu'en",
    "by": "en",
    "at": "en",
    "on": "en",
    "as of": "en",
    "from": "depuis",
}
_ENGLISH = {"en": "in", "depuis": "since", "pour": "for", "pendant": "during", "avant": "before"}
_ENGLISH |= {"après": "after", "dès": "from", "au": "on", "à partir de": "from"}
_NAME_BEFORE = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w-]*\s+$")


def strip_end(text: str) -> str:
    """`text` without its end's punctuation (« ? », « ! », « . ») and spaces."""
    return text.strip().rstrip(" ?!.").strip()


def with_time(previous: str, asked: re.Match[str]) -> str:
    """`previous` about the time phrase `asked` (a match of `TIME`) instead of its own.

    The last time phrase of `previous` is replaced whole, its preposition and day included
    (« depuis 2004 », « au 1er janvier 2004 », « entre 2004 et 2006 » → « en 2023 »); a bare
    year keeps the preposition and day of a single date (« depuis 2004 » → « depuis 2023 »);
    a year inside a name (« les pôles de 2004 ») alone changes; a question without a time
    phrase gets the new one at its end.
    """
    found = [m for m in TIME.finditer(previous) if not _in_name(previous, m)]
    old = found[-1] if found else None
    english = _is_english(previous, old)
    if old is None:
        mark = "?" if english else " ?"  # « in 2023? », « en 2023 ? »
        return f"{strip_end(previous)} {_phrase(asked, english)}{mark}"
    if not old["prep"] and not old["r1"] and old.group()[:1].isdigit():
        # « les pôles de 2004 », « 2004-2006 »: no wording of its own, only the years change
        new = "-".join(_YEAR.findall(asked.group()))
    elif not asked["prep"] and _bare_year(asked) and not (old["r1"] or old["r2"]):
        new = old.group()[:-4] + asked.group()  # « depuis 2004 » + « 2023 » → « depuis 2023 »
    else:
        new = _phrase(asked, english)
    return previous[: old.start()] + new + previous[old.end() :]


def _in_name(text: str, phrase: re.Match[str]) -> bool:
    """Whether a bare year belongs to the name before it (« France 2030 », « Horizon 2020 »)."""
    return (
        not phrase["prep"]
        and _bare_year(phrase)
        and bool(_NAME_BEFORE.search(text, 0, phrase.start()))
    )


def _bare_year(phrase: re.Match[str]) -> bool:
    return bool(_YEAR.fullmatch(phrase.group()))


def _phrase(asked: re.Match[str], english: bool) -> str:
    """The time phrase asked, worded for a French (or English) question: ranges as « entre …
    et … », English prepositions in French, « en » before a year that has none."""
    years = _YEAR.findall(asked.group())
    if asked["r1"] or asked["r2"]:
        return (
            f"between {years[0]} and {years[1]}" if english else f"entre {years[0]} et {years[1]}"
        )
    prep = asked["prep"]
    body = asked.group()[asked.end("prep") - asked.start() :].lstrip() if prep else asked.group()
    if not prep:
        if not body[:1].isdigit() or _bare_year(asked):
            prep = "in" if english else "en"  # « en 2023 », « en mars 2023 »
        else:
            prep = "on" if english else "au"  # « au 1er janvier 2023 »
        if not body[:1].isalnum() or body.split()[0].lower() in ("le", "la", "the"):
            return body  # « le 1er janvier 2023 »: no preposition needed
    else:
        prep = _ENGLISH.get(prep.lower(), prep) if english else _FRENCH.get(prep.lower(), prep)
    return f"{prep} {body}"


def _is_english(previous: str, phrase: re.Match[str] | None) -> bool:
    """Whether `previous` is in English (its time phrase's preposition tells, when it has one)."""
    if phrase is not None and phrase["prep"]:
        return phrase["prep"].lower() in _FRENCH
    return detect_language(previous) == "en"
