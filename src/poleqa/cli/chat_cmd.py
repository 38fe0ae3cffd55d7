"""`poleqa chat`: questions one line after the other, a follow-up read with those before."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

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

Line = str | UnicodeDecodeError

GREETING = (
    "Posez vos questions, une par ligne ; une question de suite (« Et en 2020 ? ») se lit avec "
    "les précédentes. Ctrl-D pour finir."
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

    In a terminal, with a prompt, line editing and history; from a pipe or a file, each line
    (blank ones skipped). Answers go to stdout, refusals to stderr; the end of input (Ctrl-D)
    ends the conversation, Ctrl-C too (exit 130).
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
        changes = FileChanges(
            pipeline, cited_folder(settings, named), settings.index_dir, named=named
        )
        changes.advise_corpus()
        typed = sys.stdin.isatty()
        if typed:
            click.echo(GREETING, err=True)

        def asked(question: str, history: tuple[Turn, ...]) -> Answer:
            return changes.noted(pipeline.ask(question, history=history, k=settings.k))

        # Ctrl-C is the CLI's edge's (poleqa.cli): out at once, exit 130. A normal exit here
        # waited, now and then for ever, on the model runtimes' threads.
        answered, refused = _converse(
            _typed_lines() if typed else text_lines(sys.stdin.buffer), asked
        )
    if refused and not answered and not typed:  # a file of which no line could be asked
        click.echo(f"Error: no line was answered ({refused} refused)", err=True)
        sys.exit(2)


def _converse(lines: Iterator[Line], ask: Asker) -> tuple[int, int]:
    """Each line asked with the conversation so far, its answer printed; a refused question
    (or a line that is not UTF-8) is said and leaves the conversation as it was. Returns how
    many lines were answered and how many refused."""
    from poleqa.query.conversation import recent, turn_after

    turns: list[Turn] = []
    refused = 0
    for line in lines:
        if isinstance(line, UnicodeDecodeError):
            click.echo(f"Error: {not_utf8(line)}", err=True)
            refused += 1
            continue
        if not line.strip():
            continue
        try:
            answer = ask(line, recent(turns))
        except QuestionError as e:  # too long, no word…: the next line is asked all the same
            click.echo(f"Error: {shown_name(e.message)}", err=True)
            refused += 1
            continue
        print_answer(answer)
        click.echo("")
        turns.append(turn_after(line, answer))
    return len(turns), refused


def _typed_lines() -> Iterator[Line]:
    """The lines typed in a terminal, after a prompt, with line editing and history."""
    import readline  # noqa: F401 (`input` edits lines with it once imported)

    while True:
        try:
            yield input("> ")
        except EOFError:  # Ctrl-D: the prompt's line ended
            click.echo("", err=True)
            return
        except UnicodeDecodeError as e:
            yield e


commands = [chat]
