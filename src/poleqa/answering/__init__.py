"""The sentence scorer: scores the sentences of the retrieved passages' documents, cuts a short
answer, or abstains (the `sentences` reader of poleqa.reading)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from poleqa.answering import entities
from poleqa.answering.candidates import (
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
    type_spans,
)
from poleqa.answering.question import (
    DATE,
    LIST,
    NAME,
    NUMBER,
    PERSON,
    PLACE,
    QuestionAnalysis,
    analyze,
)
from poleqa.query import Query
from poleqa.reading.answerer import ENGLISH_NOTE
from poleqa.reading.citations import citations
from poleqa.reading.sentence import MAX_ANSWER_CHARS, fit_span, strip_markup
from poleqa.text import fold, stem_word, stems
from poleqa.types import Answer, Citation, Document, Hit, Sentence

if TYPE_CHECKING:
    from poleqa.index import Index

_TYPE_NAMES = {NUMBER: "aucun chiffre", DATE: "aucune date", PERSON: "aucun nom de personne"}


def gap_note(q: QuestionAnalysis, features: dict[str, float]) -> str:
    """Why poleqa abstains when a gate of `candidates.evidence_gaps` decided it, in French."""
    if features.get("gap_year"):
        years = " ni ".join(str(y) for y in q.dated_years)
        return f"Aucun passage trouvé ne date cette information de {years}."
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
# A sentence opening on a pronoun that points back at the previous sentence's subject.
# A list item line ("- X", "* X", "1. X", "• X").
_ITEM = re.compile(r"\s*(?:[-*+•·▪◦–]|\d{1,2}[.)])\s+\S")
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
        # Bounded work whatever the documents' length: the sentences of the retrieved passages
        # and the sentences nearest the question (cosine) in their documents.
        selected = {i for i, s in enumerate(sents) if s.id in in_hits}
        if len(sents) > self.TOP_SENTENCES:
            selected.update(
                np.argpartition(-cos, self.TOP_SENTENCES)[: self.TOP_SENTENCES].tolist()
            )
        else:
            selected.update(range(len(sents)))
        for i in sorted(selected):
            s, c = sents[i], cos[i]
            doc = self.index.document(s.source)
            raw = doc.text[s.start : s.end]
            before = sents[i - 1] if i > 0 and sents[i - 1].source == s.source else None
            prev_stems = (
                self._stems_of(before, doc.text[before.start : before.end])
                if before is not None
                else frozenset()
            )
            key = s.id
            if (
                before is not None
                and _ANAPHORIC.match(raw)
                and "\n\n" not in doc.text[before.end : s.start]
                and s.end - before.start <= MAX_ANSWER_CHARS
            ):
                # "Il remplace X." names its subject in the sentence before: quote both.
                s = Sentence(s.id, s.source, before.start, s.end)
                raw = doc.text[s.start : s.end]
                key = -1 - s.id
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
                around=self._dating_text(doc, s, before) if q.years else "",
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

    @staticmethod
    def _dating_text(doc: Document, s: Sentence, before: Sentence | None) -> str:
        """What dates a sentence that names no year: the sentence before, the start of its
        paragraph or list item ("**iD4CAR (2009).** … Bernadette Rovire en est la directrice")
        and the document's date."""
        line_start = doc.text.rfind("\n", 0, s.start) + 1
        lead = doc.text[max(line_start, s.start - 800) : s.start]
        prev = doc.text[before.start : before.end] if before is not None else ""
        return " ".join(t for t in (prev, lead, doc.info.date or "") if t)

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
        best = self._label_extended(q, best)
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
        first = _citation_for(self.index, hit, s, start, end, short, best.hit_score)
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

    def _label_extended(self, q: QuestionAnalysis, best: Candidate) -> Candidate:
        """A label ("Contact", "Membres :") answers with the unit it introduces: the span from
        the label to the next unit when that holds the expected type, and, for a list question,
        a sentence ending on ":" with the list items that follow (one verbatim span)."""
        s = best.sentence
        doc = self.index.document(s.source)
        label = best.text.strip()
        if not label:
            return best
        following = [x for x in self._sentences_of(s.source) if x.start >= s.end]
        if not following:
            return best
        if q.qtype == LIST and label.endswith(":"):
            end = s.end
            for x in following:
                if x.end - s.start > MAX_ANSWER_CHARS or not _ITEM.match(doc.text[x.start : x.end]):
                    break
                end = x.end
            if end == s.end:
                return best
            return self._spanned(q, best, s.start, end)
        typed = q.qtype in (NUMBER, DATE, PERSON, NAME, PLACE)
        is_label = label.endswith(":") or (
            len(label.split()) <= 4 and not re.search(r"[.!?;»)]$", label)
        )
        if not typed or best.spans or not is_label or label.startswith("|"):
            return best
        nxt = following[0]
        if "\n\n\n" in doc.text[s.end : nxt.start]:
            return best
        if not type_spans(q, doc.text[nxt.start : nxt.end]):
            return best
        start = s.start if nxt.end - s.start <= MAX_ANSWER_CHARS else nxt.start
        return self._spanned(q, best, start, nxt.end)

    def _spanned(self, q: QuestionAnalysis, best: Candidate, start: int, end: int) -> Candidate:
        s = best.sentence
        text = self.index.document(s.source).text[start:end]
        return replace(
            best,
            sentence=Sentence(s.id, s.source, start, end),
            text=text,
            spans=tuple(type_spans(q, text)),
        )

    def _rivals(self, q: QuestionAnalysis, best: Candidate, candidates: list[Candidate]) -> list:
        """Figures of the same kind from other documents, nearly as good, when the question
        names no year: sources that disagree (e.g. 71 pôles in one phase, 55 in another)."""
        if q.years or q.qtype != NUMBER or not best.spans:
            return []
        margin = self.model.get("alternatives_margin", 0.5)
        return [
            c
            for c in candidates[1:6]
            if c.sentence.source != best.sentence.source
            and c.spans
            and c.score >= best.score - margin
            and c.features["lex_ctx"] >= best.features["lex_ctx"] - 0.05
        ]

    def _when(self, c: Candidate) -> str:
        """When a figure holds: the latest year in its sentence, else its document's date."""
        years = re.findall(r"\b(?:19|20)\d\d\b", c.text)
        date = self.index.info(c.sentence.source).date or ""
        return max(years) if years else date[:4]

    def _most_recent(
        self, q: QuestionAnalysis, best: Candidate, candidates: list[Candidate]
    ) -> tuple[Candidate, tuple[str, ...]]:
        """The most recent of the disagreeing figures, and a French note citing the others."""
        rivals = self._rivals(q, best, candidates)
        if not rivals:
            return best, ()
        pool = [best, *rivals]
        chosen = max(pool, key=lambda c: (self._when(c), c is best))
        notes = []
        for c in pool:
            if c is chosen:
                continue
            info = self.index.info(c.sentence.source)
            when = self._when(c)
            notes.append(
                f"Autre chiffre ({when or 'non daté'}) dans « {info.title} » : {c.spans[0].text} "
                f"(« {_shorten(c.plain, 160)} »)."
            )
        if chosen is not best:
            notes.insert(0, "Les sources ne donnent pas le même chiffre : voici le plus récent.")
        return chosen, tuple(notes[:3])


# -- short answers and spans ---------------------------------------------------------------------


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


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def _citation_for(
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


__all__ = ["ExtractiveAnswerer", "short_answer"]
