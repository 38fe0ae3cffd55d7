"""Abstention learned from data: a logistic model scores each passage's span; a threshold."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poleqa.errors import ReaderError
from poleqa.linear import Linear
from poleqa.query import YEAR, Query
from poleqa.reading.evidence import Evidence
from poleqa.types import ExtractedAnswer

log = logging.getLogger("poleqa.reading")
# What a fitted model was fit under but can still serve with: another embedder, chunking or
# passage order (poleqa.ranking) changes the scale of some signals, so answers still come, less
# well calibrated (logged). Reader weights, features and the number of passages read must match.
SOFT_EXPECTATIONS = frozenset({"embedder", "chunking", "ranker"})


def check_fit(origin: str, fitted: Mapping, expect: Mapping, refit: str) -> None:
    """ReaderError when `fitted` differs from `expect` on a hard setting; a warning on a soft."""
    wrong = {k: fitted.get(k) for k, v in expect.items() if fitted.get(k) != v}
    hard = {k: v for k, v in wrong.items() if k not in SOFT_EXPECTATIONS}
    if hard:
        raise ReaderError(
            f"{origin} was fit under other settings ({hard}; expected "
            f"{ {k: expect[k] for k in hard} }): {refit}."
        )
    if set(wrong) == {"ranker"} and expect["ranker"] is None:
        # the fused order asked for (--passage-order fused) or forced (an index of another
        # embedder, poleqa.ranking): a choice of this run, not a file to refit
        log.warning(
            "%s was fit with the passages in the learned order; this run reads them in the "
            "fused order: its scores are less well calibrated.",
            origin,
        )
    elif wrong:
        log.warning(
            "%s was fit under %s, this run has %s: its scores are less well calibrated (%s).",
            origin,
            wrong,
            {k: expect[k] for k in wrong},
            refit,
        )


# The signals of one candidate span (one per passage read): the reader's scores, how it compares
# with the other passages' spans, retrieval's view of its passage, whether the passage or its
# document's date names the year asked, and the sentence scorer's verdict (reading/evidence.py).
# Their weights are learned (reading/calibrate.py, cross-validated by document on in-domain
# questions; docs/reader.md says what each group adds).
FEATURES = (
    "margin",  # span score − no-answer score of its passage
    "span",  # span score
    "no_answer",  # no-answer score of the passage
    "lead",  # margin − the best margin of the other passages (≤ 0 unless the best)
    "retrieval",  # the passage's retrieval score − the best retrieval score
    "inv_rank",  # 1 / retrieval rank
    "year_found",  # the question names a year that the passage or its document's date holds
    "year_missing",  # the question names years, none of them in the passage or document date
    "recency",  # no year asked: the document's year − the newest year of the documents read
    "length",  # log of the span's length in characters
    "scorer_confidence",  # the sentence scorer's confidence in its own answer
    "scorer_agrees",  # the sentence scorer answers with a sentence overlapping the span
)


@dataclass(frozen=True)
class Judge:
    """P(the span answers) = sigmoid(w · standardised features + b); abstain below threshold."""

    linear: Linear
    threshold: float
    meta: dict  # what it was fit on and under (reader checksum, embedder, chunking, figures)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.linear.scores(rows)))

    def to_json(self) -> dict:
        return {
            "features": list(FEATURES),
            **self.linear.to_json(),
            "threshold": self.threshold,
            "meta": self.meta,
        }

    @classmethod
    def load(cls, path: Path, expect: dict) -> Judge:
        """The judge in `path`, checked against what it must have been fit under (`expect`)."""
        try:
            body = json.loads(path.read_text("utf-8"))
            judge = cls(Linear.from_json(body), float(body["threshold"]), dict(body["meta"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ReaderError(f"Cannot load the abstention model {path}: {e}") from e
        refit = "refit it with `python -m poleqa.reading.calibrate` (docs/reader.md)"
        if tuple(body.get("features", ())) != FEATURES:
            raise ReaderError(
                f"{path} was fit on other features ({body.get('features')}) than this poleqa "
                f"computes ({', '.join(FEATURES)}): {refit}."
            )
        if not judge.linear.sound(len(FEATURES)) or not math.isfinite(judge.threshold):
            raise ReaderError(
                f"{path} is damaged: it needs {len(FEATURES)} finite weights, means and "
                f"positive scales, and a finite bias and threshold; {refit}."
            )
        check_fit(str(path), judge.meta, expect, refit)
        return judge


def feature_rows(query: Query, spans: Sequence[ExtractedAnswer], evidence: Evidence) -> np.ndarray:
    """One row of FEATURES per candidate span."""
    if not spans:
        return np.zeros((0, len(FEATURES)), dtype=np.float64)
    margins = [s.score - s.no_answer for s in spans]
    top_retrieval = max(s.hit.score for s in spans)
    years = [s.hit.info.year for s in spans if s.hit.info.year is not None]
    newest = max(years, default=None)
    rows = []
    for i, s in enumerate(spans):
        others = margins[:i] + margins[i + 1 :]
        found, missing = _year_signals(query, s)
        rows.append(
            (
                margins[i],
                s.score,
                s.no_answer,
                margins[i] - max(others) if others else 0.0,
                s.hit.score - top_retrieval,
                1.0 / max(1, s.hit.rank),
                found,
                missing,
                _recency(query, s, newest),
                math.log1p(max(0, s.end - s.start)),
                evidence.scorer_confidence,
                float(evidence.scorer_agrees(s)),
            )
        )
    return np.asarray(rows, dtype=np.float64)


def _recency(query: Query, span: ExtractedAnswer, newest: int | None) -> float:
    year = span.hit.info.year
    if query.years or year is None or newest is None:
        return 0.0
    return float(year - newest)


def _year_signals(query: Query, span: ExtractedAnswer) -> tuple[float, float]:
    if not query.years:
        return 0.0, 0.0
    years = {int(y) for y in YEAR.findall(span.hit.chunk.text)}
    if span.hit.info.year is not None:
        years.add(span.hit.info.year)
    found = any(y in years for y in query.years)
    return float(found), float(not found)
