"""The learned passage ranker: its file checked on load, its order, and on the real seed index."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from poleqa.config import Settings
from poleqa.errors import QuestionSetError, RankerError
from poleqa.evaluation.metrics import holds_answer
from poleqa.evaluation.questions import load_questions
from poleqa.index import Index
from poleqa.index.origin import work_index
from poleqa.linear import Linear
from poleqa.pipeline import Pipeline
from poleqa.ranking import (
    DEPTH,
    FEATURES,
    RANKER_FILE,
    PassageRanker,
    passage_features,
    ranker_for,
    ranker_id,
    shipped_ranker,
)
from poleqa.ranking_fit import main as fit_main
from poleqa.reading.judge import check_fit

REPO = Path(__file__).resolve().parents[1]


def _ranker(weights: list[float], bias: float = 0.0) -> PassageRanker:
    n = len(FEATURES)
    return PassageRanker(Linear(tuple(weights), bias, (0.0,) * n, (1.0,) * n), {})


def _body(**changes: object) -> dict:
    body = shipped_ranker().to_json()
    body.update(changes)
    return body


def test_the_shipped_ranker_loads_with_every_feature_and_what_it_was_fit_on() -> None:
    ranker = shipped_ranker()
    assert len(ranker.linear.weights) == len(FEATURES) == 10
    assert ranker.meta["fit_on"] and ranker.meta["holding_answer"] > 0
    assert ranker_id(ranker) == ranker_id(PassageRanker.load(RANKER_FILE))
    fit_under = ranker.meta["embedder"]
    assert ranker_for(Settings(), fit_under) is ranker
    assert ranker_for(Settings(rerank=False), fit_under) is None


def test_an_index_of_another_embedder_is_read_in_the_fused_order(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="poleqa.ranking"):
        assert ranker_for(Settings(), "another-embedder") is None
    assert "fused order" in caplog.text
    assert ranker_id(None) is None


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"features": ["fused"]}, "other features"),
        ({"weights": [1.0] * 3}, "is damaged"),
        ({"bias": float("nan")}, "is damaged"),
        ({"scale": [0.0] * len(FEATURES)}, "is damaged"),
        ({"weights": "x"}, "is damaged"),
    ],
)
def test_a_damaged_or_foreign_ranker_is_refused_naming_the_refit(changes, said) -> None:
    with pytest.raises(RankerError, match=said) as e:
        PassageRanker.from_json(_body(**changes), "r.json")
    assert "python -m poleqa.ranking_fit" in e.value.message


def test_an_unreadable_ranker_file_is_a_ranker_error(tmp_path: Path) -> None:
    bad = tmp_path / "r.json"
    bad.write_text("{not json", "utf-8")
    with pytest.raises(RankerError, match="Cannot read"):
        PassageRanker.load(bad)
    bad.write_text("[1, 2]", "utf-8")
    with pytest.raises(RankerError, match="not a JSON object"):
        PassageRanker.load(bad)
    bad.write_bytes(json.dumps(shipped_ranker().to_json()).encode())
    assert PassageRanker.load(bad) == shipped_ranker()


@pytest.fixture(scope="module")
def seed(seed_index) -> tuple[Pipeline, list]:
    corpus, index_dir, cache = seed_index
    settings = Settings(corpus_dir=corpus, index_dir=index_dir, cache_dir=cache, reader="sentences")
    questions = [q for q in load_questions(REPO / "eval" / "seeds.jsonl") if q.answerable]
    return Pipeline(settings.with_(rerank=False)), questions


def test_features_on_the_real_index_are_one_finite_row_per_passage(seed) -> None:
    fused, questions = seed
    query = fused.query(questions[0].question)
    hits = fused.retrieve(query, k=DEPTH)
    rows = passage_features(fused.index, query, hits)
    assert rows.shape == (len(hits), len(FEATURES)) and np.isfinite(rows).all()
    by_name = dict(zip(FEATURES, rows.T, strict=True))
    assert by_name["fused"][0] == 0 and (by_name["fused"] <= 0).all()
    assert by_name["inv_rank"][0] == 1.0 and by_name["sentence_lead"].max() == 0
    assert ((by_name["sentence"] > 0.5) & (by_name["sentence"] <= 1.0 + 1e-6)).all()


def test_the_ranker_reorders_the_fused_first_passages_and_numbers_them_again(seed) -> None:
    fused, questions = seed
    ranked = Pipeline(replace(fused.settings, rerank=True))
    for q in questions[:10]:
        query = fused.query(q.question)
        pool = fused.retrieve(query, k=DEPTH)
        hits = ranked.retrieve(query, k=5)
        assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
        assert {h.chunk.id for h in hits} <= {h.chunk.id for h in pool}
        scores = shipped_ranker().scores(passage_features(fused.index, query, pool))
        assert [h.chunk.id for h in hits] == [pool[i].chunk.id for i in np.argsort(-scores)[:5]]
        # the fused score stays with its passage (the judge reads its gaps)
        fused_score = {h.chunk.id: h.score for h in pool}
        assert all(h.score == fused_score[h.chunk.id] for h in hits)


def test_the_ranker_reads_the_answer_passage_at_least_as_often_on_the_seed_questions(seed) -> None:
    fused, questions = seed
    ranked = Pipeline(replace(fused.settings, rerank=True))

    def found(pipe: Pipeline) -> int:
        return sum(
            any(holds_answer(h.chunk.text, q.answers) for h in pipe.search(q.question, k=4))
            for q in questions
        )

    assert found(ranked) >= found(fused)


def test_past_the_depth_the_fused_order_follows_so_k_changes_nothing_read_first(seed) -> None:
    fused, questions = seed
    ranked = Pipeline(replace(fused.settings, rerank=True))
    for q in questions[:5]:
        query = fused.query(q.question)
        wide, narrow = ranked.retrieve(query, k=DEPTH + 10), ranked.retrieve(query, k=DEPTH)
        assert [h.chunk.id for h in wide[:DEPTH]] == [h.chunk.id for h in narrow]
        tail = fused.retrieve(query, k=DEPTH + 10)[DEPTH:]
        assert [h.chunk.id for h in wide[DEPTH:]] == [h.chunk.id for h in tail]
        assert [h.rank for h in wide] == list(range(1, len(wide) + 1))


def test_without_sentence_vectors_the_fused_order_is_kept(seed) -> None:
    fused, questions = seed
    query = fused.query(questions[0].question)
    pool = fused.retrieve(query, k=DEPTH)

    class NoVectors:
        has_sentence_vectors = False

    index: Index = NoVectors()  # type: ignore[assignment]
    reversed_ranker = _ranker([0.0, 0.0, 0.0, -1.0] + [0.0] * (len(FEATURES) - 4))
    assert reversed_ranker.rerank(index, query, pool, 4) == pool[:4]
    got = reversed_ranker.rerank(fused.index, query, pool, 4)
    assert [h.chunk.id for h in got] == [h.chunk.id for h in pool[::-1][:4]]


def test_a_judge_fit_under_another_passage_order_only_warns(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="poleqa.reading"):
        check_fit("judge.json", {"ranker": None}, {"ranker": "abc"}, "refit it")
    assert "less well calibrated (refit it)" in caplog.text
    caplog.clear()
    # the fused order chosen for this run (--passage-order fused): said as such, nothing to refit
    with caplog.at_level(logging.WARNING, logger="poleqa.reading"):
        check_fit("judge.json", {"ranker": "abc"}, {"ranker": None}, "refit it")
    assert caplog.messages == [
        "judge.json was fit with the passages in the learned order; this run reads them in the "
        "fused order: its scores are less well calibrated."
    ]


def test_ranking_fit_writes_a_ranker_that_loads(seed_index, tmp_path: Path) -> None:
    corpus, index_dir, _ = seed_index
    work = tmp_path / "work"
    work.mkdir()
    work_index(work, str(corpus)).symlink_to(index_dir)  # the seed index, not built again
    out = tmp_path / "ranker.json"
    seeds = str(REPO / "eval" / "seeds.jsonl")
    fit_main(["--set", seeds, str(corpus), "--work", str(work), "--out", str(out)])
    ranker = PassageRanker.load(out)
    no_answer = tmp_path / "none.jsonl"
    no_answer.write_text(
        json.dumps(
            {"id": "n1", "question": "Qui ?", "answers": [], "sources": [], "answerable": False}
        )
        + "\n",
        "utf-8",
    )
    with pytest.raises(QuestionSetError, match="holds a gold answer"):
        fit_main(["--set", str(no_answer), str(corpus), "--work", str(work), "--out", str(out)])
    assert PassageRanker.load(out) == ranker  # the ranker written before stays
    assert work_index(work, "/a/b") == work / "a-b" and work_index(work, "a/b") == work / "a-b"
    assert ranker.meta["passages"] > ranker.meta["holding_answer"] > 0
    assert ranker.meta["fit_on"] == [seeds]
    # the best sentence of a passage tells the passage that holds the answer: weighed up
    assert ranker.linear.weights[FEATURES.index("sentence_lead")] > 0
