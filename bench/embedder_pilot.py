"""Pilot: the e5-small embedder fine-tuned on (question, passage, hard negative) triples.

python bench/embedder_pilot.py data OUT.jsonl --piaf PIAF.json --piaf-n 2000 \
    --set QUESTIONS CORPUS INDEX [--set ...]
python bench/embedder_pilot.py train OUT.jsonl BASE_FOLDER CHECKPOINTS OUT_FOLDER
A measured lead, not shipped (docs/reader.md, « Where answers are lost »); resumable.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import zlib
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.losses import MultipleNegativesRankingLoss

from poleqa.config import Settings, default_cache_dir
from poleqa.evaluation.questions import load_questions
from poleqa.index.build_plan import passage_text
from poleqa.pipeline import Pipeline
from poleqa.text import fold


def _holds(text: str, golds: list[str]) -> bool:
    return any(g in fold(text) for g in golds)


def domain_triples(questions: Path, corpus: Path, index_dir: Path, rng: random.Random) -> list:
    """Each answerable question: the best-ranked passage of a gold source holding its answer,
    and one of the first five retrieved passages that lacks it."""
    settings = Settings(
        cache_dir=default_cache_dir(), reader="sentences", corpus_dir=corpus, index_dir=index_dir
    )
    pipeline = Pipeline(settings)
    pipeline.ensure_index()
    index = pipeline.index
    out = []
    for q in load_questions(questions):
        if not q.answerable:
            continue
        golds = [fold(a) for a in q.answers]
        hits = pipeline.retrieve(pipeline.query(q.question), k=30)
        pos = [h.chunk for h in hits if _holds(h.chunk.text, golds) and h.chunk.source in q.sources]
        if not pos:
            pos = [
                index.chunks[c]
                for s in q.sources
                for c in index.chunk_ids(s)
                if _holds(index.chunks[c].text, golds)
            ]
        negs = [h.chunk for h in hits[:10] if not _holds(h.chunk.text, golds)][:5]
        if pos and negs:
            neg = rng.choice(negs)
            out.append(
                {
                    "q": q.question,
                    "pos": passage_text(index.document(pos[0].source), pos[0]),
                    "neg": passage_text(index.document(neg.source), neg),
                }
            )
    return out


def piaf_triples(path: Path, n: int, rng: random.Random) -> list:
    """PIAF questions (about 10 % of articles kept out by a hash of the title) with another
    paragraph of the same article as the hard negative."""
    items = []
    for art in json.loads(path.read_text("utf-8"))["data"]:
        title, paras = art["title"], art["paragraphs"]
        if zlib.crc32(title.encode()) % 10 == 0 or len(paras) < 2:
            continue
        for i, para in enumerate(paras):
            for qa in para["qas"]:
                j = rng.choice([k for k in range(len(paras)) if k != i])
                pos, neg = para["context"], paras[j]["context"]
                items.append(
                    {"q": qa["question"], "pos": f"{title}\n\n{pos}", "neg": f"{title}\n\n{neg}"}
                )
    rng.shuffle(items)
    return items[:n]


def train(data: Path, base: str, checkpoints: Path, out: Path, args: argparse.Namespace) -> None:
    """In-batch negatives plus each row's hard negative (MNRL), word embeddings frozen, bf16."""
    torch.manual_seed(0)
    rows = [json.loads(line) for line in data.read_text("utf-8").splitlines()]
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    steps = len(order) // args.batch
    checkpoints.mkdir(parents=True, exist_ok=True)
    model = SentenceTransformer(base, device="cpu")
    model.max_seq_length = args.max_length
    model[0].auto_model.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm))
    )
    loss_fn = MultipleNegativesRankingLoss(model, scale=args.scale)
    state_file, start = checkpoints / "state.pt", 0
    if state_file.exists():
        state = torch.load(state_file, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start = state["step"]
    model.train()
    saved = time.time()
    for step in range(start, steps):
        batch = [rows[i] for i in order[step * args.batch : (step + 1) * args.batch]]
        features = [
            model.tokenize([prefix + r[key] for r in batch])
            for prefix, key in (("query: ", "q"), ("passage: ", "pos"), ("passage: ", "neg"))
        ]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = loss_fn(features, None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        print(f"step {step + 1}/{steps} loss {loss.item():.4f}", flush=True)
        if time.time() - saved > 240 or step + 1 == steps:
            body = {"model": model.state_dict(), "opt": opt.state_dict()}
            body |= {"sched": sched.state_dict(), "step": step + 1}
            torch.save(body, checkpoints / "state.tmp")
            os.replace(checkpoints / "state.tmp", state_file)
            saved = time.time()
    model.save(str(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data")
    d.add_argument("out", type=Path)
    d.add_argument("--piaf", type=Path, required=True)
    d.add_argument("--piaf-n", type=int, default=2000)
    d.add_argument("--set", nargs=3, action="append", required=True, type=Path)
    t = sub.add_parser("train")
    for name in ("data", "base", "checkpoints", "out"):
        t.add_argument(name, type=Path)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--max-length", type=int, default=192)
    t.add_argument("--lr", type=float, default=2e-5)
    t.add_argument("--scale", type=float, default=50.0)
    args = ap.parse_args()
    if args.cmd == "train":
        train(args.data, str(args.base), args.checkpoints, args.out, args)
        return
    rng = random.Random(0)
    rows = [r for q, c, i in args.set for r in domain_triples(q, c, i, rng)]
    rows += piaf_triples(args.piaf, args.piaf_n, rng)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    print(len(rows), "triples")


if __name__ == "__main__":
    main()
