"""The training loop on a handful of examples with the real base model: it runs, checkpoints,
resumes, and writes weights the serving code loads (CI never trains a real reader)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest
import torch
from support import MODEL_CACHE

from poleqa.embedding.convert import ensure_st_folder
from poleqa.errors import ReaderError
from poleqa.reading.recipe import Recipe
from poleqa.reading.span_model import SpanModel
from poleqa.reading.squad import GoldSpan, QAExample
from poleqa.reading.training import (
    CHECKPOINT,
    STOPPED,
    featurize,
    main,
    near_miss_negatives,
    training_examples,
    training_plan,
    without_answer,
)
from poleqa.reading.weights import load_reader_state
from poleqa.tokenizer import shared_tokenizer

pytestmark = pytest.mark.slow

CONTEXT = "Le pôle Alpha, créé en 2005 à Lyon, compte 210 membres. Sa présidente est Marie Durand."


def _squad(path: Path) -> Path:
    def qa(i: int, question: str, answer: str | None) -> dict:
        answers = [{"text": answer, "answer_start": CONTEXT.index(answer)}] if answer else []
        return {"id": str(i), "question": question, "answers": answers, "is_impossible": not answer}

    qas = [
        qa(1, "Combien de membres compte le pôle Alpha ?", "210 membres"),
        qa(2, "Qui préside le pôle Alpha ?", "Marie Durand"),
        qa(3, "Où le pôle Alpha a-t-il été créé ?", "Lyon"),
        qa(4, "Quel est le budget du pôle Alpha ?", None),
    ]
    data = {"data": [{"title": "Alpha", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def test_training_runs_resumes_and_writes_loadable_weights(tmp_path: Path) -> None:
    base = ensure_st_folder(MODEL_CACHE)
    data = _squad(tmp_path / "tiny.json")
    args = [
        "--piaf", str(data), "--base", str(base), "--checkpoints", str(tmp_path / "ck"),
        "--out", str(tmp_path / "reader"), "--max-steps", "2", "--save-every", "0",
        "--recipe", '{"batch": 2, "piaf_heldout": 0.0, "fr_negatives": 0.0}',
    ]  # fmt: skip
    main(args)
    step = torch.load(tmp_path / "ck" / CHECKPOINT, weights_only=False)["step"]
    assert step == 2
    manifest, state = load_reader_state(tmp_path / "reader", base.name)
    assert manifest.recipe["batch"] == 2 and manifest.max_length == 256
    assert "qa_outputs.weight" in state and not any(".embeddings." in k for k in state)
    main(args)  # resumes from the checkpoint: the two steps are done, nothing is trained again
    assert torch.load(tmp_path / "ck" / CHECKPOINT, weights_only=False)["step"] == 2
    model = SpanModel.load(base, tmp_path / "reader")
    (span,) = model.read(["Qui préside le pôle Alpha ?"], [CONTEXT])
    assert 0 <= span.start < span.end <= len(CONTEXT)
    # the same checkpoint for other data would resume at a step of another plan: refused
    other = json.loads(data.read_text("utf-8"))
    other["data"][0]["paragraphs"][0]["qas"].pop()
    data.write_text(json.dumps(other, ensure_ascii=False), "utf-8")
    with pytest.raises(ReaderError, match="was made on other training data"):
        main(args)
    assert torch.load(tmp_path / "ck" / CHECKPOINT, weights_only=False)["step"] == 2
    with pytest.raises(ReaderError, match="No checkpoint to export"):
        main([*args[:5], str(tmp_path / "none"), "--out", str(tmp_path / "r2"), "--export-only"])


def test_shared_normalisation_trains_a_question_with_its_negative_together(tmp_path: Path) -> None:
    base = ensure_st_folder(MODEL_CACHE)
    data = _squad(tmp_path / "tiny.json")
    squad = json.loads(data.read_text("utf-8"))
    other = "Le pôle Beta, à Nantes, travaille sur la mer."  # the same question, no answer here
    qa = {"id": "1-other", "question": "Combien de membres compte le pôle Alpha ?", "answers": []}
    squad["data"][0]["paragraphs"].append({"context": other, "qas": [qa]})
    data.write_text(json.dumps(squad, ensure_ascii=False), "utf-8")
    recipe = {"batch": 4, "piaf_heldout": 0.0, "fr_negatives": 0.0, "shared_norm": 1.0}
    args = Namespace(piaf=data, squad1=None, squad2=None, domain=None)
    examples = training_examples(args, Recipe(**recipe))
    feats = featurize(shared_tokenizer(base / "tokenizer.json"), examples, Recipe(**recipe))
    plan = training_plan(feats, examples, Recipe(**recipe))
    assert sorted(len(g) for step in plan for g in step) == [1, 1, 1, 2]  # question 1, twice
    main([
        "--piaf", str(data), "--base", str(base), "--checkpoints", str(tmp_path / "ck"),
        "--out", str(tmp_path / "reader"), "--max-steps", "2", "--save-every", "0",
        "--recipe", json.dumps(recipe),
    ])  # fmt: skip
    manifest, state = load_reader_state(tmp_path / "reader", base.name)
    assert manifest.recipe["shared_norm"] == 1.0
    assert all(torch.isfinite(v.float()).all() for v in state.values())


def test_a_stopped_run_exits_with_its_own_status_and_keeps_its_checkpoint(tmp_path: Path) -> None:
    # SIGTERM mid-run (a session ending): a checkpoint, no weights, and an exit status that is not
    # success, so that a script chaining the steps (bench/reader_chain.sh) does not go on
    base = ensure_st_folder(MODEL_CACHE)
    data = _squad(tmp_path / "tiny.json")
    args = [
        "--piaf", str(data), "--base", str(base), "--checkpoints", str(tmp_path / "ck"),
        "--out", str(tmp_path / "reader"), "--save-every", "600",
        "--recipe", '{"batch": 2, "piaf_heldout": 0.0, "fr_negatives": 0.0, "piaf_epochs": 500}',
    ]  # fmt: skip
    run = subprocess.Popen(
        [sys.executable, "-m", "poleqa.reading.training", *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert run.stderr is not None
    for line in run.stderr:  # the first step's log line: the handler is in place
        if " step 0/" in line:
            break
    run.send_signal(signal.SIGTERM)
    rest = run.communicate(timeout=120)[1]
    assert run.returncode == STOPPED, rest
    assert "run the same command to resume" in rest
    assert torch.load(tmp_path / "ck" / CHECKPOINT, weights_only=False)["step"] >= 1
    assert not (tmp_path / "reader").exists()


def test_near_miss_negatives_cut_the_answer_sentences_out() -> None:
    context = (
        "Le pôle Alpha a été créé en 2005 à Lyon par des industriels de la chimie. "
        "Il compte 210 membres, dont 150 PME. "
        "Sa présidente est Marie Durand depuis 2019, après dix ans de direction scientifique."
    )
    gold = GoldSpan("210 membres", context.index("210 membres"))
    ex = QAExample("q1", "Combien de membres ?", context, (gold,), "Alpha")
    cut = without_answer(ex)
    assert cut is not None and "210" not in cut and "150 PME" not in cut
    assert cut.startswith("Le pôle Alpha a été créé en 2005") and "Marie Durand" in cut
    # the answer written again in another sentence: that one goes too
    again = context + " Les 210 membres se réunissent chaque année en assemblée générale."
    twice = without_answer(QAExample("q2", "Combien ?", again, (gold,), "Alpha"))
    assert twice is not None and twice.rstrip() == cut.rstrip()  # the gap's space may stay
    # nothing worth reading left: no example
    alone = QAExample("q3", "Combien ?", "Il compte 210 membres.", (GoldSpan("210", 10),), "A")
    assert without_answer(alone) is None
    unanswerable = QAExample("q4", "Budget ?", context, (), "Alpha")
    made = near_miss_negatives([ex, alone, unanswerable], 1.0, random.Random(0))
    assert [(m.id, m.answers, m.context) for m in made] == [("q1-nm", (), cut)]
    assert near_miss_negatives([ex], 0.0, random.Random(0)) == []
