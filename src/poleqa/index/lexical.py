"""The lexical side: BM25 (bm25s) over French stems, tokenised exactly like queries."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path

import bm25s
import numpy as np

from poleqa.text import stems

BM25_PARAMS = {"method": "lucene", "k1": 1.5, "b": 0.75}
# What bm25s saves, and reads back, for a lucene index of at least one chunk (checked on load:
# a manifest that leaves one out would skip its checksum).
SAVED_FILES = (
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
    "params.index.json",
    "vocab.index.json",
)


def _check_loaded(model: bm25s.BM25, n_docs: int) -> None:
    """ValueError unless the BM25 read back is one of `n_docs` chunks with poleqa's parameters:
    bm25s reads an emptied params file without a word and fails only at the first search."""
    saved = {"method": model.method, "k1": model.k1, "b": model.b}
    if saved != BM25_PARAMS:
        raise ValueError(f"BM25 parameters {saved}, expected {BM25_PARAMS}")
    if model.scores.get("num_docs") != n_docs:
        raise ValueError(f"BM25 of {model.scores.get('num_docs')} chunks, the index has {n_docs}")


def tokenize(text: str) -> list[str]:
    """The one tokenizer of the index and of queries (folded Snowball stems, no stop words)."""
    return stems(text)


class Lexical:
    """A BM25 index whose document ids are chunk ids."""

    def __init__(self, model: bm25s.BM25, n_docs: int) -> None:
        self._model = model
        self._vocab: dict[str, int] = model.vocab_dict or {}
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Sequence[str]) -> Lexical:
        model = bm25s.BM25(**BM25_PARAMS)
        if texts:
            model.index([tokenize(t) for t in texts], show_progress=False)
        return cls(model, len(texts))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.n_docs:
            self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, n_docs: int) -> Lexical:
        if n_docs == 0:
            return cls(bm25s.BM25(**BM25_PARAMS), 0)
        # bm25s logs a line when loading; keep the CLI quiet.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        model = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        _check_loaded(model, n_docs)
        return cls(model, n_docs)

    def search(
        self, query: str, k: int, ids: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the k best chunks with a positive score, best first."""
        if self.n_docs == 0 or k <= 0:
            return []
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens:
            return []
        scores = np.asarray(self._model.get_scores(tokens), dtype=np.float32)
        if ids is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[np.fromiter(ids, dtype=np.int64)] = True
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if len(positive) > k:
            top = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        else:
            top = positive
        # Ties broken by chunk id so that results are deterministic.
        order = sorted(top.tolist(), key=lambda i: (-float(scores[i]), i))
        return [(int(i), float(scores[i])) for i in order]
