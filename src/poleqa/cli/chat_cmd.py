"""`poleqa chat`: questions one line after the other, a follow-up read with those before."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import click

from poleqa.cli.ask_cmd import check_index, not_utf8, print_answer, text_lines
from poleqa.cli.first_run import ensure_model
from poleqa.cli.freshness import FileChanges, cited_folder, corpus_in_advice, corpus_named
from poleqa.cli.options import (
    ReadingChoice,
    corpus_option,
    index_option,
    k_option,
    model_option,
    reading_options,
    settings_from,
)
from poleqa.errors import QuestionError
from poleqa.names import shown_name
from poleqa.types import Answer, Turn

Asker = Callable[[str, tuple[Turn, ...]], Answer]

GREETING = (
    "Posez vos questions, une par ligne ; une question de suite (« Et en 2020 ? ») se lit avec "
    "les précédentes. Ligne vide ou Ctrl-D pour finir."
)


@click.command("chat")
@index_option
@corpus_option
@model_option
@reading_options
@k_option
def chat(
    index_dir: Path | None,
    corpus_dir: Path | None,
    model: str | None,
    reading: ReadingChoice,
    k: int | None,
) -> None:
    """Answer questions typed one per line, as the web chat does: a follow-up question
    (« Et en 2020 ? », « Et pour la région Centre ? ») is read with the questions before it.

    Answers go to stdout, the prompt and refusals to stderr; an empty line or end of input
    (Ctrl-D) ends the conversation.
    """
    # Late: they load numpy and FAISS (see poleqa.cli).
    from poleqa.pipeline import Pipeline

    settings = settings_from(reading, index_dir=index_dir, corpus_dir=corpus_dir, model=model, k=k)
    check_index(settings)
    ensure_model(settings)
    pipeline = Pipeline(settings)
    named = corpus_named()
    with corpus_in_advice(settings.index_dir, settings.corpus_dir, named):
        pipeline.sources()  # the index loaded (or its error said) before the first prompt
        changes = FileChanges(pipeline, cited_folder(settings, named), settings.index_dir)
        click.echo(GREETING, err=True)

        def asked(question: str, history: tuple[Turn, ...]) -> Answer:
            return changes.noted(pipeline.ask(question, history=history, k=settings.k))

        _converse(sys.stdin.buffer, asked)


def _converse(stream: BinaryIO, ask: Asker) -> None:
    """Each line of `stream` asked with the conversation so far, its answer printed; a refused
    question (or a line that is not UTF-8) is said and leaves the conversation as it was."""
    from poleqa.query.conversation import recent, turn_after

    turns: list[Turn] = []
    lines = text_lines(stream)
    while True:
        click.echo("> ", nl=False, err=True)
        line = next(lines, None)
        if isinstance(line, UnicodeDecodeError):
            click.echo(f"Error: {not_utf8(line)}", err=True)
            continue
        if line is None or not line.strip():
            click.echo("" if line is not None else "\n", nl=False, err=True)  # Ctrl-D: a newline
            return
        try:
            answer = ask(line, recent(turns))
        except QuestionError as e:  # too long, no word…: the next line is asked all the same
            click.echo(f"Error: {shown_name(e.message)}", err=True)
            continue
        print_answer(answer)
        click.echo("")
        turns.append(turn_after(line, answer))


commands = [chat]
