"""Index benchmark in one run: build throughput with and without sentence vectors next to the raw
encoder, index size on disk, search/ask latency at scale (synthetic vectors), FAISS latency.

Usage: python bench/bench_index.py [--corpus DIR] [--build-docs N] [--model NAME] [--skip-…]
--corpus: e.g. a folder made by bench/make_corpus.py; the builds index --build-docs of its
documents (evenly spread), the rest is only counted. Markdown tables on stdout, progress on
stderr. Not a test: numbers depend on the machine (run with nothing else busy).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

import faiss
import numpy as np

from poleqa.index import build_index, dense, passage_text

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "eval" / "domain" / "dev.jsonl"
KW = {"chunk_size": 800, "chunk_overlap": 120, "flat_max_vectors": 50_000}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def p50_p95(ms: list[float]) -> str:
    p50, p95 = np.percentile(ms, [50, 95])
    return f"{p50:.1f} / {p95:.1f} ms"


def size_mb(index_dir: Path) -> dict[str, float]:
    """MB on disk of each file (bm25/ together) of the current generation, and the total."""
    folder = index_dir / (index_dir / "CURRENT").read_text().strip()
    out: dict[str, float] = {}
    for p in folder.rglob("*"):
        if p.is_file():
            key = p.relative_to(folder).parts[0]
            out[key] = out.get(key, 0.0) + p.stat().st_size / 1e6
    out["total"] = sum(out.values())
    first = ["chunk_vectors.npy", "sentence_vectors.npy", "dense.faiss", "bm25"]
    return {k: out.get(k, 0.0) for k in first} | dict(sorted(out.items()))


# -- the corpus --------------------------------------------------------------------------------


def corpus_texts(corpus: Path) -> tuple[list[str], list[str], int, float]:
    """Chunk texts and sentence texts (as the index embeds them), documents, MB of text."""
    from poleqa.chunking import chunk_document
    from poleqa.index.build_plan import split_document_sentences
    from poleqa.ingest import load_corpus
    from poleqa.sentences import embedding_text

    docs = load_corpus(corpus).documents
    chunks, sentences, next_id = [], [], 0
    for doc in docs:
        cs = chunk_document(doc, KW["chunk_size"], KW["chunk_overlap"], next_id)
        next_id += len(cs)
        chunks += [passage_text(doc, c) for c in cs]
        sentences += [embedding_text(doc, s, e) for s, e in split_document_sentences(doc)]
    return chunks, sentences, len(docs), sum(len(d.text) for d in docs) / 1e6


def sample_corpus(corpus: Path, n: int, dest: Path) -> Path:
    """`n` documents spread evenly over `corpus` (with their sidecars), copied into `dest`."""
    files = sorted(p for p in corpus.iterdir() if p.suffix in (".md", ".txt", ".html"))
    step = max(1, len(files) // n)
    dest.mkdir(parents=True)
    for p in files[::step][:n]:
        for f in (p, p.with_name(p.name + ".meta.json")):
            if f.exists():
                shutil.copy2(f, dest / f.name)
    return dest


def even(xs: list[str], n: int) -> list[str]:
    return xs[:: max(1, len(xs) // n)][:n] if n else []


# -- 1. builds with and without sentence vectors, and the raw encoder ------------------------


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


def raw_rates(models: list[str], cache_dir: Path, texts: list[str]) -> dict[str, float]:
    """Texts/s of each model's embed_passages on `texts` (one call each, loaded beforehand)."""
    from poleqa.embedding import get_embedder

    rates, first = {}, None
    for name in models:
        e = get_embedder(name, cache_dir=cache_dir)
        e.embed_passages(["échauffement du modèle"])
        t = time.perf_counter()
        v = e.embed_passages(texts)
        rates[name] = len(texts) / (time.perf_counter() - t)
        first = v if first is None else first
        cos = float((v * first).sum(axis=1).min())
        log(f"raw {name}: {rates[name]:.2f} texts/s (min cosine to {models[0]}: {cos:.5f})")
    return rates


def bench_build(args: argparse.Namespace, tmp: Path) -> None:
    from poleqa.embedding import get_embedder

    chunks, sents, n_docs, mb = corpus_texts(args.corpus)
    print(f"\n### Corpus {args.corpus.name}: {n_docs:,} documents, {mb:.1f} MB of text, "
          f"{len(chunks):,} chunks, {len(sents):,} sentences\n")  # fmt: skip
    sub = sample_corpus(args.corpus, args.build_docs, tmp / "sub")
    sub_chunks, sub_sents, sub_docs, _ = corpus_texts(sub)
    sample = even(sub_chunks, args.raw_texts)
    sent_sample = even(sub_sents, args.raw_texts)
    models = args.raw_models.split(",")
    log(f"raw encoders before the builds ({len(sample)} chunk texts)")
    before = raw_rates(models, args.cache_dir, sample)
    emb = TimedEmbedder(get_embedder(args.model, cache_dir=args.cache_dir))
    emb.embed_passages(["échauffement du modèle"])
    rss0 = _rss_mb()
    rows = []
    for name, vectors in (("without", False), ("with", True)):
        log(f"build {name} sentence vectors: {sub_docs} documents, {len(sub_chunks)} chunks")
        emb.calls.clear()
        w, c = time.perf_counter(), time.process_time()
        r = build_index(sub, tmp / name, emb, **KW, sentence_vectors=vectors)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        inside = sum(x[1] for x in emb.calls)
        rows.append((name, r, wall, cpu, inside, size_mb(tmp / name)))
    log("switches and re-runs")
    t = time.perf_counter()
    drop = build_index(sub, tmp / "with", emb, **KW, sentence_vectors=False)
    drop_s = time.perf_counter() - t
    t = time.perf_counter()
    noop = build_index(sub, tmp / "without", emb, **KW, sentence_vectors=False)
    noop_s = time.perf_counter() - t
    rss_build = _rss_mb()
    log(f"raw encoders after the builds; sentence texts ({len(sent_sample)})")
    after = raw_rates(models, args.cache_dir, sample)
    sent_rate = raw_rates([args.model], args.cache_dir, sent_sample)[args.model]

    n = len(sub_chunks)
    load = os.getloadavg()[0]
    print(f"Builds on {sub_docs} of its documents ({n:,} chunks, {len(sub_sents):,} sentences), "
          f"model {args.model}, {os.cpu_count()} CPUs, load {load:.1f}:\n")  # fmt: skip
    print("| measure | wall | chunks/s | CPU (all threads) | inside the encoder | own work |")
    print("|---|---|---|---|---|---|")
    for m in models:
        rate = statistics.mean([before[m], after[m]])
        print(f"| raw encoder {m}, {len(sample)} chunk texts (mean of before/after: "
              f"{before[m]:.2f}, {after[m]:.2f}) | | **{rate:.2f}** | | | |")  # fmt: skip
    print(f"| raw encoder {args.model}, {len(sent_sample)} sentence texts | | "
          f"{sent_rate:.2f} sentences/s | | | |")  # fmt: skip
    for name, r, wall, cpu, inside, _ in rows:
        own = wall - inside
        print(f"| build {name} sentence vectors ({r.embedded_sentences:,} sentences embedded) "
              f"| {wall:.1f} s | **{n / wall:.2f}** | {cpu:.1f} s | {inside:.1f} s "
              f"| {own:.2f} s ({100 * own / wall:.1f} %) |")  # fmt: skip
    print(f"| switch to without on the index with them (written: {drop.written}, "
          f"{drop.embedded_chunks + drop.embedded_sentences} texts embedded) | {drop_s:.2f} s "
          "| | | | |")  # fmt: skip
    print(f"| re-run, nothing changed (written: {noop.written}) | {noop_s:.2f} s | | | | |")
    print(f"| peak RSS (model + builds) | {rss_build:.0f} MB (before: {rss0:.0f}) | | | | |")
    print("\n| index on disk (MB) | " + " | ".join(k for k in rows[1][5]) + " |")
    print("|---|" + "---|" * len(rows[1][5]))
    for name, *_, sizes in rows:
        cells = " | ".join(f"{sizes.get(k, 0):.1f}" for k in rows[1][5])
        print(f"| {name} sentence vectors | {cells} |")
    wo, wi = (rows[0][2] * len(chunks) / n / 60, rows[1][2] * len(chunks) / n / 60)
    print(f"\nAt these rates the whole corpus ({len(chunks):,} chunks) takes ≈ {wo:.0f} min "
          f"without and ≈ {wi:.0f} min with sentence vectors (extrapolated).")  # fmt: skip


# -- 2. size and latency at scale: real texts, synthetic vectors -------------------------------


class SyntheticEmbedder:
    """Clustered random unit vectors, instant. It takes the real model's id so that the readers'
    fitted files accept the index: the scores mean nothing, the work done is the real one."""

    def __init__(self, embedder_id: str, dim: int = 384) -> None:
        self.id, self.dim = embedder_id, dim
        self.centers = np.random.default_rng(0).standard_normal((1000, dim)).astype(np.float32)

    def describe(self) -> dict:
        return {"id": self.id, "dim": self.dim, "backend": "synthetic (bench)"}

    def _vectors(self, texts) -> np.ndarray:
        seeds = [zlib.crc32(t.encode("utf-8")) for t in texts]
        rng = np.random.default_rng(seeds[0] if seeds else 0)
        v = self.centers[[s % 1000 for s in seeds]] + 0.9 * rng.standard_normal(
            (len(texts), self.dim), dtype=np.float32
        )
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def embed_queries(self, texts):
        return self._vectors(list(texts))

    def embed_passages(self, texts, progress=None):
        out = self._vectors(list(texts))
        if progress:
            progress(len(texts))
        return out


def questions(n: int) -> list[str]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:n]


def bench_scale(args: argparse.Namespace, tmp: Path) -> None:
    import make_corpus  # bench/ is on sys.path when this file runs as a script

    from poleqa.config import Settings
    from poleqa.embedding import get_embedder
    from poleqa.pipeline import Pipeline

    real = get_embedder(args.model, cache_dir=args.cache_dir)
    fake = SyntheticEmbedder(real.id)
    corpus = tmp / "scale-corpus"
    corpus.mkdir()
    sources = make_corpus.read_sources()
    n_docs = max(1, round(args.scale_chunks / 15.3))  # chunks per generated document, measured
    log(f"scale: generating {n_docs} documents")
    for i in range(n_docs):
        text = make_corpus.make_document(sources, make_corpus.random.Random(f"s-{i}"), 2, 20)
        (corpus / f"doc{i:05d}.md").write_text(text, encoding="utf-8")
    qs = questions(args.questions)
    print(f"\n### At scale: {n_docs:,} generated documents, synthetic vectors (real texts, "
          f"real BM25, FAISS, stores; vector values random)\n")  # fmt: skip
    print("| index | chunks | sentences | build (no embedding) | on disk | search p50 / p95 "
          "| ask p50 / p95 (reader) | first ask |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for vectors, reader in ((False, "trained"), (True, "sentences")):
        index_dir = tmp / f"scale-{vectors}"
        log(f"scale: build, sentence vectors {vectors}")
        t = time.perf_counter()
        r = build_index(corpus, index_dir, fake, **KW, sentence_vectors=vectors)
        build_s = time.perf_counter() - t
        sizes = size_mb(index_dir)
        settings = Settings(corpus_dir=corpus, index_dir=index_dir, reader=reader)
        settings = settings.with_(cache_dir=args.cache_dir, model=args.model)
        p = Pipeline(settings, embedder=fake)
        p.search("échauffement")  # load the index
        search_ms = [_ms(p.search, q) for q in qs]
        log(f"scale: first ask with the {reader} reader")
        first = _ms(p.ask, qs[0])
        ask_ms = [_ms(p.ask, q) for q in qs[: args.ask_questions]]
        disk = f"{sizes['total']:.0f} MB (vectors {sizes.get('chunk_vectors.npy', 0):.0f} + "
        disk += f"{sizes.get('sentence_vectors.npy', 0):.0f})"
        print(f"| {'with' if vectors else 'without'} sentence vectors ({r.index_kind}) "
              f"| {r.chunks:,} | {r.sentences:,} | {build_s:.0f} s | {disk} "
              f"| {p50_p95(search_ms)} | {p50_p95(ask_ms)} ({reader}) "
              f"| {first / 1000:.1f} s |")  # fmt: skip
        del p
        gc.collect()
    real.embed_queries(["échauffement"])
    q_ms = [_ms(real.embed_queries, [q]) for q in qs]
    print(f"\nSearch and ask above exclude the query embedding (synthetic: instant); with "
          f"{args.model} one question embeds in {p50_p95(q_ms)} (same run).")  # fmt: skip


def _ms(fn, *a) -> float:
    t = time.perf_counter()
    fn(*a)
    return (time.perf_counter() - t) * 1000


# -- 3. FAISS search latency ---------------------------------------------------------------


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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus")
    ap.add_argument("--build-docs", type=int, default=60, help="documents the builds index")
    ap.add_argument("--model", default="multilingual-e5-small")
    ap.add_argument("--raw-models", default="multilingual-e5-small-st,multilingual-e5-small")
    ap.add_argument("--raw-texts", type=int, default=200)
    ap.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "poleqa")
    ap.add_argument("--scale-chunks", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=100, help="searches at scale")
    ap.add_argument("--ask-questions", type=int, default=20, help="asks at scale, per reader")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--hnsw-max", type=int, default=200_000, help="largest HNSW to build")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-faiss", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="poleqa-bench-") as tmp:
        if not args.skip_build:
            bench_build(args, Path(tmp))
        if not args.skip_scale:
            bench_scale(args, Path(tmp))
    if not args.skip_faiss:
        bench_faiss([int(s) for s in args.sizes.split(",")], args.hnsw_max)
    print(f"\npeak RSS of the benchmark process: {_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
