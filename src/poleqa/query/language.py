"""The question's language, and English policy words given their French equivalents."""

from __future__ import annotations

import re
from importlib import resources

from poleqa.text import words


def _lexicon(name: str) -> list[str]:
    """The non-comment lines of a word list shipped in poleqa/data/lexicon/."""
    text = resources.files("poleqa").joinpath(f"data/lexicon/{name}").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


# English → French domain vocabulary, added to the lexical side of English questions (BM25 runs
# on French stems; the dense side is multilingual already).
GLOSSARY_EN_FR: dict[str, str] = dict(
    tuple(line.split("\t", 1))
    for line in _lexicon("glossary_en_fr.tsv")  # type: ignore[misc]
)
_GLOSSARY_KEYS = sorted(GLOSSARY_EN_FR, key=len, reverse=True)


def translate_terms(query: str) -> tuple[str, list[str]]:
    """(the folded query without its glossary words, their French equivalents)."""
    folded = " " + " ".join(words(query)) + " "
    extra = []
    for key in _GLOSSARY_KEYS:
        if f" {key} " in folded:
            extra.append(GLOSSARY_EN_FR[key])
            folded = folded.replace(f" {key} ", " ")
    return folded.strip(), extra


def expand_query(query: str, language: str) -> str:
    """The query plus French equivalents of English domain words (lexical side only)."""
    if language != "en":
        return query
    _, extra = translate_terms(query)
    return query + " " + " ".join(extra) if extra else query


_MARKERS = dict(line.split(": ", 1) for line in _lexicon("language_markers.txt"))
_EN_MARKERS = frozenset(_MARKERS["en"].split())
_FR_MARKERS = frozenset(_MARKERS["fr"].split())


def detect_language(text: str) -> str:
    """ "en" when English function words outnumber French ones, else "fr"."""
    toks = re.findall(r"[a-zà-ÿ]+", text.casefold())
    en = sum(t in _EN_MARKERS for t in toks)
    fr = sum(t in _FR_MARKERS for t in toks) + 2 * bool(re.search(r"[éèêàçùôî]", text.casefold()))
    return "en" if en > fr else "fr"
