"""Candidate sentences around the retrieved passages, and the signals each is scored on."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from poleqa.reading.scorer import entities, lexicon
from poleqa.reading.scorer.gates import (
    event_signal,
    evidence_gaps,
    head_signal,
    role_signal,
    stem_present,
    unit_signal,
)
from poleqa.reading.scorer.question import (
    DEFINITION,
    LIST,
    NUMBER,
    PERSON,
    WHY,
    YESNO,
    QuestionAnalysis,
)
from poleqa.sentences import context_of, unit_text
from poleqa.text import STOPWORDS, fold, normalize_for_matching, stem_word, stems

if TYPE_CHECKING:
    from poleqa.types import Hit, Sentence

# The ranking model's columns (data/answering.json "select"), fit by bench/fit_answering.py.
FEATURES = (
    "cos",  # cosine(question, sentence with its title/heading context)
    "cos_rel",  # cos minus the best cos among candidates
    "lex_sent",  # IDF-weighted share of the question's stems found in the sentence
    "lex_ctx",  # ... in the sentence, its heading, table header, previous sentence and title
    "lex_doc",  # ... anywhere in its document
    "type",  # holds a span of the expected type that the question does not already hold
    "type_strict",  # type, for a person, number or date question
    "unit",  # a number counting what "combien de X" asks (gates.unit_signal)
    "pred_ctx",  # lex_ctx over what is asked about the question's names (their stems left out)
    "pred_sent",  # ... in the sentence alone
    "year",  # +1 names a year of the question, -1 names only other years, 0 otherwise
    "passage",  # fused retrieval score of its best passage minus the top passage's
    "in_hit",  # 1 if inside a retrieved passage, 0 if only in a retrieved document
    "heading",  # the unit is a heading (rarely an answer)
    "cue",  # why/definition cue words (car, parce que, signifie, désigne…)
    "short",  # very short unit (< 40 characters)
)

_WHY_CUES = re.compile(rf"\b{lexicon.alternation('why_cues')}", re.IGNORECASE)
_DEF_CUES = re.compile(
    rf"\b(?:{lexicon.alternation('definition_cues')}|pour\b.*\))|\(|:", re.IGNORECASE
)


@dataclass(frozen=True)
class Candidate:
    """A candidate sentence, its signals and (once ranked) its score."""

    sentence: Sentence
    text: str  # the raw sentence (document.text[start:end])
    plain: str  # the sentence as words (table rows read with their column names)
    hit_score: float
    features: Mapping[str, float]
    score: float = 0.0
    spans: tuple[entities.Span, ...] = ()  # spans of the expected type (offsets in `text`)


_WORDS = re.compile(r"\w+")


def _accent_table() -> dict[int, str]:
    table = {}
    for code in range(0xC0, 0x250):
        base = "".join(
            c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c)
        )
        if base != chr(code):
            table[code] = base
    return table


_ACCENTS = _accent_table()


def quick_fold(text: str) -> str:
    """`poleqa.text.fold` for tokenising (no space collapsing): a translate table, no NFKD."""
    return normalize_for_matching(text).translate(_ACCENTS).casefold().translate(_ACCENTS)


def fast_stems(text: str) -> frozenset[str]:
    """The set of `poleqa.text.stems(text)`, folding the text once (word stems are memoised)."""
    words = _WORDS.findall(quick_fold(text))
    return frozenset(stem_word(w) for w in words if len(w) > 1 and w not in STOPWORDS)


@lru_cache(maxsize=65_536)
def fast_stems_cached(text: str) -> frozenset[str]:
    """`fast_stems`, memoised by text (a pure function: safe to share between threads)."""
    return fast_stems(text)


@lru_cache(maxsize=256)
def _proper_stems(proper: tuple[str, ...]) -> frozenset[str]:
    return frozenset(stems(" ".join(proper)))


def predicate_weights(q: QuestionAnalysis, weights: dict[str, float]) -> dict[str, float]:
    """The question's weights without the stems of its names: what is asked about them."""
    names = _proper_stems(q.proper)
    return {s: w for s, w in weights.items() if s not in names}


def name_stems(q: QuestionAnalysis, weights: dict[str, float], n_docs: int) -> tuple[str, ...]:
    """Stems of the question's names that single out documents: a capitalised word whose stem
    is in at most half the documents (or in none: an English name kept out of `weights`).
    "Pôle", "France" are names but say nothing about which document answers."""
    generic = math.log((n_docs + 1) / (0.5 * n_docs + 0.5))
    return tuple(
        s for s in sorted(_proper_stems(q.proper)) if weights.get(s, generic + 1.0) > generic
    )


def names_missing(names: tuple[str, ...], have: frozenset[str] | set[str]) -> float:
    """Share of the question's names absent from `have` (stems)."""
    if not names:
        return 0.0
    return sum(not stem_present(n, have) for n in names) / len(names)


def idf_weights(q: QuestionAnalysis, df: dict[str, int], n_docs: int) -> dict[str, float]:
    # English words that no French document holds cannot be matched: only their glossary
    # translations count (else every English question would look unanswerable).
    return {
        s: math.log((n_docs + 1) / (df.get(s, 0) + 0.5))
        for s in q.stems
        if q.language != "en" or df.get(s, 0) > 0
    }


def coverage(weights: dict[str, float], have: set[str] | frozenset[str]) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for s, w in weights.items() if s in have) / total


def year_signal(q: QuestionAnalysis, text: str) -> float:
    if not q.years:
        return 0.0
    found = {int(y) for y in re.findall(r"\b(?:1[89]|20)\d\d\b", text)}
    if any(y in found for y in q.years):
        return 1.0
    # "depuis 2022" still holds in 2023, unless the text dates its figure later ("Indicateur
    # (depuis 2005) | Valeur à mi-2015" says nothing of 2020)
    since = {
        int(y)
        for y in re.findall(
            r"\bdepuis (?:le |l'|la |les |début |fin |mi-)?(?:\w+ )?((?:19|20)\d\d)\b",
            text,
            re.IGNORECASE,
        )
    }
    if since and found <= since and any(y <= qy for y in since for qy in q.years):
        return 1.0
    # a range "2014-2018" covers the years inside it
    for a, b in re.findall(r"\b((?:19|20)\d\d)\s*[-–à]\s*((?:19|20)\d\d)\b", text):
        if any(int(a) <= y <= int(b) for y in q.years):
            return 1.0
    return -1.0 if found else 0.0


def type_spans(q: QuestionAnalysis, text: str) -> list[entities.Span]:
    kind = q.qtype
    if kind in (DEFINITION, WHY, YESNO, "other"):
        return []
    spans = entities.spans_of(text, kind)
    if kind == LIST and not spans:
        return []
    qf = q.folded
    out = entities.not_in_question(spans, qf)
    if kind == PERSON and q.proper:
        # "Qui dirige Minalogic ?": "Minalogic Auvergne-Rhône-Alpes" is the pole, not a person
        names = set(q.proper)
        out = [s for s in out if not names & set(re.findall(r"[\w'’-]+", fold(s.text)))]
    if kind == NUMBER:
        # the numbers of the question are not its answer either
        out = [s for s in out if not any(n == s.text.strip() for n in q.numbers)]
    return out


_SMALL = frozenset(lexicon.words("acronym_small_words"))


def _initials(words: list[str], capitals_only: bool) -> str:
    keep = (
        [w for w in words if w[:1].isupper()]
        if capitals_only
        else [w for w in words if fold(w) not in _SMALL]
    )
    return fold("".join(w[0] for w in keep))


def expands_acronym(term: str, text: str) -> bool:
    """True when `text` spells out `term` next to it: "schéma régional … (SRDEII)" or
    "SAFE, acronyme de « Security and Aerospace … »" (initials of the words, or of the
    capitalised ones, give the term)."""
    t = fold(term)
    if len(t) < 2 or not t.isalnum():
        return False
    words = re.findall(r"[\w-]+", text)
    fwords = [fold(w) for w in words]
    n = len(t)
    for i, w in enumerate(fwords):
        if w != t:
            continue
        for seq in (words[max(0, i - 3 * n - 3) : i], words[i + 1 : i + 3 * n + 4]):
            # look for a run of words whose initials spell the term
            for a in range(len(seq)):
                for b in range(a + n, min(len(seq), a + 3 * n) + 1):
                    run = seq[a:b]
                    if _initials(run, False) == t or _initials(run, True) == t:
                        return True
    return False


def cue_signal(q: QuestionAnalysis, plain: str) -> float:
    if q.qtype == WHY:
        return 1.0 if _WHY_CUES.search(plain) else 0.0
    if q.qtype == DEFINITION:
        folded = fold(plain)
        original = re.findall(r"[\w-]+", q.text)
        for term in original[1:]:
            if term[:1].isupper() and expands_acronym(term, plain):
                return 3.0
        for term in q.proper:
            t = re.escape(term)
            # an expansion next to the term: "… (SRDEII)", "SAFE (…)", "Derbi, pour « … »"
            if re.search(
                rf"\({t}\)|\b{t}\s*\(|\b{t}\s*,? pour\b|\b{t}\s*:|\b{t},? "
                rf"(?:est|designe|signifie|c'est)\b|\b{t}\s*\(|\b{t}\s*\"",
                folded,
            ):
                return 2.0
        return 1.0 if _DEF_CUES.search(plain) else 0.0
    return 0.0


def missing_max(weights: dict[str, float], have: frozenset[str]) -> float:
    """The weight of the rarest question stem missing, relative to the rarest question stem."""
    if not weights:
        return 0.0
    top = max(weights.values())
    miss = [w for s, w in weights.items() if s not in have]
    return max(miss) / top if miss and top > 0 else 0.0


@lru_cache(maxsize=65_536)
def sentence_context(
    doc_text: str, start: int, end: int, body_start: int, title: str
) -> tuple[str, str, frozenset[str]]:
    """A sentence as words, its context (heading, table header, title) and the context's stems
    (memoised: a pure function of the document's text)."""
    plain = unit_text(doc_text, start, end, body_start)
    ctx = context_of(doc_text, start, body_start)
    ctx_text = " ".join(t for t in (ctx.heading, " ".join(ctx.table_header or ()), title) if t)
    return plain, ctx_text, fast_stems(ctx_text)


def sentence_features(
    q: QuestionAnalysis,
    weights: dict[str, float],
    doc_text: str,
    body_start: int,
    title: str,
    sentence: Sentence,
    sent_stems: frozenset[str],
    prev_stems: frozenset[str],
    doc_stems: frozenset[str],
    cos: float,
    names: tuple[str, ...] = (),
    around: str = "",
) -> tuple[dict[str, float], str, list[entities.Span]]:
    """The signals of one candidate sentence; `around` is the text that dates it when it names
    no year itself (the sentence before, its paragraph's lead, the document's date)."""
    raw = doc_text[sentence.start : sentence.end]
    plain, ctx_text, ctx_static = sentence_context(
        doc_text, sentence.start, sentence.end, body_start, title
    )
    pred = predicate_weights(q, weights)
    ctx_stems = ctx_static | prev_stems | sent_stems
    first_line = raw.split("\n", 1)[0]
    is_heading = raw.lstrip().startswith("#") or (
        raw.strip().startswith("**") and raw.strip().endswith("**")
    )
    spans = type_spans(q, raw)
    year = year_signal(q, raw)
    if year == 0.0 and q.years:
        year = 0.5 * max(0.0, year_signal(q, f"{ctx_text} {around}"))
    unit = unit_signal(q, raw, spans)
    head = head_signal(q, ctx_stems)
    f = {
        "cos": cos,
        "lex_sent": coverage(weights, sent_stems),
        "lex_ctx": coverage(weights, ctx_stems),
        "lex_doc": coverage(weights, doc_stems),
        "type": 1.0 if spans else 0.0,
        "unit": unit,
        "pred_ctx": coverage(pred, ctx_stems) if pred else 1.0,
        "pred_sent": coverage(pred, sent_stems) if pred else 1.0,
        "pred_miss_max": missing_max(pred, ctx_stems),
        "type_strict": 1.0 if spans and q.qtype in ("person", "number", "date") else 0.0,
        "miss_ctx_max": missing_max(weights, ctx_stems),
        "miss_doc_max": missing_max(weights, doc_stems),
        "name_ctx_miss": names_missing(names, ctx_stems),
        "year_other": 1.0 if year < 0 else 0.0,
        "year": year,
        "heading": 1.0 if is_heading else 0.0,
        "cue": cue_signal(q, plain),
        "short": 1.0 if len(plain) < 40 and not first_line.strip().startswith("|") else 0.0,
        **evidence_gaps(
            q,
            raw,
            spans,
            year,
            unit,
            head,
            role_signal(q, ctx_stems),
            event_signal(q, ctx_stems),
        ),
    }
    return f, plain, spans


def score(features: dict[str, float], weights: dict[str, float]) -> float:
    return weights.get("bias", 0.0) + sum(
        weights.get(name, 0.0) * value for name, value in features.items()
    )


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


def cosines(vectors: np.ndarray, ids: list[int], qvec: np.ndarray) -> np.ndarray:
    if not ids:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(vectors[ids], dtype=np.float32) @ qvec


def hit_of(hits: list[Hit], source: str, start: int, end: int) -> Hit | None:
    for h in hits:
        if h.chunk.source == source and h.chunk.start <= start and end <= h.chunk.end:
            return h
    for h in hits:
        if h.chunk.source == source and h.chunk.start < end and start < h.chunk.end:
            return h
    return None
