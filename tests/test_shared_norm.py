"""Shared normalisation over a question's windows: groups, batches and the loss by hand."""

from __future__ import annotations

import math

import pytest
import torch

from poleqa.reading.shared_norm import group_batches, question_groups, shared_loss
from poleqa.reading.squad import GoldSpan, QAExample
from poleqa.reading.windows import Feature, Window


def _window(length: int, context: tuple[int, ...]) -> Window:
    return Window(0, tuple(range(length)), tuple((k, k + 1) for k in range(length)), context)


def _example(id_: str, question: str, answered: bool = True) -> QAExample:
    answers = (GoldSpan("x", 0),) if answered else ()
    return QAExample(id_, question, "contexte", answers, "art")


def test_a_question_its_negative_and_its_long_passage_share_a_group() -> None:
    examples = [
        _example("q1", "Qui ?"),
        _example("q1-neg", " Qui ? ", answered=False),  # the same question, another passage
        _example("q2", "Quand ?"),
        _example("q1", "Qui ?"),  # q1 read again (a second epoch): a group of its own
    ]
    w = _window(8, (4, 5, 6))
    feats = [Feature(w, 0, 0, e) for e in (0, 0, 1, 2, 3)]  # q1's passage gives two windows
    assert question_groups(feats, examples) == [[0, 1, 2], [3], [4]]


def test_batches_keep_groups_whole_and_cut_only_groups_larger_than_a_batch() -> None:
    feats = [Feature(_window(4 + k % 7, (2, 3)), 0, 0, k) for k in range(40)]
    groups = [list(range(k, min(k + 3, 30))) for k in range(0, 30, 3)] + [list(range(30, 40))]
    steps = group_batches(feats, groups, 4, seed=1)
    pieces = [tuple(g) for step in steps for g in step]
    assert all(sum(map(len, step)) <= 4 for step in steps)
    assert sorted(i for p in pieces for i in p) == list(range(40))  # every window, once
    assert all(tuple(g) in pieces for g in groups[:10])  # groups of 3 are never cut
    assert steps == group_batches(feats, groups, 4, seed=1)  # seeded


def test_the_loss_is_minus_log_the_gold_share_of_one_softmax_over_the_group() -> None:
    w = _window(5, (3, 4))  # [CLS] at 0, question tokens 1-2, passage tokens 3-4
    start = torch.tensor([[0.0, 9.0, 9.0, 1.0, 2.0], [1.0, 9.0, 9.0, 0.0, 3.0]])
    end = torch.zeros(2, 5)
    answered = [[Feature(w, 4, 4, 0), Feature(w, 0, 0, 1)]]  # the answer in the first window
    # start: over [CLS] 0, 1, 2 and [CLS] 1, 0, 3 (question tokens never count)
    every = math.log(sum(math.exp(x) for x in (0, 1, 2, 1, 0, 3)))
    want_start, want_end = every - 2.0, math.log(6) - 0.0
    got = shared_loss(start, end, answered).item()
    assert got == pytest.approx((want_start + want_end) / 2, abs=1e-5)
    unanswerable = [[Feature(w, 0, 0, 0), Feature(w, 0, 0, 1)]]  # gold: either [CLS]
    want_start = every - math.log(math.exp(0) + math.exp(1))
    want_end = math.log(6) - math.log(2)
    got = shared_loss(start, end, unanswerable).item()
    assert got == pytest.approx((want_start + want_end) / 2, abs=1e-5)


def test_single_windows_add_nothing() -> None:
    w = _window(5, (3, 4))
    logits = torch.randn(2, 5)
    singles = [[Feature(w, 3, 3, 0)], [Feature(w, 0, 0, 1)]]
    assert shared_loss(logits, logits, singles).item() == 0.0
