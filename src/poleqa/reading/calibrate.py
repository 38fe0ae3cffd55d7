"""Fits the judge on in-domain questions, cross-validated by document; sets its threshold.

python -m poleqa.reading.calibrate --set eval/domain/dev.jsonl eval/domain/corpus
(the shipped judge: the reader never trained on these questions; docs/reader.md)
"""

from __future__ import annotations

import argparse
import json
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poleqa.atomic import write_text_atomic
from poleqa.config import Settings, default_cache_dir
from poleqa.errors import run_tool, writable
from poleqa.evaluation.metrics import contains_answer
from poleqa.evaluation.questions import Question, load_questions
from poleqa.index.origin import work_index
from poleqa.linear import fit_logistic
from poleqa.pipeline import CANDIDATE_HITS, Pipeline
from poleqa.reading import (
    JUDGE_FILE,
    judge_expectations,
    load_span_model,
    make_answerer,
    shipped_reader,
)
from poleqa.reading.answerer import compose
from poleqa.reading.evidence import EvidenceGatherer
from poleqa.reading.judge import FEATURES, Judge, feature_rows
from poleqa.reading.trained import TrainedReader

log = logging.getLogger("poleqa.reading.calibrate")


@dataclass(frozen=True)
class Scored:
    """One question's candidate spans: their features and whether each answers correctly."""

    question: Question
    group: str  # the document it is about (cross-validation folds never split one)
    rows: np.ndarray
    correct: np.ndarray  # bool per row


def collect(settings: Settings, questions: Sequence[Question]) -> list[Scored]:
    """Retrieval and the trained reader on every question, each candidate judged correct or not."""
    pipeline = Pipeline(settings.with_(reader="sentences"))  # retrieval only; no judge needed yet
    pipeline.ensure_index(progress=True)
    reader = TrainedReader(load_span_model(settings), settings.read_passages)
    scorer = make_answerer(pipeline.index, settings.with_(reader="sentences"))
    evidence = EvidenceGatherer(scorer)
    out = []
    for q in questions:
        query = pipeline.query(q.question)
        hits = pipeline.retrieve(query, k=max(settings.k, CANDIDATE_HITS))
        spans = reader.read(query, hits)
        correct = [
            q.answerable and contains_answer(compose(query, s, hits, 1.0).text, q.answers)
            for s in spans
        ]
        group = q.sources[0] if q.sources else (hits[0].chunk.source if hits else q.id)
        rows = feature_rows(query, spans, evidence.gather(query, hits))
        out.append(Scored(q, group, rows, np.asarray(correct, bool)))
    return out


def fit(scored: Sequence[Scored], c: float) -> Judge:
    rows = np.vstack([s.rows for s in scored])
    labels = np.concatenate([s.correct for s in scored])
    model = fit_logistic(rows, labels, c)
    return Judge(model, 0.5, {})


def cross_validate(scored: Sequence[Scored], folds: int, c: float) -> list[tuple[float, bool]]:
    """Per question, out of fold: (best candidate's probability, whether it answers correctly)."""
    fold_of = [zlib.crc32(s.group.encode()) % folds for s in scored]
    out: list[tuple[float, bool] | None] = [None] * len(scored)
    for f in range(folds):
        judge = fit([s for s, k in zip(scored, fold_of, strict=True) if k != f], c)
        for i, s in enumerate(scored):
            if fold_of[i] == f:
                out[i] = _best(judge, s)
    return [o for o in out if o is not None]


def _best(judge: Judge, s: Scored) -> tuple[float, bool]:
    if len(s.rows) == 0:
        return 0.0, False
    p = judge.probabilities(s.rows)
    i = int(np.argmax(p))
    return float(p[i]), bool(s.correct[i])


def choose_threshold(
    scored: Sequence[Scored], predictions: list[tuple[float, bool]], max_far: float
) -> tuple[float, dict[str, float]]:
    """The threshold with the most questions right whose false-abstention rate is ≤ max_far."""
    answerable = np.array([s.question.answerable for s in scored])
    probs = np.array([p for p, _ in predictions])
    right = np.array([c for _, c in predictions])
    best: tuple[float, dict[str, float]] | None = None
    for t in sorted({0.0, *probs.tolist()}):
        answered = probs >= t
        far = float(np.mean(~answered[answerable])) if answerable.any() else 0.0
        if far > max_far:
            break
        stats = {
            "threshold": t,
            "answer_accuracy": float(np.mean((answered & right)[answerable])),
            "abstain_accuracy": float(np.mean(~answered[~answerable]))
            if (~answerable).any()
            else 1.0,
            "false_abstain_rate": far,
        }
        stats["overall"] = float(np.mean(np.where(answerable, answered & right, ~answered)))
        if best is None or stats["overall"] >= best[1]["overall"]:
            best = (t, stats)
    assert best is not None
    return best


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--set", nargs=2, action="append", required=True, metavar=("QUESTIONS", "CORPUS")
    )
    ap.add_argument("--reader-dir", type=Path, help="reader weights (default: the shipped ones)")
    ap.add_argument("--work", type=Path, default=Path("eval/out/calibrate"), help="indexes")
    ap.add_argument(
        "--out", type=Path, help=f"where to write the judge (default READER/{JUDGE_FILE})"
    )
    ap.add_argument("--read-passages", type=int, default=Settings().read_passages)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    ap.add_argument("--max-far", type=float, default=0.05, help="false abstentions allowed (CV)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # checked before the questions are read, which takes minutes
    out = writable(args.out or (args.reader_dir or shipped_reader()) / JUDGE_FILE)
    base = Settings(
        cache_dir=default_cache_dir(), reader_dir=args.reader_dir, read_passages=args.read_passages
    )
    scored: list[Scored] = []
    for questions, corpus in args.set:
        settings = base.with_(corpus_dir=Path(corpus), index_dir=work_index(args.work, corpus))
        scored += collect(settings, load_questions(Path(questions)))
        log.info("%s: %d questions read", questions, len(scored))
    t, stats = choose_threshold(scored, cross_validate(scored, args.folds, args.c), args.max_far)
    log.info("cross-validated by document: %s", stats)
    model = load_span_model(base)
    judge = fit(scored, args.c)
    index_settings = base.with_(index_dir=work_index(args.work, args.set[0][1]))
    embedder = Pipeline(index_settings).embedder.id
    meta = {
        **judge_expectations(base, model, embedder),
        "fit_on": [q for q, _ in args.set],
        "c": args.c,
        "cv": {k: round(v, 4) for k, v in stats.items()},
    }
    judge = Judge(judge.linear, t, meta)
    write_text_atomic(out, json.dumps(judge.to_json(), indent=2) + "\n")  # the shipped one
    log.info("judge written to %s (features %s)", out, ", ".join(FEATURES))


if __name__ == "__main__":
    run_tool(main)
