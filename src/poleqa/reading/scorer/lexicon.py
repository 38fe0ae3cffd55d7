"""The sentence scorer's word lists: text files of data/lexicon/, one item a line, read once."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources

from poleqa.text import stems


@cache
def words(name: str) -> tuple[str, ...]:
    """The items of data/lexicon/NAME.txt, in order: one a line, blank lines and `#` comments
    (a whole line, or after " #") left out, spaces around an item stripped."""
    path = resources.files("poleqa").joinpath(f"data/lexicon/{name}.txt")
    items = (line.split(" #", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return tuple(item for item in items if item and not item.startswith("#"))


def stem_set(name: str, *, keep_stopwords: bool = False) -> frozenset[str]:
    """The stems of a word list's items."""
    return frozenset(stems(" ".join(words(name)), keep_stopwords=keep_stopwords))


def groups(
    name: str, norm: Callable[[str], Iterable[str]] = str.split
) -> tuple[tuple[str, ...], ...]:
    """A list of groups, one a line (its items split by `norm`: on spaces by default)."""
    return tuple(tuple(norm(line)) for line in words(name))


def alternation(name: str, norm: Callable[[str], str] = lambda w: w) -> str:
    """A regex group `(?:a|b|…)` matching any item (after `norm`), tried in the file's order."""
    items = dict.fromkeys(norm(w) for w in words(name))
    return "(?:" + "|".join(re.escape(w) for w in items) + ")"
