"""The trained reader's windows: answer tokens, the best span of a window, padding, and the
shipped weights' packing and checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support import ALPHA_PASSAGE as PASSAGE

from poleqa.errors import ReaderError
from poleqa.reading.weights import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    dequantize,
    load_reader_state,
    quantize,
    save_reader,
)
from poleqa.reading.windows import Window, answer_tokens, best_span, pad_batch


def _window() -> Window:
    """A hand-made window: [CLS] q q [SEP] then one token per word of PASSAGE."""
    offsets = [(0, 0), (0, 3), (4, 9), (0, 0)]
    pos = 0
    for word in PASSAGE.split(" "):
        start = PASSAGE.index(word, pos)
        offsets.append((start, start + len(word)))
        pos = start + len(word)
    ids = tuple(range(5, 5 + len(offsets)))
    return Window(0, ids, tuple(offsets), tuple(range(4, len(offsets))))


def test_answer_tokens_map_characters_to_tokens_and_back() -> None:
    w = _window()
    start = PASSAGE.index("210 membres")
    s, e = answer_tokens(w, start, start + len("210 membres"))
    assert PASSAGE[w.offsets[s][0] : w.offsets[e][1]] == "210 membres"
    assert answer_tokens(w, len(PASSAGE) + 5, len(PASSAGE) + 9) == (0, 0)  # not in the window


def test_best_span_is_bounded_and_skips_the_prefix() -> None:
    w = _window()
    n = len(w.input_ids)
    start, end = np.full(n, -5.0), np.full(n, -5.0)
    start[0] = end[0] = 1.0  # the no-answer option
    durand = next(k for k in w.context if PASSAGE[w.offsets[k][0] :].startswith("Marie"))
    start[durand], end[durand + 1] = 4.0, 3.0
    span = best_span(w, start, end)
    assert PASSAGE[span.start : span.end] == "Marie Durand."
    assert span.score == 7.0 and span.null_score == 2.0
    # an end before its start, or a span longer than allowed, is never chosen
    assert best_span(w, start, end, max_answer_tokens=1).end - span.start < len("Marie Durand.")
    # nothing before first_char may be chosen
    late = best_span(w, start, end, first_char=PASSAGE.index("Durand"))
    assert PASSAGE[late.start : late.end] == "Durand."
    assert best_span(w, start, end, first_char=len(PASSAGE)).score == float("-inf")


def test_best_span_may_open_on_the_token_that_holds_the_titles_newline() -> None:
    # the tokenizer reads « Titre\nMinalogic » as … « \nMina » « logic »: the first word's
    # token starts on the newline, before `first_char`; it was refused, and « logic » answered
    text = "Le titre\nMinalogic est à Grenoble."
    offsets = ((0, 0), (0, 2), (2, 8), (8, 13), (13, 18), (18, 22), (22, 24), (24, 34))
    w = Window(0, tuple(range(5, 5 + len(offsets))), offsets, tuple(range(1, len(offsets))))
    start, end = np.full(len(offsets), -5.0), np.full(len(offsets), -5.0)
    start[3], end[4] = 6.0, 5.0  # « \nMina » … « logic »
    span = best_span(w, start, end, first_char=text.index("Mina"))
    assert text[span.start : span.end] == "Minalogic" and span.score == 11.0
    # every pair is an end before its start: no span, not the arbitrary first pair
    start[:], end[:] = -5.0, -5.0
    start[7], end[3] = 6.0, 5.0
    assert best_span(w, start, end, first_char=9, top_k=1).score == float("-inf")


def test_best_span_stays_within_its_paragraph() -> None:
    # « 4 pôles de compétitivité en région Centre\n\n4 pôles » answered a seed question: a
    # heading and the first words of the paragraph under it
    text = "Titre\n\n4 pôles ici."
    offsets = ((0, 0), (0, 5), (5, 7), (7, 8), (9, 14), (15, 20))
    paragraphs = (0, 0, 0, 1, 1, 1)
    w = Window(0, tuple(range(5, 11)), offsets, (1, 2, 3, 4, 5), paragraphs)
    start, end = np.full(6, -5.0), np.full(6, -5.0)
    start[1], end[4] = 6.0, 5.0  # « Titre … 4 pôles »: the best pair, over the blank line
    end[1] = 1.0
    span = best_span(w, start, end)
    assert text[span.start : span.end] == "Titre" and span.score == 7.0
    # a window that does not know its paragraphs (training's own) reads as before
    unknown = Window(0, w.input_ids, offsets, w.context)
    assert best_span(unknown, start, end).score == 11.0


def test_pad_batch_pads_to_the_longest_window() -> None:
    short = Window(0, (0, 7, 2), ((0, 0),) * 3, ())
    ids, mask = pad_batch([short, _window()])
    assert ids.shape == mask.shape == (2, len(_window().input_ids))
    assert mask[0].sum() == 3 and ids[0, 3] == 1  # XLM-R's <pad>


def test_weights_round_trip_and_checks(tmp_path: Path) -> None:
    torch.manual_seed(0)
    state = {"layer.weight": torch.randn(8, 16), "layer.bias": torch.randn(8)}
    packed = quantize(state)
    assert packed["layer.weight"].dtype == torch.int8
    back = dequantize(packed)
    assert torch.allclose(back["layer.weight"], state["layer.weight"], atol=0.03)
    save_reader(tmp_path, state, "base-a", 256, 96, {"lr": 1e-4}, {"f1": 0.5})
    manifest, loaded = load_reader_state(tmp_path, "base-a")
    assert manifest.max_length == 256 and manifest.recipe == {"lr": 1e-4}
    assert torch.allclose(loaded["layer.bias"], state["layer.bias"], atol=1e-2)
    with pytest.raises(ReaderError, match="trained on base model base-a"):
        load_reader_state(tmp_path, "base-b")
    weights = tmp_path / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(ReaderError, match="do not match their manifest"):
        load_reader_state(tmp_path, "base-a")
    (tmp_path / MANIFEST_FILE).unlink()
    with pytest.raises(ReaderError, match="No usable reader manifest"):
        load_reader_state(tmp_path, "base-a")
