"""The sentence scorer: scores the sentences of the retrieved passages' documents, cuts a short
answer, or abstains (the `sentences` answerer of poleqa.reading)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from poleqa.query import Query
from poleqa.reading.answerer import ENGLISH_NOTE
from poleqa.reading.citations import citations
from poleqa.reading.scorer import lexicon
from poleqa.reading.scorer.candidates import (
    Candidate,
    cosines,
    fast_stems_cached,
    hit_of,
    idf_weights,
    name_stems,
    names_missing,
    sentence_features,
)
from poleqa.reading.scorer.dating import dating_text, most_recent
from poleqa.reading.scorer.extend import label_extended
from poleqa.reading.scorer.model import (
    TYPED,
    Verdict,
    check_model,
    default_model,
    expectations,
    rank,
    verdict,
)
from poleqa.reading.scorer.question import QuestionAnalysis, analyze
from poleqa.reading.scorer.short import citation_for, gap_note, short_answer
from poleqa.reading.sentence import MAX_ANSWER_CHARS, fit_span, strip_markup
from poleqa.text import fold, stem_word
from poleqa.types import Answer, Document, Hit, Sentence

if TYPE_CHECKING:
    from poleqa.index import Index

_WORD_RE = re.compile(r"\w+")
# A sentence opening on a pronoun that points back at the previous sentence's subject.
_ANAPHORIC = re.compile(rf"\s*(?:[-*•]\s+)?{lexicon.alternation('anaphoric_pronouns')}\b")


@dataclass(frozen=True)
class Scoring:
    """The candidates of one question, ranked (best first), and the verdict on the best (None
    without candidates)."""

    question: QuestionAnalysis
    candidates: tuple[Candidate, ...]
    verdict: Verdict | None


class ExtractiveAnswerer:
    """Picks the sentence that best answers the question among the retrieved passages' documents.

    Every candidate sentence gets the signals of `candidates.FEATURES`; a linear model (weights in
    data/answering.json, fit with cross-validation by document on the dev set) ranks them; a second
    logistic model on the winner (`model.ABSTAIN_FEATURES`: its score, margin, what the question
    asks missing from its context…) gives the confidence, scaled by the share of the question's
    distinctive names its document holds; below the calibrated threshold, or when the winner
    plainly lacks what the question demands (a gate of `gates.evidence_gaps`: the year asked, a
    number/date/person, the thing counted, the role or event asked about), poleqa abstains, says
    why and shows the closest passages. Nothing changes once it is made: one answerer serves
    every thread.
    """

    CANDIDATE_DOCS = 3  # the documents of the top hits hold the candidate sentences
    TOP_SENTENCES = 40  # plus, in those documents, the sentences nearest the question

    def __init__(self, index: Index, model: Mapping[str, Any] | None = None) -> None:
        """`model`: the shipped one, checked against the index's embedder and chunking, unless
        one is given (research, tests: its features are checked, its settings are the caller's)."""
        self.index = index
        if model is None:
            self.model = check_model(default_model(), expectations(index))
        else:
            self.model = check_model(model, origin="the model given")
        self._doc_stems, self._df = _corpus_stats(index)

    # -- scoring (pure: research code calls it too) -------------------------------------------
    def score(self, query: Query, hits: Sequence[Hit]) -> Scoring:
        """The candidate sentences for `query` among `hits`' documents, ranked, and the verdict
        on the best: what `answer` decides on."""
        q = analyze(query.resolved)
        hits = list(hits)
        candidates = self._candidates(q, hits, query.vector) if hits else []
        if not candidates:
            return Scoring(q, (), None)
        ranked = rank(candidates, self.model)
        return Scoring(q, ranked, verdict(ranked, q.qtype in TYPED, bool(q.years), self.model))

    def answer(self, query: Query, hits: Sequence[Hit], shown: int | None = None) -> Answer:
        # `shown` is not needed: the notes here name their documents, not citation numbers
        scoring = self.score(query, hits)
        q = scoring.question
        notes: tuple[str, ...] = (ENGLISH_NOTE,) if q.language == "en" else ()
        if not hits:
            return Answer(query.text, None, True, 0.0, language=q.language, notes=notes)
        hits = list(hits)
        if scoring.verdict is None:
            return self._abstain(q, hits, 0.0, notes)
        best, confidence = scoring.candidates[0], scoring.verdict.confidence
        if scoring.verdict.gated:
            # the best sentence plainly lacks what the question demands (gates.evidence_gaps):
            # abstain whatever the other signals say, with a confidence below the threshold
            low = min(confidence, self.model["threshold"]) / 2
            return self._abstain(q, hits, low, (*notes, gap_note(q, best.features)))
        if confidence < self.model["threshold"]:
            return self._abstain(q, hits, confidence, notes)
        best, dated = most_recent(self.index, self.model, q, best, list(scoring.candidates))
        return self._answer_from(q, best, hits, confidence, notes + dated)

    def _candidates(
        self, q: QuestionAnalysis, hits: list[Hit], qvec: np.ndarray
    ) -> list[Candidate]:
        doc_stems, df = self._doc_stems, self._df
        n_docs = max(1, len(doc_stems))
        weights = idf_weights(q, df, n_docs)
        names = name_stems(q, weights, n_docs)
        # Documents in the order of their best hit; their sentences are the candidates.
        sources = list(dict.fromkeys(h.chunk.source for h in hits))[: self.CANDIDATE_DOCS]
        sents = [s for src in sources for s in self._sentences_of(src)]
        if not sents:
            return []
        in_hits = {
            x.id
            for h in hits
            if h.chunk.source in sources
            for x in self.index.sentences_in(h.chunk.source, h.chunk.start, h.chunk.end)
        }
        cos = cosines(self.index.sentence_vectors, [s.id for s in sents], qvec)
        best_cos, top_score = float(cos.max()), hits[0].score
        per_doc = {
            src: {
                "name_doc_miss": names_missing(names, doc_stems.get(src, frozenset())),
                "proper_missing": self._proper_missing(q, src),
            }
            for src in sources
        }
        out = []
        for i in _selected(sents, cos, in_hits, self.TOP_SENTENCES):
            s, c = sents[i], float(cos[i])
            doc = self.index.document(s.source)
            before = sents[i - 1] if i > 0 and sents[i - 1].source == s.source else None
            prev_stems = (
                fast_stems_cached(doc.text[before.start : before.end])
                if before is not None
                else frozenset()
            )
            s = _with_antecedent(doc, s, before)
            raw = doc.text[s.start : s.end]
            feats, plain, spans = sentence_features(
                q,
                weights,
                doc.text,
                doc.body_start,
                doc.info.title,
                s,
                fast_stems_cached(raw),
                prev_stems,
                doc_stems.get(s.source, frozenset()),
                c,
                names,
                # only a question naming a year needs what dates the sentence
                around=dating_text(doc, s, before) if q.years else "",
            )
            h = hit_of(hits, s.source, s.start, s.end)
            doc_hit = next(x for x in hits if x.chunk.source == s.source)
            feats["name_doc_miss"] = per_doc[s.source]["name_doc_miss"]
            feats["cos_rel"] = c - best_cos
            feats["passage"] = (h or doc_hit).score - top_score
            feats["in_hit"] = 1.0 if h is not None else 0.0
            feats["proper_missing"] = per_doc[s.source]["proper_missing"]
            hit_score = (h or doc_hit).score
            out.append(
                Candidate(s, raw, plain, hit_score, MappingProxyType(feats), spans=tuple(spans))
            )
        return out

    def _sentences_of(self, source: str) -> list[Sentence]:
        doc = self.index.document(source)
        return list(self.index.sentences_in(source, 0, len(doc.text)))

    def _proper_missing(self, q: QuestionAnalysis, source: str) -> float:
        """Share of the question's capitalised words (names) absent from the document."""
        if not q.proper:
            return 0.0
        doc_text = _folded(self.index.document(source).text)
        return sum(p not in doc_text for p in q.proper) / len(q.proper)

    # -- building the answer ------------------------------------------------------------------
    def _abstain(
        self, q: QuestionAnalysis, hits: list[Hit], confidence: float, notes: tuple[str, ...]
    ) -> Answer:
        return Answer(
            question=q.text,
            text=None,
            abstained=True,
            confidence=round(float(confidence), 4),
            citations=citations(hits, first=None),
            language=q.language,
            notes=notes,
        )

    def _answer_from(
        self,
        q: QuestionAnalysis,
        best: Candidate,
        hits: list[Hit],
        confidence: float,
        notes: tuple[str, ...],
    ) -> Answer:
        s = best.sentence
        doc = self.index.document(s.source)
        best = label_extended(self.index, q, best)
        s = best.sentence
        short = short_answer(q, best.text, best.spans)
        start, end = s.start, s.end
        if short is not None:
            short = (s.start + short[0], s.start + short[1])
        start, end = fit_span(doc.text, start, end, short, MAX_ANSWER_CHARS)
        start, end = strip_markup(doc.text, start, end)
        if short is not None and not (start <= short[0] and short[1] <= end):
            short = None
        hit = hit_of(hits, s.source, s.start, s.end)
        first = citation_for(self.index, hit, s, start, end, short, best.hit_score)
        return Answer(
            question=q.text,
            text=doc.text[start:end],
            abstained=False,
            confidence=round(float(confidence), 4),
            short_answer=doc.text[short[0] : short[1]] if short else None,
            citations=citations(hits, first=first),
            language=q.language,
            notes=notes,
        )


def _with_antecedent(doc: Document, s: Sentence, before: Sentence | None) -> Sentence:
    """A sentence opening on a pronoun ("Il remplace X.") names its subject in the sentence
    before: both are quoted together."""
    raw = doc.text[s.start : s.end]
    if (
        before is not None
        and _ANAPHORIC.match(raw)
        and "\n\n" not in doc.text[before.end : s.start]
        and s.end - before.start <= MAX_ANSWER_CHARS
    ):
        return Sentence(s.id, s.source, before.start, s.end)
    return s


def _selected(sents: list[Sentence], cos: np.ndarray, in_hits: set[int], top: int) -> list[int]:
    """Bounded work whatever the documents' length: the sentences of the retrieved passages
    and the `top` sentences nearest the question (cosine) in their documents."""
    selected = {i for i, s in enumerate(sents) if s.id in in_hits}
    if len(sents) > top:
        selected.update(np.argpartition(-cos, top)[:top].tolist())
    else:
        selected.update(range(len(sents)))
    return sorted(selected)


def _corpus_stats(index: Index) -> tuple[dict[str, frozenset[str]], dict[str, int]]:
    """The stems of every document, and in how many documents each stem is."""
    doc_stems: dict[str, frozenset[str]] = {}
    df: dict[str, int] = {}
    for source, doc in index.documents.items():
        toks = set(_WORD_RE.findall(fold(doc.text)))
        out = {stem_word(t) for t in toks}
        doc_stems[source] = frozenset(out)
        for s in out:
            df[s] = df.get(s, 0) + 1
    return doc_stems, df


@lru_cache(maxsize=16)
def _folded(text: str) -> str:
    """A document's text folded (memoised: a pure function)."""
    return fold(text)
