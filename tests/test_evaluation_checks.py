"""What eval checks in a question set: questions too long to ask, golds in none of their
documents; each type's accuracy over all its questions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_evaluation import QUESTIONS, REPLIES, FakePipeline, q

from poleqa.config import Settings
from poleqa.errors import QuestionError, QuestionSetError
from poleqa.evaluation import (
    Question,
    check_lines,
    compare_lines,
    evaluate,
    failure_rows,
    load_questions,
    parse_questions,
    summary_lines,
    unfound_answers,
)
from poleqa.evaluation.metrics import group_accuracy
from poleqa.evaluation.report import render_markdown
from poleqa.query import validate_question
from poleqa.types import Answer
from poleqa.web.eval_view import type_chart, unfound_answers_html
from poleqa.web.render import message_html


def _line(qid: str, question: str) -> str:
    return json.dumps(
        {"id": qid, "question": question, "answers": ["x"], "sources": [], "answerable": True}
    )


def test_a_question_longer_than_ask_takes_is_refused_at_load() -> None:
    # asked, it failed as « too long »; the set's other mistakes are named before any asking
    limit = Settings().max_question_chars
    validate_question("x" * limit, limit)  # what `ask` and the chat accept, and no more
    with pytest.raises(QuestionError):
        validate_question("x" * (limit + 1), limit)
    fine = f"  {'x' * limit}  "  # measured as asked: stripped
    text = "\n".join([_line("a", fine), _line("b", "y" * (limit + 1))])
    with pytest.raises(QuestionSetError) as err:
        parse_questions(text, "jsonl", name="set.jsonl")
    assert err.value.message == (
        "set.jsonl: 1 problem, nothing was asked:\n  - line 2: question too long (2001 "
        "characters; `poleqa ask` and the chat take at most 2000)"
    )
    assert err.value.message_fr.endswith(
        "ligne 2 : question trop longue (2001 caractères ; le chat en accepte 2000 au plus)"
    )
    assert parse_questions(_line("a", fine), "jsonl")[0].question == "x" * limit


def _q(qid: str, answers: tuple[str, ...], sources: tuple[str, ...]) -> Question:
    return Question(qid, f"question {qid} ?", answers, sources, bool(answers))


def test_unfound_answers_are_golds_in_none_of_the_documents_cited() -> None:
    texts = {
        "a.txt": "Le pôle comptait 276 adhérents\nen 2016.",
        "2019/b.txt": "Son siège est à Bordeaux.",
        "c.txt": "Rien.",
    }
    asked = [
        _q("ok", ("276 ADHÉRENTS en 2016",), ("a.txt",)),  # folded as answers are judged
        _q("typo", ("267",), ("a.txt",)),
        _q("bare-name", ("bordeaux",), ("b.txt",)),  # a bare name matches in a sub-folder
        _q("word-cut", ("Bordeau",), ("b.txt",)),  # whole words, as `contains_answer`
        _q("elsewhere", ("Bordeaux",), ("a.txt", "c.txt")),
        _q("one-of-two", ("Rien", "Bordeaux"), ("c.txt",)),
        _q("unknown-source", ("x",), ("nope.txt",)),  # left to unknown_sources
        _q("no-source", ("x",), ()),
        _q("unanswerable", (), ("a.txt",)),
    ]
    assert unfound_answers(asked, texts) == ("typo", "word-cut", "elsewhere")


def test_the_warnings_name_what_was_found() -> None:
    ids = [f"q{i}" for i in range(7)]
    assert check_lines(("nope.txt",), ids, "corpus") == [
        "1 source(s) the questions cite are not in corpus (their questions' source hits count "
        "as misses): nope.txt",
        "7 question(s) have none of their answers in the documents they cite (a typo in the gold "
        "makes each a miss, whatever the reply): q0, q1, q2, q3, q4…",
    ]
    assert check_lines((), ids, "corpus", shown=None)[0].endswith(": " + ", ".join(ids))
    assert check_lines((), (), "corpus") == []
    # on the staff page, as the sources the corpus lacks are
    said = (
        "Attention : questions dont aucune réponse attendue ne figure dans les documents "
        "qu'elles citent (2) ; une faute de frappe dans la réponse attendue les compte comme des "
        "échecs, quelle que soit la réponse : q0, q1"
    )
    assert unfound_answers_html(ids[:2]) == message_html(said, "info")
    assert unfound_answers_html([]) == ""


class _Asker:
    """Replies by question; a question it has none for fails, as a too-long one did."""

    def __init__(self, replies: dict[str, Answer]) -> None:
        self.replies = replies

    def ask(self, question: str, k: int = 5) -> Answer:
        if question not in self.replies:
            raise QuestionError("The question is too long.", "La question est trop longue.")
        return self.replies[question]


def _typed(qid: str, answerable: bool, qtype: str, tags: tuple[str, ...] = ()) -> Question:
    answers = ("Bordeaux",) if answerable else ()
    return Question(qid, f"question {qid} ?", answers, ("b.txt",), answerable, qtype, tags)


def _reply(qid: str, text: str | None) -> Answer:
    return Answer(f"question {qid} ?", text, text is None, 0.5)


def test_each_type_is_rated_over_all_its_questions() -> None:
    questions = [
        _typed("right", True, "number", ("mixed",)),
        _typed("abstained", True, "number"),
        _typed("failed", True, "number"),  # asking raised: counted, and wrong
        _typed("rightly-silent", False, "number", ("mixed",)),
        _typed("name", True, "name"),
    ]
    replies = {
        "question right ?": _reply("right", "Le siège est à Bordeaux."),
        "question abstained ?": _reply("abstained", None),
        "question rightly-silent ?": _reply("rightly-silent", None),
        "question name ?": _reply("name", "À Lyon."),
    }
    result = evaluate(_Asker(replies), questions, k=5, name="types")
    m = result.metrics
    # « number » was rated 1/3 (its answerable questions) beside n=4
    assert group_accuracy(m, "type") == {"name": (0.0, 1), "number": (0.5, 4)}
    assert sum(n for _, n in group_accuracy(m, "type").values()) == m["n_questions"] == 5
    assert (m["type/number/answer_accuracy"], m["type/number/abstain_accuracy"]) == (1 / 3, 1.0)
    assert group_accuracy(m, "tag") == {"mixed": (1.0, 2)}
    assert "| number | 4 | 0.500 | 0.167 | 0.000 |" in render_markdown(result, chart=None)
    assert "  by tag: mixed 1.000 (n=2)" in summary_lines(result)
    rows = re.findall(r'<tr class="pq-type-row">(.*?)</tr>', type_chart(m))
    assert "<td>4</td><td>50,0 %</td>" in rows[0]  # the staff page's bars


def test_compare_shows_a_groups_accuracy_once() -> None:
    new = {"type/x/n": 4, "type/x/accuracy": 0.5, "type/x/answer_accuracy": 0.25}
    rows = [line.split()[0] for line in compare_lines(new, {**new, "type/x/accuracy": 0.75})]
    assert rows == ["metric", "type/x/accuracy"]
    older = {"type/x/n": 4, "type/x/answer_accuracy": 0.5}  # a report from before
    rows = [line.split()[0] for line in compare_lines(new, older)]
    assert rows == ["metric", "type/x/answer_accuracy"]


def test_a_csv_quote_never_closed_is_told_where_it_opens(tmp_path: Path) -> None:
    unclosed = tmp_path / "unclosed.csv"
    unclosed.write_text(
        "id,question,answers,sources,answerable\n"
        '1,"Combien de pôles ?,55,a.txt,true\n'
        "2,Qui ?,X,a.txt,true\n"
        "3,Où ?,Z,a.txt,true\n",
        encoding="utf-8",
    )
    with pytest.raises(QuestionSetError) as err:
        load_questions(unclosed)
    assert err.value.message.endswith(
        '  - line 2: 2 cells, expected 5 (a quote « " » opened on this line runs to line 4)'
    )
    assert err.value.message_fr.endswith(
        'ligne 2 : 2 cellules au lieu de 5 (un guillemet « " » ouvert sur cette ligne court '
        "jusqu'à la ligne 4)"
    )
    mac = tmp_path / "mac.csv"  # Excel for Mac's CR-only line ends
    mac.write_text('id,question,answers,sources,answerable\r1,"Q ?,A,a.txt,true\r', "utf-8")
    with pytest.raises(QuestionSetError) as err:
        load_questions(mac)
    assert "line 2: 2 cells, expected 5" in err.value.message
    last = tmp_path / "last.csv"
    last.write_text('id,question,answers,sources,answerable\n2,"Q2 ?,B,a.txt,true\n', "utf-8")
    with pytest.raises(QuestionSetError) as err:
        load_questions(last)
    assert err.value.message.endswith('(a quote « " » opened on this line is never closed)')
    # a cell over two lines, closed: the record after it is told at its own line
    spanning = tmp_path / "spanning.csv"
    spanning.write_text(
        "id,question,answers,sources,answerable\n"
        '1,"Combien\nde pôles ?",55,a.txt,true\n'
        "2,Qui ?,X,a.txt,maybe\n",
        encoding="utf-8",
    )
    with pytest.raises(QuestionSetError) as err:
        load_questions(spanning)
    assert err.value.message.endswith("  - line 4: answerable must be true or false")


def test_loading_stays_out_of_the_latency_after_refused_questions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a set opening with a refused question (in Chinese) timed the model's load in the first
    # one answered: p95 4.8 s instead of 0.2 s
    class Loading(FakePipeline):
        loaded = False

        def ask(self, question: str, k: int = 5) -> Answer:
            answer = super().ask(question, k)  # refused before anything loads
            if not self.loaded:
                self.loaded = True
                clock[0] += 5.0  # the load
            clock[0] += 0.1
            return answer

    clock = [0.0]
    monkeypatch.setattr("poleqa.evaluation.runner.time.perf_counter", lambda: clock[0])
    refused = q("r1", ("x",), ("a.txt",), "number")  # its text is no reply's: refused
    result = evaluate(Loading(REPLIES), [refused, refused, *QUESTIONS[:3]])
    latencies = [p.latency_ms for p in result.predictions if p.error is None]
    assert latencies == pytest.approx([100.0, 100.0, 100.0])


def test_a_gold_in_none_of_its_documents_is_the_cause_of_its_miss() -> None:
    # the staff page's « Cause » and report.md blamed the reading for the set's typo
    result = evaluate(FakePipeline(REPLIES), QUESTIONS[:2], unfound=["q2"])
    (row,) = failure_rows(result, french=True)
    assert (row["id"], row["why"]) == (
        "q2",
        "réponse attendue : dans aucun de ses documents (voir les avertissements)",
    )
    assert failure_rows(evaluate(FakePipeline(REPLIES), QUESTIONS[:2]))[0]["why"].startswith(
        "reading"
    )
