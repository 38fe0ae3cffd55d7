"""Passage reranking learned from data: the first fused passages reordered by a logistic model."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from poleqa.errors import RankerError
from poleqa.linear import Linear
from poleqa.query import YEAR, Query
from poleqa.types import Hit

if TYPE_CHECKING:
    from poleqa.config import Settings
    from poleqa.index import Index

log = logging.getLogger("poleqa.ranking")
RANKER_FILE = Path(__file__).parent / "data" / "ranker.json"
# Passages the ranker reorders: the fused order's first DEPTH. The reader reads the first four
# of the new order; on the six dev sets a passage holding the gold answer was among the fused
# first 20 for 96 % of the answerable questions, among the first 4 for 83 % (docs/reader.md).
DEPTH = 20

# The signals of one passage among the first DEPTH fused ones. The strongest is the best cosine
# between the question and one of the passage's sentences (the index's sentence vectors): a
# passage is embedded whole, so one sentence that answers is diluted in its passage's vector.
FEATURES = (
    "fused",  # fused score − the best fused score
    "dense",  # dense cosine − the best dense cosine
    "lexical",  # BM25 score / the best BM25 score (0 when BM25 did not find it)
    "inv_rank",  # 1 / fused rank
    "sentence_lead",  # best sentence cosine − the best over the passages
    "sentence",  # best cosine between the question and one of the passage's sentences
    "year_found",  # the question names a year the passage holds
    "year_missing",  # the question names years, none of them in the passage
    "top_document",  # the passage is of the document of the fused first passage
    "document_share",  # share of the passages that come from its document
)


def passage_features(index: Index, query: Query, hits: Sequence[Hit]) -> np.ndarray:
    """One row of FEATURES per hit (hits in fused order)."""
    if not hits:
        return np.zeros((0, len(FEATURES)), dtype=np.float64)
    vectors = index.sentence_vectors
    sentence = []
    for h in hits:
        ids = [s.id for s in index.sentences_in(h.chunk.source, h.chunk.start, h.chunk.end)]
        sentence.append(float(np.max(vectors[ids] @ query.vector)) if ids else 0.0)
    best_fused = hits[0].score
    best_dense = max(h.dense_score or 0.0 for h in hits)
    best_lexical = max(h.lexical_score or 0.0 for h in hits) or 1.0
    best_sentence = max(sentence)
    sources = [h.chunk.source for h in hits]
    asked = set(query.years)
    rows = []
    for i, h in enumerate(hits):
        held = {int(y) for y in YEAR.findall(h.chunk.text)}
        rows.append(
            (
                h.score - best_fused,
                (h.dense_score or 0.0) - best_dense,
                (h.lexical_score or 0.0) / best_lexical,
                1.0 / (i + 1),
                sentence[i] - best_sentence,
                sentence[i],
                float(bool(asked & held)),
                float(bool(asked) and not asked & held),
                float(h.chunk.source == sources[0]),
                sources.count(h.chunk.source) / len(hits),
            )
        )
    return np.asarray(rows, dtype=np.float64)


@dataclass(frozen=True)
class PassageRanker:
    """score = w · standardised features + b; the passages are read in decreasing score."""

    linear: Linear
    meta: dict  # what it was fit on (question sets, embedder, chunking, counts)

    @property
    def depth(self) -> int:
        return DEPTH

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self.linear.scores(rows)

    def rerank(self, index: Index, query: Query, hits: Sequence[Hit], k: int) -> list[Hit]:
        """The first `k` of `hits`, the first DEPTH of them reordered (those after follow in
        the fused order, so that what is read first does not depend on `k`), ranks numbered
        again; scores stay the fused ones (the judge reads their gaps). Without sentence
        vectors, the fused order."""
        if len(hits) < 2 or not index.has_sentence_vectors:
            return list(hits[:k])
        head = hits[:DEPTH]
        order = np.argsort(-self.scores(passage_features(index, query, head)), kind="stable")
        ordered = [head[i] for i in order.tolist()] + list(hits[DEPTH:])
        return [replace(h, rank=r) for r, h in enumerate(ordered[:k], 1)]

    def to_json(self) -> dict:
        return {"features": list(FEATURES), **self.linear.to_json(), "meta": self.meta}

    @classmethod
    def from_json(cls, body: Mapping, origin: str) -> PassageRanker:
        """The ranker `body` describes; RankerError if it is not one of these FEATURES."""
        refit = "refit it with `python -m poleqa.ranking_fit` (docs/reader.md)"
        try:
            ranker = cls(Linear.from_json(body), dict(body.get("meta", {})))
            features = tuple(body["features"])
        except (KeyError, TypeError, ValueError) as e:
            raise RankerError(f"The passage ranker {origin} is damaged ({e}): {refit}.") from e
        if features != FEATURES:
            raise RankerError(
                f"The passage ranker {origin} was fit on other features ({list(features)}) than "
                f"this poleqa computes ({', '.join(FEATURES)}): {refit}."
            )
        if not ranker.linear.sound(len(FEATURES)):
            raise RankerError(
                f"The passage ranker {origin} is damaged: it needs {len(FEATURES)} finite "
                f"weights, means and positive scales, and a finite bias; {refit}."
            )
        return ranker

    @classmethod
    def load(cls, path: Path) -> PassageRanker:
        try:
            body = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise RankerError(f"Cannot read the passage ranker {path}: {e}") from e
        if not isinstance(body, Mapping):
            raise RankerError(f"The passage ranker {path} is not a JSON object.")
        return cls.from_json(body, str(path))


@lru_cache(maxsize=1)
def shipped_ranker() -> PassageRanker:
    """The ranker shipped in poleqa/data, loaded once per process."""
    return PassageRanker.load(RANKER_FILE)


def ranker_for(settings: Settings, embedder_id: str) -> PassageRanker | None:
    """The ranker for these settings and an index of this embedder: the shipped one, or None
    for the fused order (asked for, or an index of another embedder, whose cosines the ranker
    was not fit on: its order would be noise)."""
    if not settings.rerank:
        return None
    ranker = shipped_ranker()
    fit_under = ranker.meta.get("embedder")
    if fit_under != embedder_id:
        _warn_other_embedder(str(fit_under), embedder_id)
        return None
    return ranker


@lru_cache(maxsize=8)
def _warn_other_embedder(fit_under: str, embedder_id: str) -> None:
    # once per pair and process: every index load asks again
    log.warning(
        "The passage ranker was fit under the embedder %s, the index has %s: passages are read "
        "in the fused order.",
        fit_under,
        embedder_id,
    )


def ranker_id(ranker: PassageRanker | None) -> str | None:
    """What the judge records of the passage order it was fit under (None: the fused order)."""
    if ranker is None:
        return None
    numbers = json.dumps(list(ranker.linear.to_json().values()))  # weights, bias, mean, scale
    return hashlib.sha256(numbers.encode()).hexdigest()[:16]
