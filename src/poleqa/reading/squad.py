"""SQuAD-format files (PIAF, SQuAD 1.1/2.0) read into frozen examples, for training and eval."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from poleqa.errors import QuestionSetError
from poleqa.jsontext import parse_json
from poleqa.query import without_surrogates


@dataclass(frozen=True)
class GoldSpan:
    """One reference answer: its text and where it starts in the context."""

    text: str
    start: int


@dataclass(frozen=True)
class QAExample:
    """A question on one paragraph; no answers means unanswerable from that paragraph."""

    id: str
    question: str
    context: str
    answers: tuple[GoldSpan, ...]
    article: str  # title of the article the paragraph comes from (used to split by article)
    # the file marks it unanswerable (`is_impossible`, or no answers given): the SQuAD 2.0 task;
    # its label, whereas `answerable` also fails when no given answer could be placed
    impossible: bool = False
    # every answer the file gives, placed in the paragraph or not: what scoring expects, as
    # SQuAD's scripts score against each (empty: the placed `answers`' texts)
    expected: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def squad_file(version: str, paragraphs: list[dict]) -> dict:
    """A SQuAD-format file's content: one article holding `paragraphs` (as `read_squad` reads)."""
    return {"version": version, "data": [{"title": "domain", "paragraphs": paragraphs}]}


def read_squad(path: Path) -> list[QAExample]:
    """Every question of a SQuAD-format file; QuestionSetError if it is not one."""
    try:
        raw = parse_json(Path(path).read_text(encoding="utf-8-sig"))
        return list(_examples(_list(_get(raw, "data", "the file"), "'data'")))
    except UnicodeDecodeError as e:
        raise QuestionSetError(
            f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8 (JSON files are)"
        ) from e
    except OSError as e:
        raise QuestionSetError(f"Cannot read {path}: {e}") from e
    except (ValueError, TypeError) as e:
        raise QuestionSetError(
            f"{path} is not a SQuAD-format file ({{'data': [{{'title', 'paragraphs': "
            f"[{{'context', 'qas'}}]}}]}}): {e}"
        ) from e


def article_title(article: dict, number: int) -> str:
    """An article's title, or its place in the file when it has none (splits go by title)."""
    return str(article.get("title") or f"article-{number}")


def placed(examples: list[QAExample]) -> tuple[list[QAExample], list[QAExample]]:
    """The examples, and apart those given answers none of which their paragraph holds: read
    as they are, they would count (and train) as unanswerable."""
    kept = [e for e in examples if e.impossible or e.answers]
    return kept, [e for e in examples if not (e.impossible or e.answers)]


# The shape checks below raise TypeError naming the part of the file that is wrong: read_squad
# shows it to the person who gave the file (a bare KeyError or AttributeError said nothing).
def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} {value!r} is not a string")
    return without_surrogates(value)  # one character for one: the offsets stay right


def _flag(value: object, what: str) -> bool:
    """A yes/no field: a JSON boolean, null (no), 0 / 1 or the text « true » / « false » as
    some exports write it (`bool("false")` would read it as yes)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TypeError(f"{what} {value!r} is not true or false")


def _list(value: object, what: str) -> list:
    if not isinstance(value, list):
        raise TypeError(f"{what} is not a list")
    return value


def _get(value: object, key: str, what: str) -> object:
    """`value[key]`, `value` being a JSON object."""
    if not isinstance(value, dict):
        raise TypeError(f"{what} is not an object")
    if key not in value:
        raise TypeError(f"{what} has no {key!r}")
    return value[key]


def _examples(data: list) -> Iterator[QAExample]:
    for art_no, article in enumerate(data):
        where = f"article {art_no}"
        paragraphs = _list(_get(article, "paragraphs", where), f"the paragraphs of {where}")
        title = article_title(article, art_no)
        for paragraph in paragraphs:
            context = _text(_get(paragraph, "context", f"a paragraph of {title!r}"),
                            f"a context of {title!r}:")  # fmt: skip
            qas = _list(_get(paragraph, "qas", f"a paragraph of {title!r}"),
                        f"the questions of a paragraph of {title!r}")  # fmt: skip
            for qa_no, qa in enumerate(qas):
                qid = _get(qa, "id", f"question {qa_no} of a paragraph of {title!r}")
                if not isinstance(qid, str | int) or isinstance(qid, bool) or qid == "":
                    raise TypeError(f"question {qa_no} of a paragraph of {title!r}: id {qid!r}")
                question = _text(_get(qa, "question", f"question {qid!r}"), f"question {qid!r}:")
                marked = _flag(qa.get("is_impossible"), f"question {qid!r}: 'is_impossible'")
                if "answers" not in qa and "is_impossible" not in qa:
                    # a misspelt key (« answer ») made every question an unanswerable one
                    raise TypeError(f"question {qid!r} has no 'answers' (nor 'is_impossible')")
                given = _given(qa.get("answers"))
                if marked and given:
                    # SQuAD's scripts go by the answers, the reader by the mark: refused
                    raise TypeError(f"question {qid!r} is marked unanswerable but has answers")
                if qa.get("is_impossible") is not None and not marked and not given:
                    raise TypeError(f"question {qid!r} is marked answerable but has no answers")
                impossible = marked or not qa.get("answers")
                answers = () if impossible else _list(qa["answers"], f"the answers of {qid!r}")
                spans = _spans(context, answers)
                expected = tuple(t for a in answers if (t := _text(a["text"], "")).strip())
                yield QAExample(str(qid), question, context, spans, title, impossible, expected)


def _given(answers: object) -> bool:
    """Whether `answers` gives an answer's text: a no-answer is written several ways (`[]`,
    `[{"text": "", "answer_start": -1}]`, Hugging Face's `{"text": [], "answer_start": []}`)."""
    if isinstance(answers, dict):  # Hugging Face's columns
        texts = answers.get("text")
        return isinstance(texts, list) and any(isinstance(t, str) and t.strip() for t in texts)
    if isinstance(answers, list):
        return any(
            isinstance(a, dict) and isinstance(a.get("text"), str) and a["text"].strip()
            for a in answers
        )
    return bool(answers)


def _spans(context: str, answers: list | tuple) -> tuple[GoldSpan, ...]:
    """Gold answers whose offset points at their text; a wrong offset is mended from the text."""
    spans = []
    for a in answers:
        text = _text(_get(a, "text", "an answer"), "an answer:")
        start = a.get("answer_start")
        if not isinstance(start, int) or isinstance(start, bool):
            start = -1  # no usable offset: found from the text below
        if context[start : start + len(text)] != text:
            start = context.find(text)
        if text.strip() and start >= 0:
            spans.append(GoldSpan(text, start))
    return tuple(spans)
