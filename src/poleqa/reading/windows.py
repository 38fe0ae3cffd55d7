"""Question + passage → token windows, and window logits → best spans (training and serving)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from poleqa.errors import ReaderError
from poleqa.tokenizer import SharedTokenizer

MAX_LENGTH = 256  # tokens per window (question + passage); measured in docs/reader.md
STRIDE = 96  # tokens shared by consecutive windows of one passage
# A question is read cut to its first 64 tokens (SQuAD's reference scripts cut at 64 too): whole,
# a question of a few hundred characters left a window no room beyond the stride (25 windows a
# passage, then the tokenizer fails). The longest question of every set here has 55 tokens.
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 40
TOP_K = 20  # start and end candidates examined per window
PAD_ID = 1  # XLM-R's <pad>
SPECIAL_TOKENS = 4  # <s> question </s></s> passage </s>
# A blank line ends a paragraph (a heading, a table, a list): an answer never runs over one.
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def title_prefix(title: str) -> str:
    """What the reader reads before each passage: its document's title and a line break (the
    in-domain training files are cut the same way: reading.domain_data, reading.mined)."""
    return f"{title}\n"


@dataclass(frozen=True)
class Window:
    """One tokenised (question, passage) window: `offsets[i]` are passage characters of token i.

    `context` lists the token positions that belong to the passage; `item` is the index of the
    (question, passage) pair the window came from.
    """

    item: int
    input_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    context: tuple[int, ...]
    # per token, the paragraph of the passage its last character is in (blank lines count
    # them); () when unknown: a span may then run over paragraphs
    paragraphs: tuple[int, ...] = ()


@dataclass(frozen=True)
class Feature:
    """One training window (reading.training): its gold start and end tokens ([CLS], 0, when
    it lacks the answer) and the index of the example it was cut from."""

    window: Window
    start: int
    end: int
    example: int


@dataclass(frozen=True)
class SpanScore:
    """The best span of one window: passage character offsets and logit scores."""

    item: int
    start: int
    end: int
    score: float  # start logit + end logit of the span
    null_score: float  # start + end logit of the [CLS] token (SQuAD 2.0 no-answer option)


def tokenize(
    tokenizer: SharedTokenizer,
    questions: Sequence[str],
    passages: Sequence[str],
    max_length: int = MAX_LENGTH,
    stride: int = STRIDE,
    paragraphs: bool = False,
) -> list[Window]:
    """Windows over each passage (several when it is longer than a window), unpadded; each
    question cut to MAX_QUESTION_TOKENS, or shorter where the window would leave its passage no
    more than the stride. `paragraphs`: each token's paragraph noted (for reading: training
    labels its spans itself and would only hold them)."""
    budget = min(MAX_QUESTION_TOKENS, max_length - SPECIAL_TOKENS - stride - 1)
    if budget < 1:
        raise ReaderError(
            f"Windows of {max_length} tokens sharing {stride} leave no room for a question: "
            "the stride must be smaller."
        )
    cut = tokenizer.cut([q.strip() for q in questions], budget)
    pairs = tokenizer.encode_pairs(cut, passages, max_length, stride)
    breaks = [[m.end() for m in _BLANK_LINE.finditer(p)] for p in passages] if paragraphs else []
    return [
        Window(
            item=item,
            input_ids=tuple(enc.ids),
            offsets=tuple(tuple(o) for o in enc.offsets),
            context=tuple(k for k, sid in enumerate(enc.sequence_ids) if sid == 1),
            # by its last character: a paragraph's first token holds the newlines before it
            paragraphs=tuple(bisect_right(breaks[item], max(a, b - 1)) for a, b in enc.offsets)
            if paragraphs
            else (),
        )
        for item, enc in pairs
    ]


def answer_tokens(window: Window, start_char: int, end_char: int) -> tuple[int, int]:
    """Token positions of an answer's characters in the window, or (0, 0) if it is not inside."""
    ctx = window.context
    if not ctx:
        return 0, 0
    offs = window.offsets
    if offs[ctx[0]][0] > start_char or offs[ctx[-1]][1] < end_char:
        return 0, 0
    start = next(k for k in ctx if offs[k][1] > start_char)
    end = next(k for k in reversed(ctx) if offs[k][0] < end_char)
    return (start, end) if start <= end else (0, 0)


def pad_batch(windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
    """input_ids and attention_mask padded to the longest window of the batch."""
    width = max(len(w.input_ids) for w in windows)
    ids = np.full((len(windows), width), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for row, w in enumerate(windows):
        ids[row, : len(w.input_ids)] = w.input_ids
        mask[row, : len(w.input_ids)] = 1
    return ids, mask


def best_span(
    window: Window,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    first_char: int = 0,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
    top_k: int = TOP_K,
) -> SpanScore:
    """The highest-scoring span in the passage part of a window, after `first_char` (a span
    ends after it starts, within max_answer_tokens and its paragraph); score -inf when the
    window has none.

    A token counts when it ends after `first_char`, its start clamped to it: the tokenizer
    joins the newline after the title to the passage's first word (« \\nMina »), and training
    labels an answer that opens the passage on that token; requiring the token to start after
    the title left such answers only their second token (« logic » for « Minalogic »)."""
    ctx = np.asarray(
        [k for k in window.context if window.offsets[k][1] > first_char], dtype=np.int64
    )
    null = float(start_logits[0] + end_logits[0])
    if ctx.size == 0:
        return SpanScore(window.item, 0, 0, float("-inf"), null)
    starts = ctx[np.argsort(-start_logits[ctx])[:top_k]]
    ends = ctx[np.argsort(-end_logits[ctx])[:top_k]]
    pair = start_logits[starts][:, None] + end_logits[ends][None, :]
    length = ends[None, :] - starts[:, None]
    fits = (length >= 0) & (length < max_answer_tokens)
    if window.paragraphs:  # « Titre de section\n\n4 pôles » is no answer: two paragraphs
        paragraph = np.asarray(window.paragraphs, dtype=np.int64)
        fits &= paragraph[starts][:, None] == paragraph[ends][None, :]
    pair = np.where(fits, pair, -np.inf)
    s_i, e_i = np.unravel_index(int(np.argmax(pair)), pair.shape)
    if not np.isfinite(pair[s_i, e_i]):  # no pair is a span (every end before its start)
        return SpanScore(window.item, 0, 0, float("-inf"), null)
    s, e = int(starts[s_i]), int(ends[e_i])
    start = max(window.offsets[s][0], first_char)
    return SpanScore(window.item, start, window.offsets[e][1], float(pair[s_i, e_i]), null)
