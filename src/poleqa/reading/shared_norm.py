"""Shared normalisation (Clark & Gardner 2018): the windows of one question share one softmax."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import torch

from poleqa.reading.squad import QAExample
from poleqa.reading.windows import Feature, Window


def question_groups(features: Sequence[Feature], examples: Sequence[QAExample]) -> list[list[int]]:
    """Feature indices grouped by question: a question's passage, its negatives (same question,
    other passages) and every window of a long passage. The n-th reading of an example (a file
    read for several epochs) joins the n-th group of its question, so epochs never merge."""
    reading: list[int] = []
    seen: Counter[str] = Counter()
    for ex in examples:
        reading.append(seen[ex.id])
        seen[ex.id] += 1
    groups: dict[tuple[str, int], list[int]] = {}
    for k, f in enumerate(features):
        key = (examples[f.example].question.strip(), reading[f.example])
        groups.setdefault(key, []).append(k)
    return list(groups.values())


def group_batches(
    features: Sequence[Feature], groups: Sequence[list[int]], size: int, seed: int
) -> list[list[list[int]]]:
    """Batches of whole groups (at most `size` windows; a larger group is cut into pieces of
    `size`), similar lengths together (less padding), in a seeded random order."""
    rng = random.Random(seed)
    pieces = [g[k : k + size] for g in groups for k in range(0, len(g), size)]
    rng.shuffle(pieces)
    longest = [max(len(features[i].window.input_ids) for i in p) for p in pieces]
    out: list[list[list[int]]] = []
    block = size * 50  # windows sorted by length together, as training.batches does
    at = 0
    while at < len(pieces):
        chunk, n = [], 0
        while at < len(pieces) and n < block:
            chunk.append(at)
            n += len(pieces[at])
            at += 1
        chunk.sort(key=lambda i: longest[i])
        batch: list[list[int]] = []
        held = 0  # windows in `batch`
        for i in chunk:
            if batch and held + len(pieces[i]) > size:
                out.append(batch)
                batch, held = [], 0
            batch.append(pieces[i])
            held += len(pieces[i])
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def _group_loss(
    logits: torch.Tensor, rows: list[int], windows: list[Window], gold: list[int]
) -> torch.Tensor:
    """-log of the probability mass on the gold tokens under one softmax over the group's
    passage and [CLS] tokens; the gold is the answer where a window holds it, else every [CLS]."""
    valid = [(r, k) for r, w in zip(rows, windows, strict=True) for k in (0, *w.context)]
    golds = [(r, g) for r, g in zip(rows, gold, strict=True) if g > 0] or [(r, 0) for r in rows]
    every = logits[[r for r, _ in valid], [k for _, k in valid]]
    right = logits[[r for r, _ in golds], [k for _, k in golds]]
    return torch.logsumexp(every, 0) - torch.logsumexp(right, 0)


def shared_loss(
    start_logits: torch.Tensor, end_logits: torch.Tensor, groups: Sequence[Sequence[Feature]]
) -> torch.Tensor:
    """The mean shared-normalisation loss (start and end) over the batch's groups of two or more
    windows, the rows of the batch being the groups' features in order; 0 when there are none."""
    losses: list[torch.Tensor] = []
    row = 0
    start_logits, end_logits = start_logits.float(), end_logits.float()  # bf16 under autocast
    for group in groups:
        rows = list(range(row, row + len(group)))
        row += len(group)
        if len(group) < 2:
            continue
        windows = [f.window for f in group]
        start = _group_loss(start_logits, rows, windows, [f.start for f in group])
        end = _group_loss(end_logits, rows, windows, [f.end for f in group])
        losses.append((start + end) / 2)
    return torch.stack(losses).mean() if losses else start_logits.new_zeros((), dtype=torch.float)
