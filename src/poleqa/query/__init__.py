"""The question analysed once into a frozen Query, handed to the retriever and the reader."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from poleqa.errors import QuestionError
from poleqa.query.followup import resolve_follow_up
from poleqa.query.language import detect_language, expand_query
from poleqa.roles import Embedder
from poleqa.text import thousands_fr
from poleqa.types import Turn

# A year of the 20th or 21st century, alone (not inside a longer number: « 20000 membres »
# is no year 2000, « 2019,5 % » no year 2019).
YEAR = re.compile(r"(?<![\d,.])(?:19|20)\d\d(?!\d)(?![,.]\d)")
# Real tags and comments only: « ont < 50 membres et > 10 salariés » is a question, not markup.
_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]{0,200})?/?>|<!--.{0,200}?-->", re.DOTALL)
# Entities ended by « ; » only (html.unescape alone reads « &ltd » as « <d »).
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A script or a style element is code, not words of the question: dropped whole.
_CODE = re.compile(r"<(script|style)\b[^>]{0,200}>.{0,5000}?</\1\s*>", re.DOTALL | re.IGNORECASE)
# A link's address may hold one level of parentheses (« javascript:alert(4) »).
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_MD_MARKS = re.compile(r"(\*\*|__|`+|~~)|^\s*(?:#{1,6}|>|[-*+])\s+", re.MULTILINE)
# Single emphasis around words (« *Quand* », « _lancée_ »), not a lone « * » or « a_b ».
_MD_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_WORD = re.compile(r"[^\W\d_]{2,}")


def plain_question(text: str) -> str:
    """The question without HTML tags or Markdown (links keep their text), composed (NFC)
    and without invisible format characters (zero-width spaces, soft hyphens, BOM, direction
    marks): markup or a decomposed « ô » around a question must not change its answer."""
    text = _MD_LINK.sub(r"\1", _TAG.sub(" ", _CODE.sub(" ", text)))
    text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    text = unicodedata.normalize("NFC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(_MD_EMPHASIS.sub(r"\2", _MD_MARKS.sub(" ", text)).split())


def without_surrogates(text: str) -> str:
    """`text` with lone surrogates (bytes a terminal or a client could not decode) replaced
    by U+FFFD: the tokenizer and the JSON encoders refuse them."""
    return _SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True, eq=False)
class Query:
    """What every stage knows of the question; built once by `analyse`."""

    text: str  # the question as asked, stripped
    resolved: str  # self-contained: a follow-up completed with the previous question
    language: str  # "fr" or "en"
    lexical: str  # what BM25 searches: `resolved`, plus French equivalents of English terms
    years: tuple[int, ...]  # years named in `resolved`
    vector: np.ndarray = field(repr=False)  # the query embedding of `resolved`
    completed: bool = False  # a follow-up completed: `resolved` is not the question as typed


def validate_question(question: str, max_chars: int) -> str:
    """The question stripped (lone surrogates replaced), or QuestionError (empty,
    punctuation only, too long)."""
    q = without_surrogates(question or "").strip()
    if not q:
        raise QuestionError("The question is empty.", "La question est vide.")
    if not any(c.isalnum() for c in q):
        raise QuestionError(
            "The question holds no words, only punctuation.",
            "La question ne contient aucun mot.",
        )
    if len(q) > max_chars:
        raise QuestionError(
            f"The question is too long ({len(q)} characters; at most {max_chars}).",
            f"La question est trop longue ({thousands_fr(len(q))} caractères ; "
            f"{thousands_fr(max_chars)} au plus).",
        )
    if not _latin(q):  # only Chinese, Arabic, Cyrillic…: read as French, answered with anything
        raise QuestionError(
            "Only questions in French or English are understood.",
            "poleqa comprend les questions en français ou en anglais : reformulez-la dans "
            "l'une de ces langues.",
        )
    return q


def _latin(text: str) -> bool:
    """Whether `text` holds a word of the Latin script (French and English do, a question
    naming a Greek person too), or no letter at all."""
    words = _WORD.findall(text)
    return not words or any(all("LATIN" in unicodedata.name(c, "") for c in w) for w in words)


def check_question(question: str, max_chars: int) -> tuple[str, str]:
    """The question stripped, and as asked (markup and decomposed characters read as text);
    QuestionError when either is refused (validate_question)."""
    text = validate_question(question, max_chars)
    return text, validate_question(plain_question(text), max_chars)


def analyse(
    question: str,
    embedder: Embedder,
    history: Sequence[Turn] = (),
    max_chars: int = 2000,
) -> Query:
    """Validates, resolves a follow-up, detects the language, expands and embeds the question."""
    text, asked = check_question(question, max_chars)
    # the earlier questions read as this one is (a client may send them decomposed, marked up)
    earlier = [replace(t, question=plain_question(t.question)) for t in history]
    resolved = resolve_follow_up(asked, earlier)
    language = detect_language(resolved)
    vector = np.asarray(embedder.embed_queries([resolved]), dtype=np.float32).reshape(-1)
    years = tuple(dict.fromkeys(int(y) for y in YEAR.findall(resolved)))
    lexical = expand_query(resolved, language)
    return Query(text, resolved, language, lexical, years, vector, resolved != asked)


__all__ = [
    "YEAR",
    "Query",
    "analyse",
    "check_question",
    "plain_question",
    "validate_question",
    "without_surrogates",
]
