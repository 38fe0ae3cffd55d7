"""SQuAD-format files and metrics: the official scoring worked by hand, offsets mended, malformed
files refused naming what is wrong, held-out articles split as training splits them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from poleqa.errors import QuestionSetError
from poleqa.evaluation.squad import (
    SquadPrediction,
    exact_match,
    exact_match_squad,
    f1,
    f1_squad,
    normalize,
    normalize_squad,
    shown,
    squad_metrics,
)
from poleqa.reading.recipe import Recipe
from poleqa.reading.squad import GoldSpan, QAExample, placed, read_squad
from poleqa.reading.training import write_heldout

PASSAGE = "Le pôle Alpha a été créé en 2005 à Lyon. Il compte 210 membres en 2020."


def test_squad_metrics_worked_by_hand() -> None:
    assert normalize("L’État, la Région !") == "état région"
    # an article before punctuation is an article still, one before a hyphen part of a word
    assert normalize("les, pôles (les)") == "pôles"
    assert normalize("au-delà du Rhône") == "au delà rhône"
    assert exact_match("la Région Bretagne", ["Région Bretagne"]) == 1.0
    # "en 2013" vs "2013": precision 1/2, recall 1 → F1 2/3
    assert f1("en 2013", ["2013"]) == pytest.approx(2 / 3)
    examples = [
        QAExample("a", "q", "c", (GoldSpan("2013", 0),), "t"),
        QAExample("b", "q", "c", (GoldSpan("Marie Durand", 0),), "t"),
        QAExample("c", "q", "c", (), "t"),  # unanswerable
        QAExample("d", "q", "c", (), "t"),  # unanswerable
    ]
    preds = [
        SquadPrediction("a", "en 2013"),  # EM 0, F1 2/3
        SquadPrediction("b", "Marie Durand"),  # EM 1, F1 1
        SquadPrediction("c", ""),  # abstained: EM 1, F1 1
        SquadPrediction("d", "Lyon"),  # answered: EM 0, F1 0
    ]
    m = squad_metrics(examples, preds, seconds=2.0)
    assert m["exact_match"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx((2 / 3 + 1 + 1 + 0) / 4)
    # by the official rule « en » stays a token too: the same figures here
    assert (m["exact_match_squad"], m["f1_squad"]) == (m["exact_match"], m["f1"])
    assert m["has_answer_f1"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["no_answer_accuracy"] == pytest.approx(1 / 2)
    assert m["latency_ms_per_question"] == pytest.approx(500.0)
    assert (m["n_answerable"], m["n_unanswerable"]) == (2, 2)
    assert shown({**m, "no_answer_allowed": 1.0})["n_questions"] == 4  # whole in the report
    assert shown(m)["f1"] == round(m["f1"], 4)
    # unanswerable questions only: no answered F1 to report (it read as 0 before)
    only_no = squad_metrics(examples[2:], preds[2:], seconds=1.0)
    assert "has_answer_f1" not in only_no and only_no["no_answer_accuracy"] == 0.5


def test_the_official_squad_rule_is_evaluate_v11s() -> None:
    # evaluate-v1.1.py's normalize_answer: ASCII punctuation deleted (an apostrophe glues
    # « l'État » into one token; « » and ’ are no ASCII punctuation), English articles only
    assert normalize_squad("L'État") == "létat"
    assert normalize_squad("The  Eiffel-Tower, a (tall) one!") == "eiffeltower tall one"
    assert normalize_squad("« la Région »") == "« la région »"
    assert (exact_match("L'État", ["État"]), exact_match_squad("L'État", ["État"])) == (1.0, 0.0)
    assert (f1("L'État", ["État"]), f1_squad("L'État", ["État"])) == (1.0, 0.0)
    # poleqa's rule splits « 2,6 » at the comma, so a wrong decimal half-matches
    assert f1("2,6 millions", ["2,5 millions"]) == pytest.approx(2 / 3)
    assert f1_squad("2,6 millions", ["2,5 millions"]) == 0.5  # « 26 millions », « 25 millions »
    assert f1_squad("12,5 %", ["12,4 %"]) == 0.0
    assert exact_match_squad("the Eiffel Tower.", ["Eiffel tower", "la tour Eiffel"]) == 1.0
    assert f1_squad("la tour", ["the tour Eiffel", "la tour Eiffel"]) == 0.8  # the best gold
    # f1_score of evaluate-v1.1.py: no shared token scores 0, even two empty answers
    assert (exact_match_squad("!", ["the"]), f1_squad("!", ["the"])) == (1.0, 0.0)
    assert (exact_match_squad("", []), f1_squad("", []), f1_squad("Lyon", [])) == (1.0, 1.0, 0.0)


def test_read_squad_mends_offsets_and_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    qa = {"id": "1", "question": "Où ?", "answers": [{"text": "Lyon", "answer_start": 0}]}
    impossible = {"id": "2", "question": "Qui ?", "answers": [], "is_impossible": True}
    lost = {"id": "3", "question": "Quand ?", "answers": [{"text": "Zanzibar", "answer_start": 3}]}
    qas = [qa, impossible, lost]
    data = {"data": [{"title": "T", "paragraphs": [{"context": PASSAGE, "qas": qas}]}]}
    path.write_text(json.dumps(data), "utf-8")
    a, b, c = read_squad(path)
    assert a.answers[0].start == PASSAGE.index("Lyon") and not b.answerable
    # the file's label is kept apart from whether an answer could be placed
    assert (a.impossible, b.impossible, c.impossible) == (False, True, False)
    assert not c.answerable
    # read as they are, such questions would count and train as unanswerable: callers leave
    # them out (eval --squad says so, training logs it)
    assert placed([a, b, c]) == ([a, b], [c])
    path.write_text('{"questions": []}', "utf-8")
    with pytest.raises(QuestionSetError, match=r"SQuAD-format file.*: the file has no 'data'"):
        read_squad(path)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"data": [["x"]]}, "article 0 is not an object"),
        ({"data": {"k": 1}}, "'data' is not a list"),
        ([{"data": []}], "the file is not an object"),
        ({"data": [{"title": "T"}]}, "article 0 has no 'paragraphs'"),
        ({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]},
         "a paragraph of 'T' has no 'context'"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": {}}]}]},
         "the questions of a paragraph of 'article-0' is not a list"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q"}]}]}]},
         "question 0 of a paragraph of 'article-0' has no 'id'"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [
            {"id": 1, "question": "q", "answers": [{"answer_start": 0}]}]}]}]},
         "an answer has no 'text'"),
        ({"data": [{"paragraphs": [{"context": 3, "qas": []}]}]},
         "a context of 'article-0': 3 is not a string"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [{"id": 1, "question": None}]}]}]},
         "question 1: None is not a string"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [
            {"id": 1, "question": "q", "answers": [{"text": 5, "answer_start": 0}]}]}]}]},
         "an answer: 5 is not a string"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [
            {"id": 1, "question": "q", "answers": [], "is_impossible": "peut-être"}]}]}]},
         "question 1: 'is_impossible' 'peut-être' is not true or false"),
        # « answer » for « answers »: every question read as unanswerable, scored 0, exit 0
        ({"data": [{"paragraphs": [{"context": "c", "qas": [
            {"id": "sq1", "question": "q", "answer": [{"text": "c", "answer_start": 0}]}]}]}]},
         "question 'sq1' has no 'answers' (nor 'is_impossible')"),
        # the mark and the answers disagree: SQuAD's scripts go by the answers, the reader by
        # the mark (a right answer was scored wrong, exit 0)
        ({"data": [{"paragraphs": [{"context": "c", "qas": [
            {"id": "a1", "question": "q", "is_impossible": False}]}]}]},
         "question 'a1' is marked answerable but has no answers"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [
            {"id": "i1", "question": "q", "is_impossible": True,
             "answers": [{"text": "c", "answer_start": 0}]}]}]}]},
         "question 'i1' is marked unanswerable but has answers"),
    ],
)  # fmt: skip
def test_a_malformed_squad_file_is_refused_with_what_is_wrong(
    tmp_path: Path, data: object, why: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(QuestionSetError) as caught:
        read_squad(path)
    assert str(caught.value).startswith(f"{path} is not a SQuAD-format file")
    assert str(caught.value).endswith(f": {why}")


def test_odd_but_readable_files_are_read_as_meant(tmp_path: Path) -> None:
    # a byte-order mark, « is_impossible » written as text or null, a lone surrogate (the
    # tokenizer refused it: a TypeError after the model had loaded)
    qas = [
        {"id": "1", "question": "Où ?", "answers": [{"text": "Lyon", "answer_start": 0}],
         "is_impossible": "false"},
        {"id": "2", "question": "Qui ?", "answers": [], "is_impossible": "True"},
        {"id": "3", "question": "Quand \ud800?", "answers": [{"text": "Lyon", "answer_start": 0}],
         "is_impossible": None},
    ]  # fmt: skip
    context = "\udce8" + PASSAGE
    data = {"data": [{"title": "T", "paragraphs": [{"context": context, "qas": qas}]}]}
    path = tmp_path / "s.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode())
    a, b, c = read_squad(path)
    assert (a.impossible, b.impossible, c.impossible) == (False, True, False)
    # a no-answer as some exports write it, with the mark: read as the mark says
    for no_answer in ([{"text": "", "answer_start": -1}], {"text": [], "answer_start": []}):
        qa = {"id": "4", "question": "Quoi ?", "answers": no_answer, "is_impossible": True}
        data["data"][0]["paragraphs"][0]["qas"] = [qa]
        path.write_text(json.dumps(data), "utf-8")
        assert read_squad(path)[0].impossible
    assert a.context == "\ufffd" + PASSAGE and c.question == "Quand \ufffd?"
    assert a.context[a.answers[0].start :].startswith("Lyon")
    assert a.context.encode("utf-8") and c.question.encode("utf-8")


def test_every_answer_given_is_expected_even_one_its_paragraph_lacks(tmp_path: Path) -> None:
    # one not in the paragraph vanished from the golds (SQuAD's scripts score against it)
    qa = {
        "id": "a1",
        "question": "Où ?",
        "answers": [
            {"text": "Marseille", "answer_start": 0},
            {"text": "à Lyon", "answer_start": 38},
        ],
    }
    data = {"data": [{"title": "T", "paragraphs": [{"context": PASSAGE, "qas": [qa]}]}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data), "utf-8")
    (example,) = read_squad(path)
    assert [a.text for a in example.answers] == ["à Lyon"]  # placed: what training reads
    assert example.expected == ("Marseille", "à Lyon")
    m = squad_metrics([example], [SquadPrediction("a1", "Marseille")], seconds=1.0)
    assert (m["exact_match"], m["exact_match_squad"]) == (1.0, 1.0)


def test_a_file_not_in_utf8_is_refused_saying_so(tmp_path: Path) -> None:
    # it got Python's codec message
    path = tmp_path / "latin1.json"
    path.write_bytes('{"data": [{"title": "Orléans"}]}'.encode("latin-1"))
    with pytest.raises(QuestionSetError) as caught:
        read_squad(path)
    assert str(caught.value) == (
        f"{path}: not UTF-8 text (byte 24); save it as UTF-8 (JSON files are)"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
     ('{"data": 1' + "0" * 5000 + "}", "Exceeds the limit (4300 digits)")],
)  # fmt: skip
def test_json_that_cannot_be_read_is_refused_too(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, "utf-8")
    with pytest.raises(QuestionSetError) as caught:
        read_squad(path)
    assert str(caught.value).startswith(f"{path} is not a SQuAD-format file")
    assert why in str(caught.value)


def test_held_out_articles_without_a_title_are_split_as_training_splits_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "piaf.json"
    qa = {"id": "1", "question": "Où ?", "answers": [{"text": "Lyon", "answer_start": 0}]}
    article = {"paragraphs": [{"context": PASSAGE, "qas": [qa]}]}  # no title
    path.write_text(json.dumps({"data": [article, {**article, "title": "T"}]}), "utf-8")
    out = tmp_path / "heldout.json"
    assert write_heldout(path, Recipe(piaf_heldout=1.0), out) == 2
    assert write_heldout(path, Recipe(piaf_heldout=0.0), out) == 0
    assert [e.article for e in read_squad(path)] == ["article-0", "T"]
