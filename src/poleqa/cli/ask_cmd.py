"""`poleqa ask`: one question (plain text or --json), or many as JSON Lines (--jsonl FILE|-)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import click

from poleqa.cli.first_run import ensure_model
from poleqa.cli.freshness import FileChanges, cited_folder, corpus_in_advice, corpus_named
from poleqa.cli.options import (
    ReadingChoice,
    corpus_option,
    filter_options,
    filters_from,
    index_option,
    k_option,
    model_option,
    reading_options,
    settings_from,
)
from poleqa.config import Settings
from poleqa.errors import IndexMissingError, QuestionError
from poleqa.names import SURROGATES, shown_name, shown_text
from poleqa.serialise import (
    ABSTAIN_TEXT,
    UNCERTAIN_TEXT,
    answer_text,
    answer_to_json,
    confidence_text,
)
from poleqa.types import Answer, Filters, undated_note


def check_index(settings: Settings) -> None:
    """Fail before loading the model when there is no index at all."""
    if not settings.index_dir.is_dir() or not any(settings.index_dir.iterdir()):
        raise IndexMissingError(
            f"No index in {settings.index_dir}: run `poleqa index --corpus "
            f"{shlex.quote(str(settings.corpus_dir))} --index "
            f"{shlex.quote(str(settings.index_dir))}` first."
        )


def print_answer(answer: Answer, undated: int = 0) -> None:
    """The answer as text; `undated`: documents without a date the date filter left out. The
    documents' text and titles printed escaped (`shown_text`): a terminal acts on no control
    character in them."""
    if answer.resolved_question:
        _say(f"Question comprise : {answer.resolved_question}")
    if answer.abstained:
        _say(ABSTAIN_TEXT)
    else:
        if answer.uncertain:
            _say(UNCERTAIN_TEXT)
        _say(f"Réponse : {answer_text(answer)}")
        if answer.short_answer:
            _say(f"Réponse courte : {answer.short_answer}")
    _say(confidence_text(answer))
    for note in answer.notes:
        _say(f"Note : {note}")
    if undated:
        _say(f"Note : {undated_note(undated)}")
    if answer.citations:
        _say("Passages peut-être utiles :" if answer.abstained else "Sources :")
    for c in answer.citations:
        date = f", {c.info.date}" if c.info.date else ""
        where = f"{shown_name(c.info.source)} [{c.start}-{c.end}]"
        if c.answer_start is not None:
            where += f", réponse [{c.answer_start}-{c.answer_end}]"
        _say(f"  [{c.n}] {c.info.title}{date} — {where}")
        excerpt = " ".join(c.passage.split())
        _say(f"      « {excerpt[:200]}{'…' if len(excerpt) > 200 else ''} »")


def _say(line: str) -> None:
    click.echo(shown_text(line))


def _parse_line(line: str) -> tuple[str, str | float | None]:
    """A JSONL input line: a JSON object with a "question" string (and its "id", a string or a
    number, if it has one), else the line as plain text (no id)."""
    text = line.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:  # « {[[[[… » too deep: Recursion
            if text.endswith("}"):  # an object mistyped (« "id": 7,} »), not a question
                raise ValueError(f"the line is not valid JSON ({e})") from e
            return text, None
        if isinstance(obj, dict):
            q, qid = obj.get("question"), obj.get("id")
            if isinstance(qid, bool) or not isinstance(qid, str | int | float):
                qid = None  # null, a list…: not an id
            elif isinstance(qid, str):
                qid = _echoed(qid)  # cut as a refused question is: a 10 MB id, 2,000 characters
            if not isinstance(q, str):
                raise _Refused('the JSON object has no "question" string', qid)
            return q, qid
    return text, None


class _Refused(ValueError):
    """A line refused, with the id it gave (its answer line says it)."""

    def __init__(self, message: str, qid: str | float | None) -> None:
        super().__init__(message)
        self.qid = qid


def text_lines(stream: BinaryIO) -> Iterator[str | UnicodeDecodeError]:
    """The stream's lines as text, line ends dropped; a line that is not UTF-8 as its error
    (a file saved in Windows-1252 costs those lines, not the run)."""
    for number, raw in enumerate(stream, 1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            yield e


def not_utf8(error: UnicodeDecodeError) -> str:
    return f"The line is not UTF-8 text (byte {error.start + 1}): save the file as UTF-8."


def _run_jsonl(
    pipeline: Any, stream: BinaryIO, k: int, filters: Filters, changes: FileChanges
) -> None:
    """One JSON object per line, an answer or the line's error; refused lines do not stop the
    run, but an input of which no line was answered (a binary file, the wrong file, an empty
    one) exits 2."""
    refused = answered = 0
    for line in text_lines(stream):
        if isinstance(line, UnicodeDecodeError):
            error = not_utf8(line)
            out: dict[str, Any] = {"question": "", "error": error}
        elif not line.strip():
            out = {"question": "", "error": "The question is empty."}
        else:
            out = _answered_line(pipeline, line, k, filters, changes)
        refused += "error" in out
        answered += "error" not in out
        click.echo(json.dumps(out, ensure_ascii=False))
    if not answered:  # a binary file, the wrong file, an empty one
        said = f'{refused} refused: see each line\'s "error"' if refused else "no line given"
        raise QuestionError(f"no line was answered ({said})", "aucune ligne n'a reçu de réponse")


def _answered_line(
    pipeline: Any, line: str, k: int, filters: Filters, changes: FileChanges
) -> dict[str, Any]:
    question, qid = line, None
    try:
        question, qid = _parse_line(line)
        answered = answer_to_json(changes.noted(pipeline.ask(question, k=k, filters=filters)))
    except ValueError as e:
        qid = getattr(e, "qid", qid)
        out: dict[str, Any] = {"question": _echoed(question), "error": str(e)}
    except QuestionError as e:  # a bad line; index or model errors stop the run (exit 1)
        out = {"question": _echoed(question), "error": e.message}
    else:
        out = answered
    # the line's id first: an answer matched with its question by id, not by position
    return out if qid is None else {"id": qid, **out}


# A refused line is echoed to say which it was, not copied whole: a 10 MB line made 10 MB of
# output. A question the chat takes (2,000 characters at most) is echoed whole.
ECHOED_CHARS = 2000


def _echoed(question: str) -> str:
    return question if len(question) <= ECHOED_CHARS else question[:ECHOED_CHARS] + "…"


@click.command("ask")
@click.argument("question", required=False)
@index_option
@corpus_option
@model_option
@reading_options
@k_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--jsonl",
    type=click.File("rb"),
    help="Answer every line of FILE ('-' for stdin): plain text, or a JSON object with a "
    '"question" key (and an "id", given back); writes one JSON object per line.',
)
@filter_options
def ask(
    question: str | None,
    index_dir: Path | None,
    corpus_dir: Path | None,
    model: str | None,
    reading: ReadingChoice,
    k: int | None,
    as_json: bool,
    jsonl: BinaryIO | None,
    sources: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
) -> None:
    """Answer QUESTION with a sentence quoted from the documents, or abstain.

    The answer is copied word for word from a source; citation 1 is the passage it comes from.
    When the documents do not hold the answer, poleqa says so and lists the closest passages.
    """
    # Late: they load numpy and FAISS (see poleqa.cli).
    from poleqa.pipeline import Pipeline
    from poleqa.query import validate_question
    from poleqa.retrieval import check_filters

    settings = settings_from(
        reading,
        index_dir=index_dir,
        corpus_dir=corpus_dir,
        model=model,
        k=k,
    )
    if jsonl is None:
        if question is None:
            raise click.UsageError("give a QUESTION, or --jsonl FILE ('-' for stdin)")
        if SURROGATES.search(question):  # bytes of another encoding: read as « � », answered
            raise QuestionError(
                "The question is not UTF-8 text: set the terminal to UTF-8, or give the "
                "question in a UTF-8 file with --jsonl."
            )
        validate_question(question, settings.max_question_chars)
    elif question is not None:
        raise click.UsageError("give either a QUESTION or --jsonl, not both")
    check_index(settings)
    ensure_model(settings)  # the first run's model set-up, said rather than silent
    pipeline = Pipeline(settings)
    named = corpus_named()
    with corpus_in_advice(settings.index_dir, settings.corpus_dir, named):
        infos = pipeline.sources()
        filters = check_filters(
            filters_from(sources, date_from, date_to), (d.source for d in infos)
        )
        changes = FileChanges(
            pipeline, cited_folder(settings, named), settings.index_dir, named=named
        )
        changes.advise_corpus()
        if jsonl is not None:
            _run_jsonl(pipeline, jsonl, settings.k, filters, changes)
            return
        assert question is not None
        answer = changes.noted(pipeline.ask(question, k=settings.k, filters=filters))
    if as_json:
        click.echo(json.dumps(answer_to_json(answer), ensure_ascii=False, indent=2))
    else:
        print_answer(answer, filters.undated_left_out(infos))


commands = [ask]
