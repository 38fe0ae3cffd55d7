"""`poleqa chat`: questions one line after the other, a follow-up read with those before."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import click

from poleqa.cli.ask_cmd import check_index, print_answer
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
        _converse(sys.stdin, lambda q, h: changes.noted(pipeline.ask(q, history=h, k=settings.k)))


def _converse(lines: TextIO, ask: Asker) -> None:
    """Each line of `lines` asked with the conversation so far, its answer printed; a refused
    question is said and leaves the conversation as it was."""
    from poleqa.query.conversation import recent, turn_after

    turns: list[Turn] = []
    while True:
        click.echo("> ", nl=False, err=True)
        line = lines.readline()
        question = line.rstrip("\r\n")
        if not question.strip():
            click.echo("" if line else "\n", nl=False, err=True)  # Ctrl-D: the prompt's line
            return
        try:
            answer = ask(question, recent(turns))
        except QuestionError as e:  # too long, no word…: the next line is asked all the same
            click.echo(f"Error: {shown_name(e.message)}", err=True)
            continue
        print_answer(answer)
        click.echo("")
        turns.append(turn_after(question, answer))


commands = [chat]
