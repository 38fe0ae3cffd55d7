"""Passage recall@k: answerable questions whose gold answer is in one of the first k passages.

python bench/passage_recall.py MODEL WORKDIR QUESTIONS CORPUS [QUESTIONS CORPUS ...]
(MODEL: multilingual-e5-small, or a sentence-transformers folder; docs/reader.md)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from poleqa.config import Settings, default_cache_dir
from poleqa.evaluation.questions import load_questions
from poleqa.pipeline import Pipeline
from poleqa.text import fold

KS = (1, 2, 3, 4, 5, 10)


def first_gold_rank(pipeline: Pipeline, question: str, answers: list[str]) -> int:
    """0-based rank of the first passage holding a gold answer (folded), len(KS) if none."""
    hits = pipeline.retrieve(pipeline.query(question), k=max(KS))
    golds = [fold(a) for a in answers]
    for i, h in enumerate(hits):
        if any(g in fold(h.chunk.text) for g in golds):
            return i
    return max(KS)


def main(argv: list[str]) -> None:
    model, work = argv[0], Path(argv[1])
    for questions, corpus in zip(argv[2::2], argv[3::2], strict=True):
        settings = Settings(
            cache_dir=default_cache_dir(),
            model=model,
            reader="sentences",
            corpus_dir=Path(corpus),
            index_dir=work / "-".join(Path(corpus).parts),
            sentence_vectors=False,
        )
        pipeline = Pipeline(settings)
        pipeline.ensure_index()
        ranks = np.array(
            [
                first_gold_rank(pipeline, q.question, list(q.answers))
                for q in load_questions(Path(questions))
                if q.answerable
            ]
        )
        recall = {f"recall@{k}": round(float(np.mean(ranks < k)), 3) for k in KS}
        print(questions, len(ranks), recall, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
