"""The sentence scorer's fitted model (data/answering.json): loading and checking it, ranking the
candidates, the confidence and the evidence gates (shared by serving and bench/fit_answering.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from poleqa.errors import ReaderError
from poleqa.reading.judge import check_fit
from poleqa.reading.scorer.candidates import FEATURES, Candidate, score, sigmoid
from poleqa.reading.scorer.question import DATE, LIST, NAME, NUMBER, PERSON, PLACE

if TYPE_CHECKING:
    from poleqa.index import Index

MODEL_FILE = "data/answering.json"
# The signals of the winning candidate the confidence model may weigh ("abstain"), in the order
# they are summed.
ABSTAIN_FEATURES = (
    "score",  # its ranking score
    "margin",  # its score minus the best score of another document (1 when none)
    "key_missing",  # 1 - lex_doc
    "ctx_missing",  # 1 - lex_ctx
    "type_missing",  # the question expects a type and the sentence holds none
    "year_missing",  # the question names a year and the sentence none of them
    "proper_missing",  # share of the question's capitalised words absent from its document
    "cos",
    "miss_ctx_max",
    "miss_doc_max",
    "unit",
    "pred_ctx",
    "pred_miss_max",
    "pred_sent",
    "name_ctx_miss",
    "name_doc_miss",
    "year_other",
)
# Questions whose answer is a typed span (a number, a date, a person, a name, a place, a list).
TYPED = frozenset({NUMBER, DATE, PERSON, NAME, PLACE, LIST})
# Gates about naming nothing of the type asked: such a winner may give way (`named_first`).
SOFT_GATES = frozenset({"gap_type", "gap_role"})


@lru_cache(maxsize=1)
def default_model() -> dict[str, Any]:
    """The calibrated weights and threshold shipped with the package (features checked)."""
    text = resources.files("poleqa").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    try:
        model = json.loads(text)
    except ValueError as e:
        raise ReaderError(f"Cannot read the sentence scorer's model {MODEL_FILE}: {e}") from e
    return dict(check_model(model))


def model_sha256() -> str:
    """sha256 of the shipped model file (what the trained reader's judge was fit beside)."""
    return hashlib.sha256(resources.files("poleqa").joinpath(MODEL_FILE).read_bytes()).hexdigest()


def expectations(index: Index) -> dict[str, Any]:
    """What a model must have been fit under to score the sentences of `index`."""
    manifest = index.manifest
    return {
        "embedder": manifest.embedder_id,
        "chunking": [manifest.chunk_size, manifest.chunk_overlap],
    }


def check_model(
    model: Mapping[str, Any], expect: Mapping[str, Any] | None = None, origin: str = MODEL_FILE
) -> Mapping[str, Any]:
    """`model`, when it was fit on the scorer's features and under `expect` (embedder id,
    chunking); else a ReaderError saying what differs and how to refit."""
    refit = "refit it with bench/dev_harness.py --dump and bench/fit_answering.py --write"
    want = {"select": list(FEATURES), "abstain": list(ABSTAIN_FEATURES)}
    got = model.get("features")
    if not isinstance(got, Mapping) or {k: list(got.get(k, ())) for k in want} != want:
        raise ReaderError(
            f"{origin} was fit on other features ({got}) than the sentence scorer computes "
            f"({want}): {refit}."
        )
    for part, names in want.items():
        unknown = sorted(set(model.get(part, {})) - {"bias", *names})
        if unknown:
            raise ReaderError(f"{origin} weighs unknown {part} features {unknown}: {refit}.")
    check_fit(origin, model, expect or {}, f"{refit}, or rebuild the index with its settings")
    return model


def rank(candidates: Sequence[Candidate], model: Mapping[str, Any]) -> tuple[Candidate, ...]:
    """The candidates scored by the ranking model ("select"), best first (ties in their given
    order), a winner gated only for naming nothing of the type asked moved aside."""
    weights = model["select"]
    scored = [replace(c, score=score(c.features, weights)) for c in candidates]
    scored.sort(key=lambda c: -c.score)
    return named_first(scored, model)


def named_first(ranked: Sequence[Candidate], model: Mapping[str, Any]) -> tuple[Candidate, ...]:
    """A winner that names no one and nothing of the type asked (only `gap_type` / `gap_role`:
    a list item's title, a heading-like lead) gives way to the best ungated candidate within
    `type_fallback` of its score: the answer is usually the next sentence, which names it."""
    ranked = tuple(ranked)
    gates = model.get("gates", ())
    delta = model.get("type_fallback", 0.0)
    found = {g for g in gates if ranked[0].features.get(g, 0.0)} if ranked else set()
    if delta <= 0 or not found or not found <= SOFT_GATES:
        return ranked
    top = ranked[0].score
    for i, c in enumerate(ranked):
        if c.score < top - delta:
            break
        if not any(c.features.get(g, 0.0) for g in gates):
            return (c, *ranked[:i], *ranked[i + 1 :])
    return ranked


@dataclass(frozen=True)
class Verdict:
    """What the answer is decided on: the winner's abstention signals, the confidence, and
    whether an evidence gate shuts it out whatever the confidence."""

    signals: Mapping[str, float]
    confidence: float
    gated: bool

    def abstains(self, model: Mapping[str, Any]) -> bool:
        return self.gated or self.confidence < model["threshold"]


def abstain_signals(ranked: Sequence[Candidate], typed: bool, dated: bool) -> dict[str, float]:
    """The signals of the winner `ranked[0]` (ABSTAIN_FEATURES, in order); `typed`: the question
    expects a typed span, `dated`: it names a year."""
    best = ranked[0]
    second = next((c for c in ranked[1:] if c.sentence.source != best.sentence.source), None)
    f = best.features
    return {
        "score": best.score,
        "margin": best.score - second.score if second else 1.0,
        "key_missing": 1.0 - f["lex_doc"],
        "ctx_missing": 1.0 - f["lex_ctx"],
        "type_missing": 1.0 if typed and not f["type"] else 0.0,
        "year_missing": 1.0 if dated and f["year"] <= 0 else 0.0,
        "proper_missing": f["proper_missing"],
        **{name: f[name] for name in ABSTAIN_FEATURES[7:]},
    }


def name_share(best: Candidate, model: Mapping[str, Any]) -> float:
    """The share of the confidence kept: an answer about a pole (place, programme…) its
    document never names is about something else (`name_scale`)."""
    return 1.0 - best.features["name_doc_miss"] if model.get("name_scale") else 1.0


def gated(best: Candidate, model: Mapping[str, Any]) -> bool:
    """The winner plainly lacks what the question demands (a gate of `gates.evidence_gaps`)."""
    return any(best.features.get(g, 0.0) for g in model.get("gates", ()))


def verdict(
    ranked: Sequence[Candidate], typed: bool, dated: bool, model: Mapping[str, Any]
) -> Verdict:
    """The confidence in the winner `ranked[0]` (a logistic model, "abstain", times the share
    of names kept) and its gate."""
    signals = abstain_signals(ranked, typed, dated)
    confidence = sigmoid(score(signals, model["abstain"]))
    if model.get("name_scale"):
        confidence *= name_share(ranked[0], model)
    return Verdict(signals, confidence, gated(ranked[0], model))
