"""Asks every question of a set through the pipeline, times and judges each reply."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from poleqa.config import Settings
from poleqa.errors import PoleqaError, QuestionError, QuestionSetError
from poleqa.evaluation.metrics import Prediction, compute_metrics, judge
from poleqa.evaluation.questions import Question, load_questions, set_name
from poleqa.types import Answer

# Called after each question with (questions done, total), e.g. to drive a web progress bar.
OnProgress = Callable[[int, int], None]


class Asker(Protocol):
    """What evaluation needs of a pipeline (poleqa.pipeline.Pipeline, or a fake in tests)."""

    def ask(self, question: str, k: int = 5) -> Answer: ...


@dataclass(frozen=True)
class EvalResult:
    """All predictions of a run and the flat metrics computed from them."""

    name: str
    k: int
    predictions: tuple[Prediction, ...]
    metrics: dict[str, float]
    info: dict[str, str] = field(default_factory=dict)  # model, corpus, date… for the reports
    # What the set claims that the corpus does not bear out (unknown sources, golds in none
    # of their documents), one English line each, for report.md
    warnings: tuple[str, ...] = ()
    # the questions whose golds are in none of their documents: missed whatever poleqa replies
    unfound: frozenset[str] = frozenset()


def evaluate(
    pipeline: Asker,
    questions: Sequence[Question],
    k: int = 5,
    *,
    name: str = "questions",
    progress: bool = False,
    on_progress: OnProgress | None = None,
    info: dict[str, str] | None = None,
    warnings: Sequence[str] = (),
    unfound: Sequence[str] = (),
) -> EvalResult:
    """Ask each question as the chat does (`pipeline.ask`) and score the replies; `warnings`
    go into the report as they are, `unfound` (question ids, golds in none of their
    documents) into its failures' causes."""
    preds: list[Prediction] = []
    # Untimed first question: loading the model and the index is not a question's latency.
    # A refused one loads nothing (a question in Chinese is refused before reading): the
    # first accepted then does. Any other error (a model that fails to load) is the run's
    # own, met again by each question: no more warm-up.
    for first in questions:
        try:
            pipeline.ask(first.question, k=k)
        except QuestionError:
            continue
        except PoleqaError:
            pass
        break
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(questions), desc=f"eval {name}", unit="q", leave=False)
    try:
        for i, q in enumerate(questions, 1):
            preds.append(_predict(pipeline, q, k))
            if bar is not None:
                bar.update(1)
            if on_progress is not None:
                on_progress(i, len(questions))
    finally:
        if bar is not None:
            bar.close()
    meta = {"created": time.strftime("%Y-%m-%d %H:%M:%S"), **(info or {})}
    metrics = compute_metrics(preds)
    return EvalResult(name, k, tuple(preds), metrics, meta, tuple(warnings), frozenset(unfound))


def run_info(questions: str, settings: Settings) -> dict[str, str]:
    """What the reports say of a run: the question set (as named to its user), the corpus,
    index, model and reader that answered it."""
    return {
        "question set": questions,
        "corpus": str(settings.corpus_dir),
        "index": str(settings.index_dir),
        "model": settings.model,
        "reader": settings.reader,
        "reader weights": str(settings.reader_dir or "shipped"),
        "passage order": "learned" if settings.rerank else "fused",
    }


def evaluate_file(
    pipeline: Asker,
    path: Path,
    k: int = 5,
    *,
    progress: bool = False,
    on_progress: OnProgress | None = None,
    info: dict[str, str] | None = None,
    most: int | None = None,
) -> EvalResult:
    """Load a JSONL/CSV question set (QuestionSetError before asking anything) and evaluate it;
    a set of more than `most` questions is refused."""
    path = Path(path)
    questions = load_questions(path)
    if most is not None and len(questions) > most:
        raise QuestionSetError(
            f"{path.name}: {len(questions)} questions, at most {most} here",
            f"Le fichier {path.name} contient {len(questions)} questions : {most} au plus ici "
            "(la commande poleqa eval n'a pas de limite).",
        )
    return evaluate(
        pipeline,
        questions,
        k,
        name=set_name(path),
        progress=progress,
        on_progress=on_progress,
        info=info,
    )


def _predict(pipeline: Asker, q: Question, k: int) -> Prediction:
    start = time.perf_counter()
    try:
        answer = pipeline.ask(q.question, k=k)
    except PoleqaError as e:
        # One bad question (e.g. too long) is a failed prediction, not a failed run.
        ms = (time.perf_counter() - start) * 1000
        no_f1 = 0.0 if q.answerable else None
        return Prediction(q, None, False, None, no_f1, ms, e.message, e.message_fr)
    ms = (time.perf_counter() - start) * 1000
    correct, rank, f1 = judge(q, answer)
    return Prediction(q, answer, correct, rank, f1, ms)


def failures(result: EvalResult) -> list[Prediction]:
    """The predictions judged wrong, in question order."""
    return [p for p in result.predictions if not p.correct]


# What stands for no expected answer, no answer given, and a failed question: in the reports,
# and in French on the staff page.
_MARKERS = {
    False: ("(abstention)", "(abstained)", "(error: {})"),
    True: ("(aucune : poleqa doit le dire)", "(pas de réponse)", "(erreur : {})"),
}
# What the chat showed with the sentence: its doubt, and the short answer it highlighted.
_SHOWN = {
    False: ("(uncertain) ", " [short answer: {}]"),
    True: ("(réponse incertaine) ", " [réponse courte : {}]"),
}


def expected_text(q: Question, french: bool = False) -> str:
    return " | ".join(q.answers) if q.answerable else _MARKERS[french][0]


def got_text(p: Prediction, limit: int = 300, french: bool = False) -> str:
    if p.error is not None:
        return _MARKERS[french][2].format((p.error_fr if french else None) or p.error)
    assert p.answer is not None
    if p.answer.abstained or not p.answer.text:
        return _MARKERS[french][1]
    text = " ".join(p.answer.text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    doubt, short = _SHOWN[french]
    if p.answer.short_answer and p.answer.short_answer.strip() != p.answer.text.strip():
        text += short.format(" ".join(p.answer.short_answer.split())[:limit])
    return (doubt if p.answer.uncertain else "") + text


# Where a failure comes from, for whoever goes through them: the sources when no expected
# document is among those cited (not retrieved, or read and ranked below the k cited), the
# reading otherwise.
_WHY = {
    False: (
        "error",
        "answered: the documents hold no answer",
        "sources: no expected document cited",
        "{} (expected document cited, rank {})",
        ("abstention", "reading"),
        "expected answer: in none of its documents (see the warnings)",
    ),
    True: (
        "erreur",
        "réponse donnée : les documents n'en ont pas",
        "sources : aucun document attendu parmi celles citées",
        "{} (document attendu cité, rang {})",
        ("abstention", "lecture"),
        "réponse attendue : dans aucun de ses documents (voir les avertissements)",
    ),
}


def why_text(p: Prediction, french: bool = False, unfound: bool = False) -> str:
    """Where a wrong prediction went wrong: an error, an answer where none was expected, an
    expected answer in none of its documents (`unfound`: the set's), the sources cited, or
    the reading (an abstention or another answer) with the rank of the expected document
    among those cited."""
    error, answered, uncited, reading, stages, not_there = _WHY[french]
    if p.error is not None:
        return error
    if not p.question.answerable:
        return answered
    if unfound:
        return not_there
    if p.question.sources and p.source_rank is None:
        return uncited
    no_answer = p.answer is None or p.answer.abstained or not p.answer.text  # as `got_text`
    stage = stages[0] if no_answer else stages[1]
    return stage if p.source_rank is None else reading.format(stage, p.source_rank)


def cited_sources(p: Prediction) -> list[str]:
    """Distinct cited documents in citation order."""
    out: list[str] = []
    for c in p.answer.citations if p.answer else ():
        if c.info.source not in out:
            out.append(c.info.source)
    return out


def failure_rows(result: EvalResult, french: bool = False) -> list[dict[str, str]]:
    """One display row per failure: id, type, question, expected, got, why (`why_text`), sources
    (expected, cited); `french`: the markers and the why worded for the staff page."""
    return [
        {
            "id": p.question.id,
            "type": p.question.type,
            "question": p.question.question,
            "expected": expected_text(p.question, french),
            "got": got_text(p, french=french),
            "why": why_text(p, french, p.question.id in result.unfound),
            "expected_sources": ", ".join(p.question.sources),
            "cited_sources": ", ".join(cited_sources(p)),
        }
        for p in failures(result)
    ]
