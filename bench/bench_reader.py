"""The trained reader's speed, side by side in one run (run with nothing else busy).

1. The span model in fp32, bf16 and int8 on the same (question, passage) pairs: passages/s and
   how often each gives fp32's span.
2. `Pipeline.ask` p50/p95 with the trained reader and with the sentence scorer, interleaved
   question by question, on each (questions, corpus, index) given.

Usage: python bench/bench_reader.py --set eval/seeds.jsonl corpus INDEX \
    [--set eval/dev/questions.jsonl eval/dev/corpus INDEX] [--questions 40]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from poleqa.config import Settings, default_cache_dir
from poleqa.evaluation.questions import load_questions
from poleqa.pipeline import CANDIDATE_HITS, Pipeline
from poleqa.reading import load_span_model
from poleqa.reading.span_model import PRECISIONS


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def precisions(settings: Settings, pairs: list[tuple[str, str]]) -> dict:
    models = {p: load_span_model(settings.with_(reader_precision=p)) for p in PRECISIONS}
    questions, passages = [q for q, _ in pairs], [p for _, p in pairs]
    out, reference = {}, None
    for name, model in models.items():
        model.read(questions[:8], passages[:8])  # warm-up
        start = time.perf_counter()
        spans = model.read(questions, passages)
        seconds = time.perf_counter() - start
        got = [(s.start, s.end, s.score > s.null_score) for s in spans]
        reference = reference or got
        same = sum(a == b for a, b in zip(got, reference, strict=True)) / len(got)
        rate = round(len(pairs) / seconds, 1)
        out[name] = {"passages_per_s": rate, "same_as_fp32": round(same, 3)}
    return out


def latencies(settings: Settings, questions: list[str]) -> dict:
    pipes = {r: Pipeline(settings.with_(reader=r)) for r in ("trained", "sentences")}
    for pipe in pipes.values():
        for q in questions[:3]:
            pipe.ask(q)  # warm-up: models, index, statistics
    times: dict[str, list[float]] = {r: [] for r in pipes}
    for q in questions:
        for r, pipe in pipes.items():
            start = time.perf_counter()
            pipe.ask(q)
            times[r].append((time.perf_counter() - start) * 1000)
    return {
        r: {
            "ask_p50_ms": round(statistics.median(t), 1),
            "ask_p95_ms": round(percentile(t, 95), 1),
        }
        for r, t in times.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", nargs=3, action="append", required=True)
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--reader-dir", type=Path)
    args = ap.parse_args()
    base = Settings(cache_dir=default_cache_dir(), reader_dir=args.reader_dir)
    report: dict = {}
    for qfile, corpus, index in args.set:
        settings = base.with_(corpus_dir=Path(corpus), index_dir=Path(index))
        questions = [q.question for q in load_questions(Path(qfile))][: args.questions]
        if "precision" not in report:
            pipe = Pipeline(settings.with_(reader="sentences"))
            pairs = []
            for q in questions:
                query = pipe.query(q)
                hits = pipe.retrieve(query, k=CANDIDATE_HITS)[: settings.read_passages]
                pairs += [(query.resolved, f"{h.info.title}\n{h.chunk.text}") for h in hits]
            report["precision"] = precisions(settings, pairs)
            print(json.dumps({"precision": report["precision"]}), flush=True)
        report[qfile] = latencies(settings, questions)
        print(json.dumps({qfile: report[qfile]}), flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
