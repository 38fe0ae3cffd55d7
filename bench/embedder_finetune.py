"""Experiment: e5-small fine-tuned as the retriever on question/passage triples; resumable.

python bench/embedder_finetune.py data TRIPLES.jsonl --piaf PIAF.json --corpus CORPUS \
    --index INDEX --questions TRAIN.jsonl [--questions ...]
python bench/embedder_finetune.py train TRIPLES.jsonl --base BASE_FOLDER --checkpoints DIR \
    --out ST_FOLDER
Measured, not shipped: it lost end to end (docs/reader.md, « The fine-tuned embedder, clean »).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from poleqa.config import DEFAULT_MODEL, Settings, default_cache_dir
from poleqa.evaluation.questions import load_questions
from poleqa.index.build_plan import passage_text
from poleqa.pipeline import Pipeline
from poleqa.reading.training import heldout_article
from poleqa.text import fold

log = logging.getLogger("embedder_finetune")
CHECKPOINT = "state.pt"
CHECKPOINT_SECONDS = 240  # a run cut off at any moment loses at most this much


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the fine-tuned embedder."""

    batch: int = 16  # in-batch negatives: 16 questions, 32 passages each step
    max_length: int = 192  # tokens; 256 costs 3x the time and 13 GB for batches of 32
    lr: float = 2e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    scale: float = 50.0  # MNRL's inverse temperature (sentence-transformers' default 20 is softer)
    epochs: int = 1
    piaf: int = 2000  # PIAF triples beside the in-domain ones (they keep the model general)
    piaf_heldout: float = 0.10  # the reader's held-out PIAF articles, never trained on here either
    negatives_from: int = 5  # the hard negative: one of the first N retrieved passages lacking it
    seed: int = 0


def _holds(text: str, golds: list[str]) -> bool:
    return any(g in fold(text) for g in golds)


def domain_triples(
    pipeline: Pipeline, questions: Path, recipe: Recipe, rng: random.Random
) -> list[dict]:
    """Each answerable question: the best-ranked passage of a gold source holding its answer,
    and one of the first retrieved passages that lacks it, from documents the question files
    cite (so no passage of a dev or test document is ever seen in training)."""
    items = list(load_questions(questions))
    allowed = {s for q in items for s in q.sources}
    index = pipeline.index
    out = []
    for q in items:
        if not q.answerable:
            continue
        golds = [fold(a) for a in q.answers]
        hits = pipeline.retrieve(pipeline.query(q.question), k=30)
        hits = [h for h in hits if h.chunk.source in allowed]
        pos = [h.chunk for h in hits if _holds(h.chunk.text, golds) and h.chunk.source in q.sources]
        if not pos:
            pos = [
                index.chunks[c]
                for s in q.sources
                for c in index.chunk_ids(s)
                if _holds(index.chunks[c].text, golds)
            ]
        negs = [h.chunk for h in hits if not _holds(h.chunk.text, golds)][: recipe.negatives_from]
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


def piaf_triples(path: Path, recipe: Recipe, rng: random.Random) -> list[dict]:
    """PIAF questions (held-out articles left out) with another paragraph of the same article
    as the hard negative; passages carry the article title, as poleqa's passages do."""
    items = []
    for art in json.loads(path.read_text("utf-8"))["data"]:
        title, paras = art["title"], art["paragraphs"]
        if heldout_article(title, recipe.piaf_heldout) or len(paras) < 2:
            continue
        for i, para in enumerate(paras):
            for qa in para["qas"]:
                j = rng.choice([k for k in range(len(paras)) if k != i])
                pos, neg = para["context"], paras[j]["context"]
                items.append(
                    {"q": qa["question"], "pos": f"{title}\n\n{pos}", "neg": f"{title}\n\n{neg}"}
                )
    rng.shuffle(items)
    return items[: recipe.piaf]


def make_data(args: argparse.Namespace, recipe: Recipe) -> int:
    """Writes the triples file: in-domain ones first, then PIAF's."""
    settings = Settings(
        cache_dir=default_cache_dir(),
        reader="sentences",
        model=args.model,
        corpus_dir=args.corpus,
        index_dir=args.index,
    )
    pipeline = Pipeline(settings)
    pipeline.ensure_index()
    rng = random.Random(recipe.seed)
    rows = [r for q in args.questions for r in domain_triples(pipeline, q, recipe, rng)]
    log.info("%d in-domain triples", len(rows))
    rows += piaf_triples(args.piaf, recipe, rng)
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    args.triples.write_text(body, "utf-8")
    return len(rows)


def train(args: argparse.Namespace, recipe: Recipe) -> SentenceTransformer:
    """In-batch negatives plus each row's hard negative (MNRL), word embeddings frozen, bf16;
    resumes from the last checkpoint in args.checkpoints."""
    torch.manual_seed(recipe.seed)
    rows = [json.loads(line) for line in args.triples.read_text("utf-8").splitlines()]
    order = [i for _ in range(recipe.epochs) for i in range(len(rows))]
    random.Random(recipe.seed).shuffle(order)
    steps = len(order) // recipe.batch
    last = min(steps, args.max_steps or steps)
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    model = SentenceTransformer(str(args.base), device="cpu", local_files_only=True)
    model.max_seq_length = recipe.max_length
    model[0].auto_model.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    warm = max(1, int(steps * recipe.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm))
    )
    loss_fn = MultipleNegativesRankingLoss(model, scale=recipe.scale)
    state_file, start = args.checkpoints / CHECKPOINT, 0
    if state_file.exists():
        state = torch.load(state_file, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start = state["step"]
        log.info("resuming at step %d of %d", start, steps)
    model.train()
    saved = time.time()
    for step in range(start, last):
        batch = [rows[i] for i in order[step * recipe.batch : (step + 1) * recipe.batch]]
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
        log.info("step %d/%d loss %.4f", step + 1, steps, loss.item())
        if time.time() - saved > CHECKPOINT_SECONDS or step + 1 == last:
            body = {"model": model.state_dict(), "opt": opt.state_dict()}
            body |= {"sched": sched.state_dict(), "step": step + 1}
            torch.save(body, args.checkpoints / "state.tmp")
            os.replace(args.checkpoints / "state.tmp", state_file)
            saved = time.time()
    return model.eval()


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data", help="write the training triples")
    d.add_argument("triples", type=Path)
    d.add_argument("--piaf", type=Path, required=True, help="PIAF v1.1 (SQuAD format)")
    d.add_argument("--corpus", type=Path, required=True, help="the documents questions cite")
    d.add_argument("--index", type=Path, required=True, help="an index of --corpus (built if not)")
    d.add_argument("--model", default=DEFAULT_MODEL, help="the index's embedder")
    d.add_argument("--questions", type=Path, action="append", required=True)
    t = sub.add_parser("train", help="train (resumable), then write a sentence-transformers folder")
    t.add_argument("triples", type=Path)
    t.add_argument("--base", type=Path, required=True, help="the converted e5-small folder")
    t.add_argument("--checkpoints", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True, help="the fine-tuned model's folder")
    t.add_argument("--max-steps", type=int, default=0, help="stop early (smoke tests)")
    for p in (d, t):
        p.add_argument("--recipe", default="{}", help="JSON changes to the recipe (tests)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    recipe = replace(Recipe(), **json.loads(args.recipe))
    if args.cmd == "data":
        log.info("%d triples written to %s", make_data(args, recipe), args.triples)
        return
    train(args, recipe).save(str(args.out))
    (args.out / "recipe.json").write_text(json.dumps(asdict(recipe), indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
