"""Unanswerable training twins: a question with a year, number or name its passage lacks."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from poleqa.reading.squad import QAExample

# What a question pins its passage down by (SQuAD 2.0's « entity swap » kind of unanswerable):
# a year, another number, a Roman numeral (« phase IV »), or a capitalised name (one or more
# words) past the question's first word. Earlier kinds win where matches overlap.
_KINDS = (
    ("year", re.compile(r"(?<!\d)(?:1[5-9]|20)\d\d(?!\d)")),
    ("number", re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)?(?![\d.,]*\d)")),
    ("roman", re.compile(r"(?<![\w'’])[IVX]{1,4}(?![\w'’])")),
    ("name", re.compile(r"(?<!^)\b[A-ZÀ-ÖØ-Þ][\w'’-]+(?:[ -][A-ZÀ-ÖØ-Þ][\w'’-]*)*")),
)


def _mentions(question: str) -> list[tuple[int, int, str]]:
    """The question's years, numbers, numerals and names, without overlaps: (start, end, kind)."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in _KINDS:
        for m in pattern.finditer(question):
            if not any(s < m.end() and m.start() < e for s, e, _ in found):
                found.append((m.start(), m.end(), kind))
    return sorted(found)


def _holds(context: str, text: str) -> bool:
    """Whether the casefolded passage holds the text as whole words (« 20 » is not in « 2020 »)."""
    return re.search(rf"(?<!\w){re.escape(text.casefold())}(?!\w)", context) is not None


def _pools(examples: Sequence[QAExample]) -> dict[str, list[str]]:
    """Every year, number, numeral and name the questions mention, by kind (what swaps draw)."""
    pools: dict[str, set[str]] = {kind: set() for kind, _ in _KINDS}
    for ex in examples:
        for s, e, kind in _mentions(ex.question):
            pools[kind].add(ex.question[s:e])
    return {kind: sorted(values) for kind, values in pools.items()}


def _replacement(
    kind: str, old: str, folded: str, pools: dict[str, list[str]], rng: random.Random
) -> str | None:
    """A value of the same kind that the casefolded passage does not hold, even inside a longer
    word (stricter than `_holds`: a swap must not land on the passage's own text)."""
    for _ in range(8):
        if kind == "year":
            new = str(int(old) + rng.choice([-1, 1]) * rng.randint(1, 10))
        elif not pools[kind]:
            return None
        else:
            new = rng.choice(pools[kind])
        if new.casefold() != old.casefold() and new.casefold() not in folded:
            return new
    return None


def swapped_negatives(
    examples: Sequence[QAExample], share: float, rng: random.Random
) -> list[QAExample]:
    """Unanswerable twins of answerable examples: the same passage, the question now about a
    year, number or name the passage never mentions (one of the question's, swapped)."""
    if share <= 0:  # draws nothing: earlier recipes keep their random sequence
        return []
    pools = _pools(examples)
    out = []
    for ex in examples:
        if not ex.answerable or rng.random() >= share:
            continue
        folded = ex.context.casefold()
        pinned = [m for m in _mentions(ex.question) if _holds(folded, ex.question[m[0] : m[1]])]
        if not pinned:
            continue
        start, end, kind = rng.choice(pinned)
        new = _replacement(kind, ex.question[start:end], folded, pools, rng)
        if new is not None:
            question = ex.question[:start] + new + ex.question[end:]
            out.append(QAExample(ex.id + "-sw", question, ex.context, (), ex.article, True))
    return out
