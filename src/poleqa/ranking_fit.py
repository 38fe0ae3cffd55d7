"""Fits the passage ranker on training questions: which fused passages hold their answers.

python -m poleqa.ranking_fit --set eval/domain/train.jsonl eval/domain/corpus \
    --set eval/train2/questions.jsonl eval/train2/corpus …   (the shipped one: docs/reader.md)
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from poleqa.atomic import write_text_atomic
from poleqa.config import Settings, default_cache_dir
from poleqa.errors import QuestionSetError, run_tool, writable
from poleqa.evaluation.metrics import holds_answer
from poleqa.evaluation.questions import Question, load_questions
from poleqa.index.origin import work_index
from poleqa.linear import fit_logistic
from poleqa.pipeline import Pipeline
from poleqa.ranking import DEPTH, FEATURES, RANKER_FILE, PassageRanker, passage_features

log = logging.getLogger("poleqa.ranking_fit")


def collect(settings: Settings, questions: Sequence[Question]) -> tuple[np.ndarray, np.ndarray]:
    """Features of the fused first DEPTH passages of each answerable question, and whether each
    holds one of its gold answers (as whole words) in one of the documents it cites."""
    pipeline = Pipeline(settings.with_(reader="sentences", rerank=False))  # the fused order
    pipeline.ensure_index(progress=True)
    rows, labels = [], []
    for q in questions:
        if not q.answerable:
            continue
        query = pipeline.query(q.question)
        hits = pipeline.retrieve(query, k=DEPTH)
        if len(hits) < 2:
            continue
        rows.append(passage_features(pipeline.index, query, hits))
        labels += [
            holds_answer(h.chunk.text, q.answers) and (not q.sources or h.chunk.source in q.sources)
            for h in hits
        ]
    width = len(FEATURES)
    return np.vstack(rows) if rows else np.zeros((0, width)), np.asarray(labels, bool)


def fit(rows: np.ndarray, labels: np.ndarray, c: float, meta: dict) -> PassageRanker:
    """The logistic ranker of `rows`, standardised (its weights read on one scale)."""
    model = fit_logistic(rows, labels, c)
    return PassageRanker(model, meta)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--set", nargs=2, action="append", required=True, metavar=("QUESTIONS", "CORPUS")
    )
    ap.add_argument("--work", type=Path, default=Path("eval/out/ranking"), help="indexes")
    ap.add_argument("--out", type=Path, default=RANKER_FILE, help="where to write the ranker")
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = writable(args.out)  # checked before the questions are read, which takes minutes
    base = Settings(cache_dir=default_cache_dir())
    parts, labels = [], []
    for questions, corpus in args.set:
        index_dir = work_index(args.work, corpus)
        settings = base.with_(corpus_dir=Path(corpus), index_dir=index_dir)
        r, y = collect(settings, load_questions(Path(questions)))
        parts.append(r)
        labels.append(y)
        log.info("%s: %d passages, %d holding an answer", questions, len(y), int(y.sum()))
    rows, y = np.vstack(parts), np.concatenate(labels)
    if y.all() or not y.any():  # one class: nothing to learn an order from
        raise QuestionSetError(
            f"No passage of the first {DEPTH} holds a gold answer, or every one does, over "
            f"{len(y)} passages: the sets need answerable questions with their answers."
        )
    embedder = Pipeline(base).embedder.id
    meta = {
        "fit_on": [q for q, _ in args.set],
        "passages": len(y),
        "holding_answer": int(y.sum()),
        "embedder": embedder,
        "chunking": [base.chunk_size, base.chunk_overlap],
        "c": args.c,
    }
    ranker = fit(rows, y, args.c, meta)
    write_text_atomic(out, json.dumps(ranker.to_json(), indent=2) + "\n")  # the shipped one
    log.info("ranker written to %s (weights %s)", out, [round(w, 2) for w in ranker.linear.weights])


if __name__ == "__main__":
    run_tool(main)
