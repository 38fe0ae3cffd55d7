"""One tokenizer per process: the query embedder and the span model share it, each call with its
own settings, and the windows are those of transformers' tokenizer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import MODEL_CACHE
from transformers import AutoTokenizer

from poleqa.embedding import get_embedder
from poleqa.embedding.convert import ensure_st_folder
from poleqa.errors import PoleqaError, ReaderError
from poleqa.reading import shipped_reader
from poleqa.reading.span_model import SpanModel
from poleqa.reading.windows import MAX_QUESTION_TOKENS, tokenize
from poleqa.tokenizer import shared_tokenizer

pytestmark = pytest.mark.slow

QUESTIONS = ("Combien d'adhérents compte le pôle Vitalis ?", "Qui préside le pôle Hydra en 2023 ?")
PASSAGES = (
    "Le pôle Vitalis a été fondé en 2007 à Rennes. Il rassemble 240 adhérents. " * 30,  # windows
    "Créé en 2011, le pôle Hydra accompagne les entreprises de l'eau en Occitanie.",
)


def test_the_embedder_and_the_span_model_hold_one_tokenizer() -> None:
    base = ensure_st_folder(MODEL_CACHE)
    embedder = get_embedder("onnx", cache_dir=MODEL_CACHE, threads=1)
    embedder.embed_queries(["warm-up"])
    _, ours, _ = embedder._load()
    assert SpanModel.load(base, shipped_reader()).tokenizer is ours
    assert shared_tokenizer(base / "tokenizer.json") is ours


def test_windows_are_those_of_transformers_tokenizer() -> None:
    base = ensure_st_folder(MODEL_CACHE)
    reference = AutoTokenizer.from_pretrained(str(base))
    ours = shared_tokenizer(base / "tokenizer.json")
    for length, stride in ((256, 96), (64, 16)):
        enc = reference(
            list(QUESTIONS),
            list(PASSAGES),
            truncation="only_second",
            max_length=length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        windows = tokenize(ours, QUESTIONS, PASSAGES, length, stride)
        assert len(windows) == len(enc["input_ids"]) > len(QUESTIONS)  # the long passage overflows
        for i, w in enumerate(windows):
            assert w.item == enc["overflow_to_sample_mapping"][i]
            assert list(w.input_ids) == enc["input_ids"][i]
            assert [tuple(o) for o in w.offsets] == [tuple(o) for o in enc["offset_mapping"][i]]
            assert w.context == tuple(k for k, s in enumerate(enc.sequence_ids(i)) if s == 1)


def test_calls_with_other_settings_from_many_threads_do_not_mix() -> None:
    shared = shared_tokenizer(ensure_st_folder(MODEL_CACHE) / "tokenizer.json")
    texts = [f"query: {q}" for q in QUESTIONS] + [f"passage: {p}" for p in PASSAGES]

    def texts_ids() -> list[list[int]]:
        return [e.ids for e in shared.encode_texts(texts, 32, 1)]

    def pair_ids() -> list[list[int]]:
        return [list(w.input_ids) for w in tokenize(shared, QUESTIONS, PASSAGES, 64, 16)]

    alone = (texts_ids(), pair_ids())
    assert {len(ids) for ids in alone[0]} == {32}  # cut and padded to 32
    with ThreadPoolExecutor(8) as pool:
        calls = [pool.submit(texts_ids if k % 2 else pair_ids) for k in range(64)]
        for k, call in enumerate(calls):
            assert call.result() == alone[0 if k % 2 else 1]


def test_an_unreadable_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(PoleqaError, match="Cannot load the tokenizer"):
        shared_tokenizer(bad)
    with pytest.raises(PoleqaError, match="Cannot read the tokenizer"):
        shared_tokenizer(tmp_path / "missing.json")


def test_a_question_is_read_cut_to_its_first_tokens_and_leaves_the_passage_its_room() -> None:
    # whole, a question of a few hundred characters left each window no room beyond the stride
    # (25 windows a passage, then a tokenizer panic, then « Truncation error »)
    shared = shared_tokenizer(ensure_st_folder(MODEL_CACHE) / "tokenizer.json")
    long_question = ("Combien d'adhérents le pôle Vitalis comptait-il à Rennes en 2007, " * 40)[
        :2000
    ]
    (cut,) = shared.cut([long_question], MAX_QUESTION_TOKENS)
    assert long_question.startswith(cut) and len(cut) < len(long_question)
    assert len(shared.cut([cut + " x"], 10_000)[0]) == len(cut) + 2  # under the limit: whole
    assert len(shared.backend.encode(cut, add_special_tokens=False).ids) == MAX_QUESTION_TOKENS
    # the question takes at most 64 tokens, fewer where the window would leave the passage no
    # more than the stride: 64 - 4 special tokens - 16 - 1 = 43
    for length, stride, budget in ((256, 96, MAX_QUESTION_TOKENS), (64, 16, 43)):
        windows = tokenize(shared, [long_question], [PASSAGES[0]], length, stride)
        precut = shared.cut([long_question], budget)
        assert windows == tokenize(shared, precut, [PASSAGES[0]], length, stride)
        for w in windows:
            assert len(w.input_ids) <= length and len(w.context) > stride
    with pytest.raises(ReaderError, match="leave no room for a question"):
        tokenize(shared, QUESTIONS, PASSAGES, 64, 59)


def test_windows_know_the_paragraph_of_each_passage_token() -> None:
    # a span never runs over a blank line (a heading and the paragraph under it): the windows
    # say which paragraph each passage token starts in
    base = ensure_st_folder(MODEL_CACHE)
    passage = "4 pôles en région Centre\n\n4 pôles ont leur siège en région.\n \nFin."
    tokenizer = shared_tokenizer(base / "tokenizer.json")
    (window,) = tokenize(tokenizer, ["Quels pôles ?"], [passage], paragraphs=True)
    assert tokenize(tokenizer, ["Quels pôles ?"], [passage])[0].paragraphs == ()  # training's
    by_paragraph: dict[int, str] = {}
    for k in window.context:
        start, end = window.offsets[k]
        by_paragraph[window.paragraphs[k]] = (
            by_paragraph.get(window.paragraphs[k], "") + (passage[start:end])
        )
    assert {p: "".join(text.split()) for p, text in by_paragraph.items()} == {
        0: "4pôlesenrégionCentre",
        1: "4pôlesontleursiègeenrégion.",
        2: "Fin.",
    }
