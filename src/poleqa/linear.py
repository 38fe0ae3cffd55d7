"""Standardised logistic models (the judge, the passage ranker): their fit, scores and checks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Linear:
    """score = w · ((features − mean) / scale) + b, the features standardised as when fit (so
    that the weights read on one scale)."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        z = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.weights) + self.bias

    def to_json(self) -> dict:
        return {
            "weights": list(self.weights),
            "bias": self.bias,
            "mean": list(self.mean),
            "scale": list(self.scale),
        }

    @classmethod
    def from_json(cls, body: Mapping) -> Linear:
        """The model of a file's `weights`, `bias`, `mean` and `scale` (KeyError, TypeError or
        ValueError when one is missing or not numbers; `sound` checks the rest)."""
        return cls(
            tuple(float(w) for w in body["weights"]),
            float(body["bias"]),
            tuple(float(m) for m in body["mean"]),
            tuple(float(x) for x in body["scale"]),
        )

    def sound(self, n_features: int) -> bool:
        """Whether it has `n_features` finite weights, means and positive scales, and a finite
        bias (what a damaged file lacks)."""
        numbers = (*self.weights, *self.mean, *self.scale, self.bias)
        return (
            {len(self.weights), len(self.mean), len(self.scale)} == {n_features}
            and all(isinstance(x, int | float) and math.isfinite(x) for x in numbers)
            and min(self.scale) > 0
        )


def fit_logistic(rows: np.ndarray, labels: np.ndarray, c: float) -> Linear:
    """The L2 logistic regression (inverse strength `c`) of `labels` on `rows` standardised."""
    # Late: scikit-learn takes over a second to import, and only the fitting tools need it,
    # not a server or `poleqa ask`, which read the fitted weights.
    from sklearn.linear_model import LogisticRegression

    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6
    model = LogisticRegression(C=c, max_iter=2000).fit((rows - mean) / scale, labels)
    return Linear(
        tuple(float(w) for w in model.coef_[0]),
        float(model.intercept_[0]),
        tuple(float(m) for m in mean),
        tuple(float(s) for s in scale),
    )
