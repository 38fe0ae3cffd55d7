"""Evaluation: metric functions (hand-computed), evaluate, reports, the eval CLI."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from poleqa.errors import QuestionError, QuestionSetError, ReaderError
from poleqa.evaluation import (
    EvalResult,
    Prediction,
    Question,
    compare,
    compare_lines,
    compute_metrics,
    evaluate,
    evaluate_file,
    failure_rows,
    failures,
    summary_lines,
    write_reports,
)
from poleqa.evaluation.metrics import contains_answer, percentile, source_rank, token_f1
from poleqa.evaluation.report import render_markdown
from poleqa.evaluation.runner import got_text, why_text
from poleqa.types import Answer, Citation, Document, DocumentInfo

ASK_JSON_KEYS = {"question", "answer", "abstained", "confidence", "short_answer", "citations"}
CITATION_KEYS = {"n", "source", "title", "date", "url", "start", "end", "passage", "score"}


# -- helpers ----------------------------------------------------------------------------------
def cite(n: int, source: str) -> Citation:
    info = DocumentInfo(source=source, title=source.upper(), date="2023-03-30")
    return Citation(n=n, info=info, start=0, end=10, passage=f"passage {n}", score=0.8)


def reply(question: str, text: str | None, sources: list[str], short: str | None = None) -> Answer:
    return Answer(
        question=question,
        text=text,
        abstained=text is None,
        confidence=0.2 if text is None else 0.9,
        short_answer=short,
        citations=tuple(cite(i, s) for i, s in enumerate(sources, 1)),
    )


class FakePipeline:
    """Fixed replies by question text; records the k it was asked with."""

    def __init__(self, replies: dict[str, Answer]) -> None:
        self.replies = replies
        self.ks: list[int] = []

    def sources(self) -> list[DocumentInfo]:
        """The corpus: every document a reply or a question of QUESTIONS cites."""
        cited = {c.info.source for a in self.replies.values() for c in a.citations}
        cited |= {s for q in QUESTIONS for s in q.sources}
        return [DocumentInfo(source=s, title=s) for s in sorted(cited)]

    def document(self, source: str) -> Document:
        """Each document's text: the golds of QUESTIONS, so that each has its answer."""
        golds = " ".join(a for q in QUESTIONS if source in q.sources for a in q.answers)
        return Document(DocumentInfo(source=source, title=source), f"Texte : {golds}.")

    def ask(self, question: str, k: int = 5) -> Answer:
        self.ks.append(k)
        if question not in self.replies:
            raise QuestionError("The question is too long.", "La question est trop longue.")
        return self.replies[question]


def q(
    qid: str,
    answers: tuple[str, ...],
    sources: tuple[str, ...],
    qtype: str,
    tags: tuple[str, ...] = (),
) -> Question:
    return Question(qid, f"question {qid} ?", answers, sources, bool(answers), qtype, tags)


QUESTIONS = [
    q("q1", ("71",), ("a.txt",), "number", ("temporal",)),
    q("q2", ("Axelera",), ("b.txt",), "name", ("temporal",)),
    q("q3", ("réseau",), ("c.txt",), "definition"),
    q("q4", (), (), "unanswerable"),
    q("q5", (), (), "unanswerable"),
]
REPLIES = {
    # right answer, gold source first, short answer exact
    "question q1 ?": reply(
        "question q1 ?", "71 pôles ont été sélectionnés.", ["a.txt", "b.txt"], "71"
    ),
    # wrong answer; the gold source is the 2nd distinct document (a.txt is cited twice)
    "question q2 ?": reply("question q2 ?", "Le pôle Tenerrdis.", ["a.txt", "a.txt", "b.txt"]),
    # abstained on an answerable question; gold source not cited
    "question q3 ?": reply("question q3 ?", None, ["a.txt", "b.txt"]),
    "question q4 ?": reply("question q4 ?", None, ["a.txt"]),  # right abstention
    "question q5 ?": reply(
        "question q5 ?", "Un budget de 5 M€.", ["b.txt"]
    ),  # should have abstained
}


@pytest.fixture()
def result() -> EvalResult:
    return evaluate(FakePipeline(REPLIES), QUESTIONS, k=3, name="fake")


# -- metric functions -------------------------------------------------------------------------
def test_contains_answer_normalises_case_accents_apostrophes_spaces() -> None:
    assert contains_answer("Le pôle INNOV’ALLIANCE  est renouvelé.", ["Innov'Alliance"])
    assert contains_answer("l'Etat a annoncé", ["l’État"])
    assert contains_answer("près de 4\u00a0800 adhérents", ["4 800"])
    assert not contains_answer("Le pôle Tenerrdis.", ["Axelera"])
    assert not contains_answer(None, ["71"])
    assert not contains_answer("71 " + "x" * 400, ["71"])  # over 400 characters


def test_contains_answer_wants_whole_words_and_whole_numbers() -> None:
    # a bare « 9 » once matched « 290 » in a table row, and was counted right
    assert not contains_answer("Adhérents | 120 | environ 290 | environ 340", ["9"])
    assert not contains_answer("Le pôle a été créé en 2008.", ["8"])
    assert not contains_answer("Il compte 1 200 membres.", ["200"])  # the number goes on
    assert not contains_answer("Un budget de 2,5 M€.", ["5"])
    assert not contains_answer("Lyonbiopôle est installé à Gerland.", ["Lyon"])
    assert contains_answer("Il compte 1 200 membres.", ["1 200"])
    assert contains_answer("| 2011 | 412 |", ["412"])
    assert contains_answer("En 2019, 200 membres.", ["200"])  # another number, not the same
    assert contains_answer("Le siège est à Lyon.", ["Lyon"])
    assert contains_answer("(55 pôles)", ["55 pôles"])


def test_token_f1_hand_computed() -> None:
    # [pole, axelera] vs [axelera, chimie]: 1 common token, P = R = 1/2
    assert token_f1("le pôle Axelera", "Axelera (chimie)") == pytest.approx(0.5)
    assert token_f1("l’État", "Etat") == 1.0  # article and elision dropped, accents folded
    # [13, poles] vs [13]: P = 1/2, R = 1 -> 2/3
    assert token_f1("13 pôles", "13") == pytest.approx(2 / 3)
    assert token_f1("Tenerrdis", "Axelera") == 0.0
    assert token_f1("le", "la") == 1.0  # both empty after normalisation


def test_source_rank_counts_distinct_documents_in_order() -> None:
    assert source_rank(["a.txt", "a.txt", "b.txt", "c.txt"], ["c.txt"]) == 3
    assert source_rank(["a.txt", "b.txt"], ["x.txt"]) is None
    assert source_rank(["sub/a.txt", "b.txt"], ["a.txt"]) == 1  # bare name matches sub-folder
    assert source_rank(["sub/a.txt"], ["other/a.txt"]) is None


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([40, 10, 30, 20], 50) == 25
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)  # 30 + 0.85 × 10
    assert math.isnan(percentile([], 50))


def test_compute_metrics_latency_and_counts() -> None:
    preds = [
        Prediction(QUESTIONS[3], reply("x", None, []), True, None, None, latency)
        for latency in (10.0, 20.0, 30.0, 40.0)
    ]
    m = compute_metrics(preds)
    assert m["latency_p50_ms"] == 25.0
    assert m["latency_p95_ms"] == 38.5
    assert m["abstain_accuracy"] == 1.0
    assert (m["n_questions"], m["n_answerable"], m["n_unanswerable"]) == (4, 0, 4)
    assert "answer_accuracy" not in m and "source_hit@5" not in m


def test_refused_questions_stay_out_of_the_latency() -> None:
    answered = [
        Prediction(QUESTIONS[3], reply("x", None, []), True, None, None, latency)
        for latency in (100.0, 200.0)
    ]
    refused = Prediction(QUESTIONS[3], None, False, None, None, 0.01, "too long", "trop longue")
    m = compute_metrics([*answered, refused, refused])
    assert (m["latency_p50_ms"], m["n_errors"]) == (150.0, 2)
    only_refused = compute_metrics([refused])
    assert "latency_p50_ms" not in only_refused and only_refused["n_errors"] == 1


def test_uncertain_answers_are_counted_apart() -> None:
    def pred(question: int, uncertain: bool, correct: bool) -> Prediction:
        answer = replace(reply("x", "une réponse", ["a.txt"]), uncertain=uncertain)
        return Prediction(QUESTIONS[question], answer, correct, 1, None, 1.0)

    # sure: right, wrong, an answer to an unanswerable question; uncertain: right; one abstention
    preds = [pred(0, False, True), pred(1, False, False), pred(3, False, False)]
    preds.append(pred(2, True, True))
    preds.append(Prediction(QUESTIONS[4], reply("x", None, []), True, None, None, 1.0))
    m = compute_metrics(preds)
    assert (m["uncertain_rate"], m["uncertain_precision"]) == (0.25, 1.0)
    assert m["sure_precision"] == pytest.approx(1 / 3)
    assert "uncertain_rate" not in compute_metrics(preds[-1:])  # nothing answered
    lines = summary_lines(EvalResult("set", 5, tuple(preds), m))
    assert "  answers marked uncertain 0.250: right 1.000   unmarked answers right 0.333" in lines


# -- evaluate ---------------------------------------------------------------------------------
def test_evaluate_metrics_hand_computed(result: EvalResult) -> None:
    m = result.metrics
    assert m["answer_accuracy"] == pytest.approx(1 / 3)  # q1 only
    assert m["answer_f1"] == pytest.approx(1 / 3)  # 1.0, 0.0, 0.0
    assert m["false_abstain_rate"] == pytest.approx(1 / 3)  # q3
    assert m["source_hit@1"] == pytest.approx(1 / 3)  # ranks 1, 2, none
    assert m["source_hit@3"] == pytest.approx(2 / 3)
    assert m["source_hit@5"] == pytest.approx(2 / 3)
    assert m["mrr@5"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert m["abstain_accuracy"] == 0.5  # q4 right, q5 wrong
    assert m["overall_accuracy"] == pytest.approx(2 / 5)
    assert (m["n_questions"], m["n_answerable"], m["n_unanswerable"], m["n_errors"]) == (5, 3, 2, 0)
    assert m["type/number/answer_accuracy"] == 1.0
    assert m["type/name/answer_accuracy"] == 0.0
    assert m["type/name/source_hit@5"] == 1.0
    assert m["type/unanswerable/abstain_accuracy"] == 0.5
    assert m["type/unanswerable/n"] == 2
    assert m["tag/temporal/answer_accuracy"] == 0.5
    assert m["tag/temporal/n"] == 2
    assert m["latency_p95_ms"] >= m["latency_p50_ms"] >= 0
    assert [p.source_rank for p in result.predictions] == [1, 2, None, None, None]
    assert [p.f1 for p in result.predictions] == [1.0, 0.0, 0.0, None, None]


def test_evaluate_passes_k_and_records_errors() -> None:
    fake = FakePipeline({})  # every question fails like a too-long question
    res = evaluate(fake, QUESTIONS[:1] + QUESTIONS[3:4], k=7)
    # untimed warm-up questions until one is accepted (none here), then the two
    assert fake.ks == [7, 7, 7, 7]

    # an error that is no refusal (a model that fails to load) ends the warm-up at once
    class Failing(FakePipeline):
        def ask(self, question: str, k: int = 5) -> Answer:
            self.ks.append(k)
            raise ReaderError("The reader's weights do not load.")

    failing = Failing({})
    evaluate(failing, QUESTIONS[:3], k=3)
    assert failing.ks == [3] * 4
    assert [p.error for p in res.predictions] == ["The question is too long."] * 2
    assert [p.correct for p in res.predictions] == [False, False]  # an error is no abstention
    assert res.metrics["n_errors"] == 2
    assert res.metrics["false_abstain_rate"] == 0.0


def test_failures(result: EvalResult) -> None:
    assert [p.question.id for p in failures(result)] == ["q2", "q3", "q5"]
    rows = failure_rows(result)
    assert rows[0] == {
        "id": "q2",
        "type": "name",
        "question": "question q2 ?",
        "expected": "Axelera",
        "got": "Le pôle Tenerrdis.",
        "why": "reading (expected document cited, rank 2)",
        "expected_sources": "b.txt",
        "cited_sources": "a.txt, b.txt",
    }
    assert (rows[1]["got"], rows[1]["why"]) == (
        "(abstained)",
        "sources: no expected document cited",
    )
    assert (rows[2]["expected"], rows[2]["why"]) == (
        "(abstention)",
        "answered: the documents hold no answer",
    )
    # the staff page's rows say the same in French, answers and sources unchanged
    french = failure_rows(result, french=True)
    assert (french[1]["got"], french[2]["expected"]) == (
        "(pas de réponse)",
        "(aucune : poleqa doit le dire)",
    )
    assert [r["why"] for r in french] == [
        "lecture (document attendu cité, rang 2)",
        "sources : aucun document attendu parmi celles citées",
        "réponse donnée : les documents n'en ont pas",
    ]
    assert {**french[0], "why": ""} == {**rows[0], "why": ""}


def test_a_failure_says_where_it_went_wrong() -> None:
    found = reply("question q3 ?", None, ["a.txt", "c.txt"])  # abstained, its document cited
    abstained = Prediction(QUESTIONS[2], found, False, 2, 0.0, 1.0)
    assert why_text(abstained) == "abstention (expected document cited, rank 2)"
    assert why_text(abstained, french=True) == "abstention (document attendu cité, rang 2)"
    unsourced = replace(QUESTIONS[2], sources=())  # a set may leave out where the answer is
    wrong = reply("question q3 ?", "Autre chose.", ["a.txt"])
    assert why_text(Prediction(unsourced, wrong, False, None, 0.0, 1.0)) == "reading"
    failed = Prediction(QUESTIONS[0], None, False, None, 0.0, 1.0, "The question is too long.")
    assert (why_text(failed), why_text(failed, french=True)) == ("error", "erreur")


def test_a_failure_says_the_doubt_and_the_short_answer_the_chat_showed() -> None:
    # a wrong answer the chat marked uncertain read as a confident one; its highlight was unseen
    answer = Answer("q ?", "Le siège est à Chartres et à Orléans.", False, 0.4,
                    "Chartres", uncertain=True)  # fmt: skip
    p = Prediction(QUESTIONS[1], answer, False, None, 0.0, 1.0)
    assert (
        got_text(p) == "(uncertain) Le siège est à Chartres et à Orléans. [short answer: Chartres]"
    )
    assert got_text(p, french=True) == (
        "(réponse incertaine) Le siège est à Chartres et à Orléans. [réponse courte : Chartres]"
    )


def test_a_failed_question_reads_in_french_on_the_staff_page() -> None:
    res = evaluate(FakePipeline({}), QUESTIONS[:1])  # it fails as a too-long question does
    assert failure_rows(res)[0]["got"] == "(error: The question is too long.)"
    assert failure_rows(res, french=True)[0]["got"] == "(erreur : La question est trop longue.)"


def test_evaluate_file_stops_before_asking_on_invalid_set(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n", encoding="utf-8")
    fake = FakePipeline(REPLIES)
    with pytest.raises(QuestionSetError):
        evaluate_file(fake, path)
    assert fake.ks == []


# -- reports ----------------------------------------------------------------------------------
def test_write_reports(result: EvalResult, tmp_path: Path) -> None:
    paths = write_reports(result, tmp_path / "out")
    lines = paths["predictions"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    first = json.loads(lines[0])
    assert (first["id"], first["correct"], first["source_rank"], first["f1"]) == (
        "q1",
        True,
        1,
        1.0,
    )
    assert set(first["response"]) >= ASK_JSON_KEYS
    assert set(first["response"]["citations"][0]) >= CITATION_KEYS
    assert first["response"]["answer"] == "71 pôles ont été sélectionnés."
    assert json.loads(lines[2])["response"]["answer"] is None
    report = json.loads(paths["report_json"].read_text(encoding="utf-8"))
    assert all(not isinstance(v, dict | list) for v in report.values())  # flat
    assert report["answer_accuracy"] == 0.3333
    assert report["n_questions"] == 5
    md = paths["report_md"].read_text(encoding="utf-8")
    assert "## Failures (3)" in md
    assert (
        "| q2 | name | question q2 ? | Axelera | Le pôle Tenerrdis. "
        "| reading (expected document cited, rank 2) | b.txt | a.txt, **b.txt** |" in md
    )
    assert "| unanswerable | 2 | 0.500 |" in md
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a set's markup is shown, not run by a Markdown previewer
    odd = replace(result.predictions[1], question=replace(q2 := result.predictions[1].question,
                  question="<img src=x onerror=alert(1)> & co"))  # fmt: skip
    md = render_markdown(replace(result, predictions=(odd,)))
    assert f"| {q2.id} | {q2.type} | &lt;img src=x onerror=alert(1)&gt; &amp; co |" in md


def test_compare_deltas() -> None:
    new = {"answer_accuracy": 0.6, "n_questions": 120, "latency_p50_ms": 40.0, "only_new": 1.0}
    old = {"answer_accuracy": 0.5, "n_questions": 120, "latency_p50_ms": 50.0, "only_old": 2.0}
    rows = compare(new, old)
    assert [r[0] for r in rows] == ["answer_accuracy", "latency_p50_ms", "n_questions"]
    assert rows[0][3] == pytest.approx(0.1)
    lines = compare_lines(new, old)
    assert "+0.100" in lines[1] and "-10 ms" in lines[2] and lines[3].endswith("+0")
    group = {"type/x/n": 3, "type/x/answer_accuracy": 0.25, "type/x/answer_f1": 0.5}
    assert [line.split()[0] for line in compare_lines(group, {**group, "type/x/n": 2})] == [
        "metric",
        "type/x/answer_accuracy",
    ]  # the table shows a group's accuracy, not its count or F1


def test_unknown_sources_are_those_the_scorer_can_never_match() -> None:
    from poleqa.evaluation import unknown_sources
    from poleqa.evaluation.metrics import source_rank

    corpus = ["2019/rapport.txt", "note.md"]
    asked = [
        q("a", ("x",), ("rapport.txt", "2019/rapport.txt"), "other"),  # a bare name matches
        q("b", ("x",), ("2020/rapport.txt", "note.md", "nope.txt"), "other"),
        q("c", ("x",), ("nope.txt",), "other"),
    ]
    assert unknown_sources(asked, corpus) == ("2020/rapport.txt", "nope.txt")
    assert source_rank(corpus, ["rapport.txt"]) == 1  # as the scorer reads it
    assert source_rank(corpus, ["2020/rapport.txt"]) is None
