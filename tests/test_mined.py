"""Reader-mined negatives (reading.mined): the real retrieval and the shipped reader on the seed
corpus keep only the set's own documents, never a passage holding the answer, and only the
passages the reader answers from; the SQuAD file they make reads back as « no answer »."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import ARA, build_seed_index

from poleqa.config import Settings
from poleqa.evaluation.questions import Question
from poleqa.pipeline import Pipeline
from poleqa.reading import load_span_model
from poleqa.reading.mined import MinedNegative, mine, to_squad
from poleqa.reading.squad import read_squad
from poleqa.reading.trained import TrainedReader
from poleqa.text import fold

QUESTION = Question("q", "Combien de pôles compte la Région ?", ("13 pôles",), ("a.md",), True)


def test_the_squad_file_numbers_each_question_s_negatives_and_marks_them_unanswerable(
    tmp_path: Path,
) -> None:
    other = Question("u", "Qui préside le pôle ?", (), ("a.md",), False, "unanswerable")
    mined = [
        MinedNegative(QUESTION, "Titre\nUn passage.", 3.0),
        MinedNegative(QUESTION, "Titre\nUn autre passage.", 1.0),
        MinedNegative(other, "Titre\nUn passage.", 2.0),
    ]
    path = tmp_path / "mined.json"
    path.write_text(json.dumps(to_squad(mined), ensure_ascii=False), "utf-8")
    examples = read_squad(path)
    assert [e.id for e in examples] == ["q-mined1", "q-mined2", "u-mined1"]
    assert [e.context for e in examples] == [m.context for m in mined]
    assert all(e.impossible and not e.answerable for e in examples)


@pytest.mark.slow
def test_negatives_are_own_passages_without_the_answer_that_the_reader_answers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    corpus, index, cache = build_seed_index(tmp_path_factory)
    settings = Settings(corpus_dir=corpus, index_dir=index, cache_dir=cache, reader="sentences")
    pipeline = Pipeline(settings)
    reader = TrainedReader(load_span_model(settings), 6)
    # written for this test (b about a made-up pôle); all cite only the regional document, so
    # the other seed documents, which retrieval also brings, must lend nothing
    questions = [
        Question("a", "Combien de pôles compte la Région ?", ("13",), (ARA,), True),
        Question("b", "Qui préside le pôle Brisevent ?", (), (ARA,), False),
        Question("c", "Combien de salariés ont les adhérents de ces pôles ?", (), (ARA,), False),
    ]
    negatives = mine(questions, pipeline, reader, depth=6, per_question=2)
    assert negatives, "the reader answers some near miss of three questions in six passages each"
    title = pipeline.index.documents[ARA].info.title
    for m in negatives:
        assert m.context.startswith(f"{title}\n")
        assert not any(fold(a) in fold(m.context) for a in m.question.answers)
        assert m.margin > 0
    for q in questions:
        margins = [m.margin for m in negatives if m.question is q]
        assert len(margins) <= 2 and margins == sorted(margins, reverse=True)
