"""The sentence scorer: scores the sentences of the retrieved passages' documents, cuts a short
answer, or abstains (the `sentences` answerer of poleqa.reading)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from poleqa.query import Query
from poleqa.reading.answerer import ENGLISH_NOTE
from poleqa.reading.citations import citations
from poleqa.reading.scorer.candidates import (
    Candidate,
    cosines,
    fast_stems,
    hit_of,
    idf_weights,
    name_stems,
    names_missing,
    score,
    sentence_features,
    sigmoid,
)
from poleqa.reading.scorer.dating import dating_text, most_recent
from poleqa.reading.scorer.extend import label_extended
from poleqa.reading.scorer.question import (
    DATE,
    LIST,
    NAME,
    NUMBER,
    PERSON,
    PLACE,
    QuestionAnalysis,
    analyze,
)
from poleqa.reading.scorer.short import citation_for, gap_note, short_answer
from poleqa.reading.sentence import MAX_ANSWER_CHARS, fit_span, strip_markup
from poleqa.text import fold, stem_word
from poleqa.types import Answer, Document, Hit, Sentence

if TYPE_CHECKING:
    from poleqa.index import Index

_WORD_RE = re.compile(r"\w+")
# A sentence opening on a pronoun that points back at the previous sentence's subject.
_ANAPHORIC = re.compile(
    r"\s*(?:[-*•]\s+)?"
    r"(?:Il|Elle|Ils|Elles|Celui-ci|Celle-ci|Ce dernier|Cette dernière|Ces derniers)\b"
)


@lru_cache(maxsize=1)
def default_model() -> dict[str, Any]:
    """Calibrated weights and abstention threshold shipped with the package."""
    text = resources.files("poleqa").joinpath("data/answering.json").read_text(encoding="utf-8")
    return json.loads(text)


class ExtractiveAnswerer:
    """Picks the sentence that best answers the question among the retrieved passages' documents.

    Every candidate sentence gets the signals of `candidates.FEATURES`; a linear model (weights in
    data/answering.json, fit with cross-validation by document on the dev set) ranks them; a second
    logistic model on the winner (its score, margin, what the question asks missing from its
    context, expected type missing, year mismatch) gives the confidence, scaled by the share of
    the question's distinctive names its document holds; below the calibrated threshold, or when
    the winner plainly lacks what the question demands (a gate of `candidates.evidence_gaps`:
    the year asked, a number/date/person, the thing counted, the role or event asked about),
    poleqa abstains, says why and shows the closest passages.
    """

    CANDIDATE_DOCS = 3  # the documents of the top hits hold the candidate sentences
    TOP_SENTENCES = 40  # plus, in those documents, the sentences nearest the question

    def __init__(self, index: Index, model: dict[str, Any] | None = None) -> None:
        self.index = index
        self.model = model or default_model()
        self._lock = threading.Lock()
        self._doc_stems: dict[str, frozenset[str]] | None = None
        self._df: dict[str, int] = {}
        self._sent_stems: dict[int, frozenset[str]] = {}
        self._doc_sentences: dict[str, list[Sentence]] = {}
        self._folded: dict[str, str] = {}
        self._static: dict[int, tuple[str, str, frozenset[str]]] = {}
        self.record = False  # keep the scored candidates of the last question (research)
        self.last_candidates: list[dict[str, Any]] = []

    # -- statistics, computed once on first use --------------------------------------------
    def _stats(self) -> tuple[dict[str, frozenset[str]], dict[str, int]]:
        if self._doc_stems is None:
            with self._lock:
                if self._doc_stems is None:
                    doc_stems: dict[str, frozenset[str]] = {}
                    df: dict[str, int] = {}
                    for source, doc in self.index.documents.items():
                        toks = set(_WORD_RE.findall(fold(doc.text)))
                        out = {stem_word(t) for t in toks}
                        doc_stems[source] = frozenset(out)
                        for s in out:
                            df[s] = df.get(s, 0) + 1
                    self._df = df
                    self._doc_stems = doc_stems
        return self._doc_stems, self._df

    def _stems_of(self, sentence: Sentence, text: str, key: int | None = None) -> frozenset[str]:
        key = sentence.id if key is None else key
        got = self._sent_stems.get(key)
        if got is None:
            got = fast_stems(text)
            if len(self._sent_stems) < 500_000:
                self._sent_stems[key] = got
        return got

    def _sentences_of(self, source: str) -> list[Sentence]:
        got = self._doc_sentences.get(source)
        if got is None:
            doc = self.index.document(source)
            got = list(self.index.sentences_in(source, 0, len(doc.text)))
            self._doc_sentences[source] = got
        return got

    # -- answering ------------------------------------------------------------------------
    def answer(self, query: Query, hits: Sequence[Hit]) -> Answer:
        q = analyze(query.resolved)
        hits = list(hits)
        notes: tuple[str, ...] = (ENGLISH_NOTE,) if q.language == "en" else ()
        if not hits:
            return Answer(query.text, None, True, 0.0, language=q.language, notes=notes)
        candidates = self._candidates(q, hits, query.vector)
        if not candidates:
            return self._abstain(q, hits, 0.0, notes)
        sel = self.model["select"]
        for c in candidates:
            c.score = score(c.features, sel)
        candidates.sort(key=lambda c: -c.score)
        candidates = self._named_first(candidates)
        best = candidates[0]
        confidence = self._confidence(q, best, candidates)
        if self.record:
            typed = q.qtype in (NUMBER, DATE, PERSON, NAME, PLACE, LIST)
            self.last_candidates = [
                {
                    "source": c.sentence.source,
                    "text": c.text,
                    "score": c.score,
                    "typed": typed,
                    "has_years": bool(q.years),
                    "proper_missing": self._proper_missing(q, c.sentence.source),
                    "qtype": q.qtype,
                    **c.features,
                }
                for c in candidates
            ]
        if any(best.features.get(g, 0.0) for g in self.model.get("gates", ())):
            # the best sentence plainly lacks what the question demands (candidates.evidence_gaps):
            # abstain whatever the other signals say, with a confidence below the threshold
            low = min(confidence, self.model["threshold"]) / 2
            return self._abstain(q, hits, low, (*notes, gap_note(q, best.features)))
        if confidence < self.model["threshold"]:
            return self._abstain(q, hits, confidence, notes)
        best, dated = self._most_recent(q, best, candidates)
        return self._answer_from(q, best, candidates, hits, confidence, notes + dated)

    def _candidates(
        self, q: QuestionAnalysis, hits: list[Hit], qvec: np.ndarray
    ) -> list[Candidate]:
        doc_stems, df = self._stats()
        weights = idf_weights(q, df, max(1, len(doc_stems)))
        names = name_stems(q, weights, max(1, len(doc_stems)))
        name_doc_miss: dict[str, float] = {}
        # Documents in the order of their best hit; their sentences are the candidates.
        sources: list[str] = []
        for h in hits:
            if h.chunk.source not in sources:
                sources.append(h.chunk.source)
        sources = sources[: self.CANDIDATE_DOCS]
        sents: list[Sentence] = []
        for src in sources:
            sents.extend(self._sentences_of(src))
        if not sents:
            return []
        in_hits = {
            x.id
            for h in hits
            if h.chunk.source in sources
            for x in self.index.sentences_in(h.chunk.source, h.chunk.start, h.chunk.end)
        }
        vecs = self.index.sentence_vectors
        cos = cosines(vecs, [s.id for s in sents], qvec)
        best_cos = float(cos.max())
        top_score = hits[0].score
        out = []
        for i in self._selected(sents, cos, in_hits):
            s, c = sents[i], cos[i]
            doc = self.index.document(s.source)
            before = sents[i - 1] if i > 0 and sents[i - 1].source == s.source else None
            prev_stems = (
                self._stems_of(before, doc.text[before.start : before.end])
                if before is not None
                else frozenset()
            )
            s, key = _with_antecedent(doc, s, before)
            raw = doc.text[s.start : s.end]
            st = self._stems_of(s, raw, key)
            feats, plain, spans = sentence_features(
                q,
                weights,
                doc.text,
                doc.body_start,
                doc.info.title,
                s,
                st,
                prev_stems,
                doc_stems.get(s.source, frozenset()),
                float(c),
                self._static,
                names,
                # only a question naming a year needs what dates the sentence
                around=dating_text(doc, s, before) if q.years else "",
            )
            h = hit_of(hits, s.source, s.start, s.end)
            doc_hit = next(x for x in hits if x.chunk.source == s.source)
            if s.source not in name_doc_miss:
                name_doc_miss[s.source] = names_missing(names, doc_stems.get(s.source, frozenset()))
            feats["name_doc_miss"] = name_doc_miss[s.source]
            feats["cos_rel"] = float(c) - best_cos
            feats["passage"] = (h or doc_hit).score - top_score
            feats["in_hit"] = 1.0 if h is not None else 0.0
            out.append(
                Candidate(
                    sentence=s,
                    text=raw,
                    plain=plain,
                    hit_score=(h or doc_hit).score,
                    features=feats,
                    spans=tuple(spans),
                )
            )
        return out

    def _selected(self, sents: list[Sentence], cos: np.ndarray, in_hits: set[int]) -> list[int]:
        """Bounded work whatever the documents' length: the sentences of the retrieved passages
        and the sentences nearest the question (cosine) in their documents."""
        selected = {i for i, s in enumerate(sents) if s.id in in_hits}
        if len(sents) > self.TOP_SENTENCES:
            selected.update(
                np.argpartition(-cos, self.TOP_SENTENCES)[: self.TOP_SENTENCES].tolist()
            )
        else:
            selected.update(range(len(sents)))
        return sorted(selected)

    def _named_first(self, candidates: list[Candidate]) -> list[Candidate]:
        """A winner that names no one and nothing of the type asked (only `gap_type` / `gap_role`:
        a list item's title, a heading-like lead) gives way to the best ungated candidate within
        `type_fallback` of its score: the answer is usually the next sentence, which names it."""
        gates = self.model.get("gates", ())
        delta = self.model.get("type_fallback", 0.0)
        soft = {"gap_type", "gap_role"}
        found = {g for g in gates if candidates[0].features.get(g, 0.0)}
        if delta <= 0 or not found or not found <= soft:
            return candidates
        top = candidates[0].score
        for i, c in enumerate(candidates):
            if c.score < top - delta:
                break
            if not any(c.features.get(g, 0.0) for g in gates):
                return [c, *candidates[:i], *candidates[i + 1 :]]
        return candidates

    def _confidence(
        self, q: QuestionAnalysis, best: Candidate, candidates: list[Candidate]
    ) -> float:
        second = next(
            (c for c in candidates[1:] if c.sentence.source != best.sentence.source), None
        )
        f = best.features
        typed = q.qtype in (NUMBER, DATE, PERSON, NAME, PLACE, LIST)
        proper_missing = self._proper_missing(q, best.sentence.source)
        signals = {
            "score": best.score,
            "margin": best.score - second.score if second else 1.0,
            "key_missing": 1.0 - f["lex_doc"],
            "ctx_missing": 1.0 - f["lex_ctx"],
            "type_missing": 1.0 if typed and not best.spans else 0.0,
            "year_missing": 1.0 if q.years and f["year"] <= 0 else 0.0,
            "proper_missing": proper_missing,
            "cos": f["cos"],
            "miss_ctx_max": f["miss_ctx_max"],
            "miss_doc_max": f["miss_doc_max"],
            "unit": f["unit"],
            "pred_ctx": f["pred_ctx"],
            "pred_miss_max": f["pred_miss_max"],
            "pred_sent": f["pred_sent"],
            "name_ctx_miss": f["name_ctx_miss"],
            "name_doc_miss": f["name_doc_miss"],
            "year_other": f["year_other"],
        }
        best.features.update({f"abst_{k}": v for k, v in signals.items()})
        confidence = sigmoid(score(signals, self.model["abstain"]))
        if self.model.get("name_scale"):
            # An answer about a pole (place, programme…) its document never names is about
            # something else: the confidence shrinks with the share of such names.
            confidence *= 1.0 - f["name_doc_miss"]
        return confidence

    def _proper_missing(self, q: QuestionAnalysis, source: str) -> float:
        """Share of the question's capitalised words (names) absent from the document."""
        if not q.proper:
            return 0.0
        doc_text = self._folded_doc(source)
        return sum(p not in doc_text for p in q.proper) / len(q.proper)

    def _folded_doc(self, source: str) -> str:
        got = self._folded.get(source)
        if got is None:
            got = self._folded[source] = fold(self.index.document(source).text)
        return got

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
        candidates: list[Candidate],
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

    def _most_recent(
        self, q: QuestionAnalysis, best: Candidate, candidates: list[Candidate]
    ) -> tuple[Candidate, tuple[str, ...]]:
        return most_recent(self.index, self.model, q, best, candidates)


def _with_antecedent(doc: Document, s: Sentence, before: Sentence | None) -> tuple[Sentence, int]:
    """A sentence opening on a pronoun ("Il remplace X.") names its subject in the sentence
    before: both are quoted together (cached under a key of their own)."""
    raw = doc.text[s.start : s.end]
    if (
        before is not None
        and _ANAPHORIC.match(raw)
        and "\n\n" not in doc.text[before.end : s.start]
        and s.end - before.start <= MAX_ANSWER_CHARS
    ):
        return Sentence(s.id, s.source, before.start, s.end), -1 - s.id
    return s, s.id
