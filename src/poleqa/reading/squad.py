"""SQuAD-format files (PIAF, SQuAD 1.1/2.0) read into frozen examples, for training and eval."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from poleqa.errors import QuestionSetError


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

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def squad_file(version: str, paragraphs: list[dict]) -> dict:
    """A SQuAD-format file's content: one article holding `paragraphs` (as `read_squad` reads)."""
    return {"version": version, "data": [{"title": "domain", "paragraphs": paragraphs}]}


def read_squad(path: Path) -> list[QAExample]:
    """Every question of a SQuAD-format file; QuestionSetError if it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
        return list(_examples(data))
    except (OSError, UnicodeDecodeError) as e:
        raise QuestionSetError(f"Cannot read {path}: {e}") from e
    except (ValueError, KeyError, TypeError, AttributeError) as e:
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


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} {value!r} is not a string")
    return value


def _examples(data: list[dict]) -> Iterator[QAExample]:
    for art_no, article in enumerate(data):
        title = article_title(article, art_no)
        for paragraph in article["paragraphs"]:
            context = _text(paragraph["context"], f"a context of {title!r}:")
            for qa in paragraph["qas"]:
                question = _text(qa["question"], f"question {qa.get('id')!r}:")
                impossible = bool(qa.get("is_impossible")) or not qa.get("answers")
                spans = () if impossible else _spans(context, qa["answers"])
                yield QAExample(str(qa["id"]), question, context, spans, title, impossible)


def _spans(context: str, answers: list[dict]) -> tuple[GoldSpan, ...]:
    """Gold answers whose offset points at their text; a wrong offset is mended from the text."""
    spans = []
    for a in answers:
        text, start = _text(a["text"], "an answer:"), int(a.get("answer_start", -1))
        if context[start : start + len(text)] != text:
            start = context.find(text)
        if text.strip() and start >= 0:
            spans.append(GoldSpan(text, start))
    return tuple(spans)
