"""Fine-tunes e5-small as a SQuAD 2.0-style reader; resumable; writes the shipped weights.

python -m poleqa.reading.training --piaf PIAF.json --squad1 SQUAD11.json --squad2 SQUAD20.json \
    --base BASE_FOLDER --checkpoints DIR --out src/poleqa/data/reader   (docs/reader.md)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import signal
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from poleqa.errors import ReaderError, run_tool
from poleqa.reading.recipe import Recipe, recipe_from
from poleqa.reading.shared_norm import group_batches, question_groups, shared_loss
from poleqa.reading.span_model import load_base, trainable_state
from poleqa.reading.squad import QAExample, article_title, placed, read_squad
from poleqa.reading.swap import noun_swaps, swapped_negatives
from poleqa.reading.weights import load_reader_state, read_manifest, save_reader
from poleqa.reading.windows import (
    Feature,
    answer_tokens,
    pad_batch,
    tokenize,
)
from poleqa.sentences import split_sentences
from poleqa.tokenizer import SharedTokenizer, shared_tokenizer

log = logging.getLogger("poleqa.reading.training")
CHECKPOINT = "checkpoint.pt"
# The exit status of a run stopped before its end (EX_TEMPFAIL): not 0, so that a script chaining
# steps (bench/reader_chain.sh) stops too instead of going on without this step's weights.
STOPPED = 75


def heldout_article(title: str, share: float) -> bool:
    """A stable split by article title (crc32), the same in training and evaluation."""
    return zlib.crc32(title.encode("utf-8")) % 1000 < share * 1000


def french_negatives(examples: Sequence[QAExample], recipe: Recipe, rng: random.Random) -> list:
    """PIAF questions paired with paragraphs lacking their answer (own article or another)."""
    by_article: dict[str, list[str]] = {}
    for ex in examples:
        paragraphs = by_article.setdefault(ex.article, [])
        if ex.context not in paragraphs:
            paragraphs.append(ex.context)
    articles = sorted(by_article)
    out = []
    for ex in examples:
        if rng.random() >= recipe.fr_negatives:
            continue
        golds = [a.text.casefold() for a in ex.answers]
        if rng.random() < recipe.hard_negatives:
            pool = [p for p in by_article[ex.article] if p != ex.context]
        else:
            pool = by_article[rng.choice(articles)]
        pool = [p for p in pool if not any(g in p.casefold() for g in golds)]
        if pool:
            ctx = rng.choice(pool)
            out.append(QAExample(ex.id + "-neg", ex.question, ctx, (), ex.article, True))
    return out


def without_answer(ex: QAExample) -> str | None:
    """The example's context with every sentence that holds a gold answer cut out: the same
    subject, the fact missing (a near miss). None when nothing would be left or an answer stays."""
    golds = [a.text.casefold() for a in ex.answers]
    spans = [(a.start, a.start + len(a.text)) for a in ex.answers]
    kept, pos = [], 0
    for s, e in split_sentences(ex.context):
        sentence = ex.context[s:e].casefold()
        if any(s < ae and as_ < e for as_, ae in spans) or any(g in sentence for g in golds):
            kept.append(ex.context[pos:s])
            pos = e
    if not kept:
        return None
    context = "".join(kept) + ex.context[pos:]
    if any(g in context.casefold() for g in golds) or len(context.split()) < 8:
        return None
    return context


def near_miss_negatives(
    examples: Sequence[QAExample], share: float, rng: random.Random
) -> list[QAExample]:
    """Unanswerable twins of answerable examples: the passage without its answer sentences."""
    if share <= 0:  # draws nothing: earlier recipes keep their random sequence
        return []
    out = []
    for ex in examples:
        if ex.answerable and rng.random() < share:
            context = without_answer(ex)
            if context is not None:
                out.append(QAExample(ex.id + "-nm", ex.question, context, (), ex.article, True))
    return out


def _read(path: Path) -> list[QAExample]:
    """A training file's examples; those whose given answers their paragraph lacks left out
    (read as they are, they would train as « no answer »)."""
    kept, unplaced = placed(read_squad(path))
    if unplaced:
        log.warning(
            "%s: %d questions left out, none of their answers in their paragraph (%s…)",
            path,
            len(unplaced),
            ", ".join(e.id for e in unplaced[:3]),
        )
    return kept


def training_examples(args: argparse.Namespace, recipe: Recipe) -> list[QAExample]:
    """The mix, in a seeded order: PIAF (train articles) with French negatives, SQuAD, domain."""
    rng = random.Random(recipe.seed)
    piaf = [e for e in _read(args.piaf) if not heldout_article(e.article, recipe.piaf_heldout)]
    mix: list[QAExample] = []
    for _ in range(recipe.piaf_epochs):
        drawn = rng.sample(piaf, min(recipe.piaf_sample, len(piaf))) if recipe.piaf_sample else piaf
        mix += drawn + french_negatives(drawn, recipe, rng)
        mix += near_miss_negatives(drawn, recipe.near_miss, rng)
        mix += swapped_negatives(drawn, recipe.swap, rng)
        mix += noun_swaps(drawn, recipe.swap_nouns, rng)
    if args.squad1:
        squad1 = _read(args.squad1)
        mix += rng.sample(squad1, min(recipe.squad1, len(squad1)))
    if args.squad2:
        squad2 = _read(args.squad2)
        kept = set(sorted({e.article for e in squad2})[recipe.squad2_heldout_articles :])
        squad2 = [e for e in squad2 if e.article in kept]
        mix += rng.sample(squad2, min(recipe.squad2, len(squad2)))
    for path in args.domain or ():
        domain = _read(path)
        negatives = near_miss_negatives(domain, recipe.near_miss, rng)
        negatives += swapped_negatives(domain, recipe.swap, rng)
        negatives += noun_swaps(domain, recipe.swap_nouns, rng)
        mix += (domain + negatives) * recipe.domain_epochs
    rng.shuffle(mix)
    return mix


def featurize(
    tokenizer: SharedTokenizer, examples: Sequence[QAExample], recipe: Recipe
) -> list[Feature]:
    """The examples' windows; a window without the answer points at [CLS] (0, 0)."""
    feats = []
    for at in range(0, len(examples), 256):
        part = examples[at : at + 256]
        windows = tokenize(
            tokenizer,
            [e.question for e in part],
            [e.context for e in part],
            recipe.max_length,
            recipe.stride,
        )
        for w in windows:
            ex = part[w.item]
            s, e = (0, 0)
            if ex.answers:
                gold = ex.answers[0]
                s, e = answer_tokens(w, gold.start, gold.start + len(gold.text))
            feats.append(Feature(w, s, e, at + w.item))
    return feats


def batches(feats: list[Feature], recipe: Recipe) -> list[list[Feature]]:
    """Batches of similar length (less padding), in a seeded random order."""
    rng = random.Random(recipe.seed + 1)
    order = list(range(len(feats)))
    rng.shuffle(order)
    out = []
    group = recipe.batch * 50
    for at in range(0, len(order), group):
        chunk = sorted(order[at : at + group], key=lambda i: len(feats[i].window.input_ids))
        out += [chunk[k : k + recipe.batch] for k in range(0, len(chunk), recipe.batch)]
    rng.shuffle(out)
    return [[feats[i] for i in b] for b in out]


def training_plan(
    feats: list[Feature], examples: Sequence[QAExample], recipe: Recipe
) -> list[list[list[Feature]]]:
    """The steps: each a batch, as groups of features sharing one softmax (one feature each
    unless the recipe shares normalisation across a question's windows)."""
    if not recipe.shared_norm:  # the shipped stages' batches, in their seeded order
        return [[[f] for f in batch] for batch in batches(feats, recipe)]
    groups = question_groups(feats, examples)
    steps = group_batches(feats, groups, recipe.batch, recipe.seed + 1)
    return [[[feats[i] for i in group] for group in step] for step in steps]


def plan_digest(plan: list[list[list[Feature]]], examples: Sequence[QAExample]) -> str:
    """What a run reads, step by step (example ids, window lengths, gold tokens): a checkpoint
    resumes only the run whose plan it was made on."""
    digest = hashlib.sha256()
    for step in plan:
        for group in step:
            for f in group:
                ex = examples[f.example]
                digest.update(f"{ex.id}:{len(f.window.input_ids)}:{f.start}:{f.end};".encode())
        digest.update(b"|")
    return digest.hexdigest()


def _save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    step: int,
    recipe: Recipe,
    digest: str,
) -> None:
    tmp = path.with_suffix(".tmp")
    state = {
        "model": trainable_state(model),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "step": step,
        "recipe": asdict(recipe),
        "plan": digest,
    }
    torch.save(state, tmp)
    os.replace(tmp, path)  # a cut during the save leaves the previous checkpoint whole


def _resume(
    ckpt: Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    recipe: Recipe,
    digest: str,
) -> int:
    """The step the checkpoint stopped after, its state loaded; ReaderError if it was made by
    another run (other recipe, other data: it would resume at a step of another plan)."""
    state = torch.load(ckpt, weights_only=False)
    # a field added since the checkpoint was made counts at its default (the old behaviour)
    if {**asdict(Recipe()), **state["recipe"]} != asdict(recipe):
        raise ReaderError(f"{ckpt} was made with another recipe: remove it or use its recipe.")
    # checkpoints made before session 34 lack the plan's digest: taken on trust
    if state.get("plan", digest) != digest:
        raise ReaderError(
            f"{ckpt} was made on other training data (other files or another order): "
            "remove it, or give the data it was made on."
        )
    model.load_state_dict(state["model"], strict=False)
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    log.info("resumed at step %d", state["step"])
    return int(state["step"])


def train(args: argparse.Namespace, recipe: Recipe) -> torch.nn.Module:
    """Runs (or resumes) the training run; returns the model after its last step."""
    torch.manual_seed(recipe.seed)
    torch.set_num_threads(args.threads)
    tokenizer = shared_tokenizer(args.base / "tokenizer.json")
    examples = training_examples(args, recipe)
    feats = featurize(tokenizer, examples, recipe)
    plan = training_plan(feats, examples, recipe)
    digest = plan_digest(plan, examples)  # the whole plan's: --max-steps only stops it earlier
    if args.max_steps:
        plan = plan[: args.max_steps]
    log.info("%d examples, %d windows, %d steps", len(examples), len(feats), len(plan))
    model = load_base(args.base)
    if args.init:  # continue from shipped weights (e.g. a new machine without the checkpoint)
        model.load_state_dict(load_reader_state(args.init, args.base.name)[1], strict=False)
    model.base_model.embeddings.requires_grad_(False)  # 96M of 118M parameters; ~2x faster
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    warm = max(1, int(len(plan) * recipe.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min((k + 1) / warm, max(0.0, (len(plan) - k) / max(1, len(plan) - warm)))
    )
    ckpt = args.checkpoints / CHECKPOINT
    step = _resume(ckpt, model, opt, sched, recipe, digest) if ckpt.exists() else 0
    model.train()
    # SIGTERM (a session ending, `kill`) saves a checkpoint at the next step and stops (STOPPED).
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    t0, last_save, loss_avg, read = time.time(), time.time(), None, 0
    for k in range(step, len(plan)):
        batch = [f for group in plan[k] for f in group]
        read += len(batch)  # grouped batches may hold fewer windows than recipe.batch
        ids, mask = pad_batch([f.window for f in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.bf16):
            out = model(
                input_ids=torch.from_numpy(ids),
                attention_mask=torch.from_numpy(mask),
                start_positions=torch.tensor([f.start for f in batch]),
                end_positions=torch.tensor([f.end for f in batch]),
            )
            loss = out.loss
            if recipe.shared_norm:
                shared = shared_loss(out.start_logits, out.end_logits, plan[k])
                loss = loss + recipe.shared_norm * shared
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        if k % 25 == 0:
            rate = read / (time.time() - t0)
            log.info("step %d/%d loss %.3f %.1f windows/s", k, len(plan), loss_avg, rate)
        if stop or time.time() - last_save > args.save_every:
            _save_checkpoint(ckpt, model, opt, sched, k + 1, recipe, digest)
            last_save = time.time()
        if stop:
            log.info("stopped after step %d: run the same command to resume", k + 1)
            raise SystemExit(STOPPED)
    _save_checkpoint(ckpt, model, opt, sched, len(plan), recipe, digest)
    return model


def write_heldout(piaf: Path, recipe: Recipe, out: Path) -> int:
    """The PIAF articles kept out of training, as a SQuAD-format file (for `eval --squad`)."""
    data = json.loads(piaf.read_text("utf-8"))["data"]
    kept = [
        a for i, a in enumerate(data) if heldout_article(article_title(a, i), recipe.piaf_heldout)
    ]
    out.write_text(json.dumps({"version": "piaf-heldout", "data": kept}, ensure_ascii=False))
    return sum(len(p["qas"]) for a in kept for p in a["paragraphs"])


def export(args: argparse.Namespace, recipe: Recipe, model: torch.nn.Module | None) -> None:
    """Writes the shipped weights from `model`, or from the last checkpoint."""
    if model is None:
        if not (args.checkpoints / CHECKPOINT).exists():
            raise ReaderError(f"No checkpoint to export in {args.checkpoints}.")
        model = load_base(args.base)
        state = torch.load(args.checkpoints / CHECKPOINT, weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        log.info("exporting the checkpoint of step %d", state["step"])
    record = asdict(recipe)
    if args.domain:
        record["domain_files"] = [p.name for p in args.domain]
    if args.init:  # a later stage: the recipe of the weights it started from, recursively
        record["init"] = read_manifest(args.init).recipe
    save_reader(
        args.out,
        trainable_state(model),
        args.base.name,
        recipe.max_length,
        recipe.stride,
        record,
        {},
    )
    log.info("reader written to %s", args.out)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--piaf", type=Path, required=True, help="PIAF v1.1 (SQuAD format)")
    ap.add_argument("--squad1", type=Path, help="SQuAD 1.1 train")
    ap.add_argument("--squad2", type=Path, help="SQuAD 2.0 dev (unanswerable questions)")
    ap.add_argument("--domain", type=Path, nargs="*", help="in-domain SQuAD-format training files")
    ap.add_argument("--base", type=Path, required=True, help="converted e5-small folder")
    ap.add_argument("--checkpoints", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="folder for the shipped weights")
    ap.add_argument("--recipe", type=json.loads, default={}, help='JSON overrides: {"lr": 2e-4}')
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (smoke tests)")
    ap.add_argument("--save-every", type=float, default=300.0, help="seconds between checkpoints")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--export-only", action="store_true", help="write the last checkpoint out")
    ap.add_argument("--init", type=Path, help="start from these reader weights, not the base")
    ap.add_argument("--heldout-out", type=Path, help="write the held-out PIAF articles here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    recipe = recipe_from(args.recipe)
    if args.heldout_out:
        n = write_heldout(args.piaf, recipe, args.heldout_out)
        log.info("%d held-out PIAF questions written to %s", n, args.heldout_out)
        return
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    export(args, recipe, None if args.export_only else train(args, recipe))


if __name__ == "__main__":
    run_tool(main)
