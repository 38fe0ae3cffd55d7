"""Unanswerable training twins: a question with a year, number, name or noun its passage lacks."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

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


# What a question asks about by a common noun (« combien de *salariés* », « qui est le
# *trésorier* », « the *budget* of »): a lowercase word of four letters or more after an article,
# « de » or « of » (its slot). A twin asking about a noun its passage never uses is the « wrong
# role, wrong quantity » near miss that year and name swaps do not make. Replacements come from
# the same slot of other questions, so that gender, number and elision still agree: a twin that
# only bad grammar gives away would teach the reader that, not the missing noun.
_NOUN = re.compile(
    r"\b((?i:les?|la|du|des|de|une?|the|of)\s+|(?i:[ld])['’])([a-zà-öø-ÿ][a-zà-öø-ÿ-]{3,})"
)


# A question's mentions of one family: (start, end, kind) for each
Mentions = Callable[[str], list[tuple[int, int, str]]]


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


def _pools(examples: Sequence[QAExample], mentions: Mentions) -> dict[str, list[str]]:
    """Every value the questions mention, by kind (what swaps draw from)."""
    pools: dict[str, set[str]] = {}
    for ex in examples:
        for s, e, kind in mentions(ex.question):
            pools.setdefault(kind, set()).add(ex.question[s:e])
    return {kind: sorted(values) for kind, values in pools.items()}


def _replacement(
    kind: str, old: str, folded: str, pools: dict[str, list[str]], rng: random.Random
) -> str | None:
    """A value of the same kind that the casefolded passage does not hold, even inside a longer
    word (stricter than `_holds`: a swap must not land on the passage's own text)."""
    for _ in range(8):
        if kind == "year":
            new = str(int(old) + rng.choice([-1, 1]) * rng.randint(1, 10))
        elif not pools.get(kind):
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
    return _twins(examples, share, rng, _mentions, "-sw")


def _nouns(question: str) -> list[tuple[int, int, str]]:
    """The question's nouns after an article, « de » or « of »: (start, end, slot)."""
    out = []
    for m in _NOUN.finditer(question):
        slot = m.group(1).casefold().replace("’", "'").rstrip()
        out.append((m.start(2), m.end(2), slot))
    return out


def noun_swaps(examples: Sequence[QAExample], share: float, rng: random.Random) -> list[QAExample]:
    """Unanswerable twins of answerable examples: one of the question's nouns that its passage
    holds replaced by a noun in the same slot of another training question that the passage
    never holds."""
    return _twins(examples, share, rng, _nouns, "-ns")


def _twins(
    examples: Sequence[QAExample],
    share: float,
    rng: random.Random,
    mentions: Mentions,
    suffix: str,
) -> list[QAExample]:
    """For a `share` of the answerable examples, one mention the passage holds swapped for a
    value of its kind the passage lacks; the twin is labelled « no answer »."""
    if share <= 0:  # draws nothing: earlier recipes keep their random sequence
        return []
    pools = _pools(examples, mentions)
    out = []
    for ex in examples:
        if not ex.answerable or rng.random() >= share:
            continue
        folded = ex.context.casefold()
        pinned = [m for m in mentions(ex.question) if _holds(folded, ex.question[m[0] : m[1]])]
        if not pinned:
            continue
        start, end, kind = rng.choice(pinned)
        new = _replacement(kind, ex.question[start:end], folded, pools, rng)
        if new is not None:
            question = ex.question[:start] + new + ex.question[end:]
            out.append(QAExample(ex.id + suffix, question, ex.context, (), ex.article, True))
    return out
