"""Index benchmark: build throughput vs the raw embedder, memory, and FAISS flat/HNSW latency.

Usage: python bench/bench_index.py [--corpus DIR] [--model NAME] [--sizes 10000,100000,1000000]
Prints markdown tables. Not a test: numbers depend on the machine (run with nothing else busy).
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from poleqa.index import build_index, dense, passage_text

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- 1. build throughput vs the raw embedder ---------------------------------------------------


class TimedEmbedder:
    """Wraps an embedder and records (texts, wall s, CPU s) of each embed_passages call."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[int, float, float]] = []

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def describe(self) -> dict:
        return self.inner.describe()

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts, progress=None):
        w, c = time.perf_counter(), time.process_time()
        out = self.inner.embed_passages(texts, progress)
        self.calls.append((len(texts), time.perf_counter() - w, time.process_time() - c))
        return out


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def bench_build(corpus: Path, model: str, cache_dir: Path, chunk_size: int, overlap: int) -> None:
    from poleqa.chunking import chunk_document
    from poleqa.embedding import get_embedder
    from poleqa.ingest import load_corpus

    embedder = TimedEmbedder(get_embedder(model, cache_dir=cache_dir))
    embedder.embed_passages(["échauffement du modèle"])  # load the model outside the timings
    docs = load_corpus(corpus).documents
    texts, next_id = [], 0
    for doc in docs:
        chunks = chunk_document(doc, chunk_size, overlap, next_id)
        next_id += len(chunks)
        texts += [passage_text(doc, c) for c in chunks]
    kw = {"chunk_size": chunk_size, "chunk_overlap": overlap, "flat_max_vectors": 50_000}

    rss0 = _rss_mb()
    embedder.calls.clear()
    embedder.embed_passages(texts)
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        w, c = _clock()
        report = build_index(corpus, index_dir, embedder, **kw)
        build_wall, build_cpu = time.perf_counter() - w, time.process_time() - c
        rss_build = _rss_mb()
        embedder.embed_passages(texts)
        raw_calls = [embedder.calls[0], embedder.calls[-1]]
        chunk_call, sentence_call = embedder.calls[1], embedder.calls[2]
        w, _ = _clock()
        again = build_index(corpus, index_dir, embedder, **kw)
        noop = time.perf_counter() - w
        # One document changed: only it is embedded again.
        work = Path(tmp) / "corpus"
        shutil.copytree(corpus, work)
        build_index(work, index_dir, embedder, **kw)
        first = sorted(p for p in work.iterdir() if p.suffix in (".txt", ".md"))[0]
        first.write_text(first.read_text(encoding="utf-8") + "\n\nUne phrase ajoutée.", "utf-8")
        w, _ = _clock()
        one = build_index(work, index_dir, embedder, **kw)
        one_s = time.perf_counter() - w
    n = report.chunks
    assert n == len(texts) == chunk_call[0], (n, len(texts), chunk_call)
    raw_wall = statistics.mean(c[1] for c in raw_calls)
    raw_cpu = statistics.mean(c[2] for c in raw_calls)
    # poleqa's own work: the whole build minus the time spent inside the embedder.
    own_wall = build_wall - chunk_call[1] - sentence_call[1]
    own_cpu = build_cpu - chunk_call[2] - sentence_call[2]
    print(f"\n### Build ({model}, {len(docs)} documents, {n} chunks, "
          f"{report.sentences} sentences)\n")  # fmt: skip
    print("| measure | wall | CPU (all threads) |")
    print("|---|---|---|")
    print(f"| raw embedder on the same {n} chunk texts (mean of a run before and after) "
          f"| {raw_wall:.1f} s = {n / raw_wall:.2f} chunks/s "
          f"| {raw_cpu:.1f} s = {n / raw_cpu:.2f} chunks/s |")  # fmt: skip
    bw, bc = build_wall - sentence_call[1], build_cpu - sentence_call[2]
    print(f"| poleqa build without the sentence vectors | {bw:.1f} s = {n / bw:.2f} chunks/s "
          f"| {bc:.1f} s = {n / bc:.2f} chunks/s |")  # fmt: skip
    print(
        f"| of which inside the embedder (chunks) | {chunk_call[1]:.1f} s | {chunk_call[2]:.1f} s |"
    )
    print(f"| poleqa's own work (read, chunk, split, BM25, FAISS, write, checksums) "
          f"| {own_wall:.2f} s = {100 * own_wall / raw_wall:.1f} % of raw "
          f"| {own_cpu:.2f} s = {100 * own_cpu / raw_cpu:.1f} % of raw |")  # fmt: skip
    print(f"| sentence vectors (extra, for the answerer): {report.sentences} sentences "
          f"| {sentence_call[1]:.1f} s ({100 * sentence_call[1] / build_wall:.0f} % of the build) "
          f"| {sentence_call[2]:.1f} s |")  # fmt: skip
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in report.timings.items())
    print(f"| full build (steps: {steps}) | {build_wall:.1f} s | {build_cpu:.1f} s |")
    print(f"| re-run, nothing changed (written: {again.written}) | {noop:.2f} s | |")
    print(f"| one document changed ({one.embedded_chunks} chunks, {one.embedded_sentences} "
          f"sentences embedded) | {one_s:.1f} s | |")  # fmt: skip
    print(f"| peak RSS (model + build) | {rss_build:.0f} MB (before the build: {rss0:.0f}) | |")


# -- 2. FAISS search latency ---------------------------------------------------------------


def synthetic(n: int, dim: int, seed: int = 0, block: int = 100_000) -> np.ndarray:
    """Normalised vectors clustered like sentence embeddings (1000 topics + noise)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((1000, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, block):
        e = min(n, s + block)
        v = centers[rng.integers(0, len(centers), e - s)]
        v += 0.9 * rng.standard_normal((e - s, dim)).astype(np.float32)
        out[s:e] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def bench_faiss(
    sizes: list[int], hnsw_max: int, dim: int = 384, n_queries: int = 200, k: int = 10
) -> None:
    faiss.omp_set_num_threads(1)  # one query at a time, as a chat request does
    print(f"\n### FAISS search ({dim}-d, k={k}, {n_queries} single queries, 1 thread)\n")
    print("| vectors | index | build s | p50 ms | p95 ms | recall@10 vs flat | memory MB |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        xb = synthetic(n, dim)
        rng = np.random.default_rng(1)
        q = xb[rng.integers(0, n, n_queries)] + 0.5 * rng.standard_normal((n_queries, dim)).astype(
            np.float32
        ) / np.sqrt(dim)
        q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
        truth = None
        # HNSW construction is the slow part (~1 min per 100k vectors per core here): above
        # --hnsw-max only the flat index is measured, so that the run stays bounded.
        for kind in ("flat", "hnsw") if n <= hnsw_max else ("flat",):
            params = dense.choose_params(n, flat_max_vectors=n if kind == "flat" else 0)
            faiss.omp_set_num_threads(2)  # building may use both cores
            t = time.perf_counter()
            index = dense.build(xb, params)
            build_s = time.perf_counter() - t
            faiss.omp_set_num_threads(1)
            lat, found = [], []
            for i in range(n_queries):
                t = time.perf_counter()
                hits = dense.search(index, q[i], k)
                lat.append((time.perf_counter() - t) * 1000)
                found.append([h for h, _ in hits])
            if kind == "flat":
                truth = found
            recall = statistics.mean(
                len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)
            )
            # The serialised size is the in-memory size; above 200k, skip the copy (flat: n·d·4).
            mem = (faiss.serialize_index(index).nbytes if n <= 200_000 else n * dim * 4) / 1e6
            p50, p95 = np.percentile(lat, [50, 95])
            print(f"| {n:,} | {kind} | {build_s:.1f} | {p50:.2f} | {p95:.2f} | {recall:.3f} "
                  f"| {mem:.0f} |")  # fmt: skip
            del index
            gc.collect()
        del xb
        gc.collect()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus")
    ap.add_argument("--model", default="multilingual-e5-small")
    ap.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "poleqa")
    ap.add_argument("--chunk-size", type=int, default=800)
    ap.add_argument("--chunk-overlap", type=int, default=120)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--hnsw-max", type=int, default=200_000, help="largest HNSW to build")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--skip-faiss", action="store_true")
    args = ap.parse_args()
    if not args.skip_build:
        bench_build(args.corpus, args.model, args.cache_dir, args.chunk_size, args.chunk_overlap)
    if not args.skip_faiss:
        bench_faiss([int(s) for s in args.sizes.split(",")], args.hnsw_max)
    print(f"\npeak RSS of the benchmark process: {_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
