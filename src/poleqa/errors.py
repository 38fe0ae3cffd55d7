"""poleqa's one error hierarchy; the CLI and the web app translate it into messages at the edge."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path


class PoleqaError(Exception):
    """Base class. `message` is English (CLI, logs); `message_fr` is shown to chat users."""

    message_fr = "Une erreur est survenue."

    def __init__(self, message: str, message_fr: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if message_fr is not None:
            self.message_fr = message_fr

    def __reduce__(self) -> tuple:
        # Both messages survive pickling (an index built in a child process raises in the parent).
        return (self.__class__, (self.message, self.message_fr))


class CorpusError(PoleqaError):
    """The corpus folder is missing or holds nothing readable."""

    message_fr = "Le dossier des documents est introuvable ou vide."


class IngestError(PoleqaError):
    """One file cannot be read (corrupted, binary, empty, unsupported)."""

    message_fr = "Ce fichier ne peut pas être lu."


class EmbedderError(PoleqaError):
    """The embedding model cannot be found, converted or loaded."""

    message_fr = "Le modèle de langue n'a pas pu être chargé."


class IndexError_(PoleqaError):
    """Base for index problems (named with a trailing underscore to keep the builtin usable)."""

    message_fr = "L'index des documents est inutilisable : il doit être reconstruit."


class IndexMissingError(IndexError_):
    """No index has been built at that location yet."""

    message_fr = "Aucun index n'a encore été construit : lancez `poleqa index`."


class IndexMismatchError(IndexError_):
    """The index was built with another embedder, chunking or format version."""

    message_fr = (
        "L'index a été construit avec d'autres réglages (modèle ou version) : "
        "il doit être reconstruit avec `poleqa index`."
    )


class IndexOtherCorpusError(IndexError_):
    """The index was built from another corpus folder: a build from this one would replace its
    documents (`poleqa index --replace` does it on purpose)."""

    message_fr = (
        "L'index a été construit à partir d'un autre dossier de documents : il n'est pas "
        "remplacé sans le demander."
    )


class IndexCorruptedError(IndexError_):
    """A file of the index is missing, truncated or does not match its manifest."""

    message_fr = "L'index est endommagé : il doit être reconstruit avec `poleqa index`."


class QuestionError(PoleqaError):
    """The question is empty, only punctuation, or too long."""

    message_fr = "La question n'est pas valable."


class QuestionSetError(PoleqaError):
    """A question-set file (JSONL/CSV) is malformed."""

    message_fr = "Le fichier de questions est mal formé."


class ReportError(PoleqaError):
    """An earlier report.json given to compare with (`poleqa eval --compare`) cannot be read or
    holds no metrics: a bad argument, said before the run (exit 2)."""

    message_fr = "Le rapport d'évaluation à comparer est illisible."


class ReaderError(PoleqaError):
    """The trained reader's weights are missing, damaged, incomplete or made for another base
    model, or the span model failed while reading."""

    message_fr = "Le modèle de lecture n'a pas pu être chargé."


class RankerError(PoleqaError):
    """The passage ranker's file is missing, damaged or fit on other features."""

    message_fr = "Le modèle de classement des passages n'a pas pu être chargé."


# The errors of a bad input file or value: exit status 2 (a usage error), not 1.
BAD_INPUT = (QuestionError, QuestionSetError, ReportError)


def run_tool(main: Callable[[], None]) -> None:
    """The edge of a developer tool (`python -m poleqa.reading.training`, …): poleqa's errors
    become one line on stderr and exit status 2 for bad input files, 1 otherwise."""
    try:
        main()
    except PoleqaError as e:
        print(f"Error: {e.message}", file=sys.stderr)
        bad_input = isinstance(e, BAD_INPUT)
        raise SystemExit(2 if bad_input else 1) from None


def writable(path: Path) -> Path:
    """`path`, its folder made; PoleqaError now, not after a tool's long run, if it cannot be
    written there."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        # mkdir says « File exists » of a file standing where a folder of the path should be
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocking} is a file, not a folder" if blocking else e.strerror or e
        raise PoleqaError(f"Cannot write {path}: {why}") from e
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PoleqaError(f"Cannot write {path}: permission denied")
    return path
