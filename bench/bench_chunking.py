"""The trained reader's reading time per question under several chunkings, side by side.

Each chunking gets its own index of the corpus (search only, built in a temporary folder); then,
question by question, each chunking retrieves and the span model reads its first
`read_passages` passages, the chunkings taking turns so that machine noise falls on all alike.
Prints p50 / p95 of the reading time and of retrieval + reading, and their ratio to the first.

Usage: python bench/bench_chunking.py [--questions eval/domain/dev.jsonl]
    [--corpus eval/domain/corpus] [--sizes 800:120,500:80] [--n 60]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from poleqa.config import Settings, default_cache_dir
from poleqa.evaluation.metrics import percentile
from poleqa.evaluation.questions import load_questions
from poleqa.pipeline import CANDIDATE_HITS, Pipeline
from poleqa.reading import load_span_model
from poleqa.reading.trained import TrainedReader


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=Path("eval/domain/dev.jsonl"))
    ap.add_argument("--corpus", type=Path, default=Path("eval/domain/corpus"))
    ap.add_argument("--sizes", default="800:120,500:80", help="size:overlap,...")
    ap.add_argument("--n", type=int, default=60, help="questions")
    args = ap.parse_args()
    sizes = [tuple(int(x) for x in pair.split(":")) for pair in args.sizes.split(",")]
    questions = [q.question for q in load_questions(args.questions)][: args.n]
    base = Settings(cache_dir=default_cache_dir(), corpus_dir=args.corpus, reader="sentences")
    reader = TrainedReader(load_span_model(base), base.read_passages)
    with tempfile.TemporaryDirectory(prefix="poleqa-chunking-") as tmp:
        pipes, chunks = [], []
        for size, overlap in sizes:
            settings = base.with_(
                index_dir=Path(tmp) / f"{size}-{overlap}",
                chunk_size=size,
                chunk_overlap=overlap,
                sentence_vectors=False,
            )
            pipes.append(Pipeline(settings))
            chunks.append(pipes[-1].build().chunks)
        read: list[list[float]] = [[] for _ in sizes]
        total: list[list[float]] = [[] for _ in sizes]
        for n, question in enumerate(questions):
            for i, pipe in enumerate(pipes):
                start = time.perf_counter()
                query = pipe.query(question)
                hits = pipe.retrieve(query, k=CANDIDATE_HITS)
                mid = time.perf_counter()
                reader.read(query, hits)
                end = time.perf_counter()
                if n >= 3:  # the first questions warm the model and the indexes
                    read[i].append((end - mid) * 1000)
                    total[i].append((end - start) * 1000)
    ref = statistics.median(read[0])
    print("| chunking | chunks | read p50 / p95 ms | retrieve + read p50 / p95 ms | read ratio |")
    print("|---|---|---|---|---|")
    for (size, overlap), c, r, t in zip(sizes, chunks, read, total, strict=True):
        print(
            f"| {size} / {overlap} | {c} | {statistics.median(r):.0f} / {percentile(r, 95):.0f} "
            f"| {statistics.median(t):.0f} / {percentile(t, 95):.0f} "
            f"| {statistics.median(r) / ref:.2f} |"
        )


if __name__ == "__main__":
    main()
