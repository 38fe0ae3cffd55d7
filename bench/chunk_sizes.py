"""Measure answer quality on a question set for several chunk sizes (index rebuilt for each)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from poleqa.config import Settings
from poleqa.evaluation import evaluate_file
from poleqa.pipeline import Pipeline

KEYS = ("source_hit@1", "mrr@5", "answer_accuracy", "abstain_accuracy", "false_abstain_rate")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=Path, default=Path("eval/dev/questions.jsonl"))
    ap.add_argument("--corpus", type=Path, default=Path("eval/dev/corpus"))
    ap.add_argument("--sizes", default="400:60,800:120,1200:180", help="size:overlap,...")
    ap.add_argument("--cache", type=Path, default=Path(".cache/poleqa"))
    args = ap.parse_args()
    print("| chunk size / overlap | chunks | " + " | ".join(KEYS) + " |")
    print("|---" * (len(KEYS) + 2) + "|")
    for pair in args.sizes.split(","):
        size, overlap = (int(x) for x in pair.split(":"))
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                corpus_dir=args.corpus,
                index_dir=Path(tmp) / "index",
                cache_dir=args.cache,
                chunk_size=size,
                chunk_overlap=overlap,
            )
            pipeline = Pipeline(settings)
            report = pipeline.build()
            m = evaluate_file(pipeline, args.questions, k=5).metrics
            row = " | ".join(f"{m[k]:.3f}" for k in KEYS)
            print(f"| {size} / {overlap} | {report.chunks} | {row} |", flush=True)


if __name__ == "__main__":
    main()
