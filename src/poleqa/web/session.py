"""A chat tab's conversation: one object per tab, changed in place under its lock."""

from __future__ import annotations

import threading
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from poleqa.query import plain_question
from poleqa.types import Answer, Turn
from poleqa.web import render

HISTORY_TURNS = 3  # earlier exchanges passed to the pipeline to resolve follow-up questions


@dataclass
class Exchange:
    """One question of a session and what was shown for it."""

    question: str
    html: str
    answer: Answer | None = None  # None when the question was refused or failed
    feedback_id: str = ""  # also the key of the answer's elements in the page
    index_version: str = ""  # the index generation that answered ("" if unknown)
    refused: bool = False  # the question itself was refused (too long…): the box keeps it


class Session:
    """Per-browser-tab state (kept by Gradio, never shared between users or tabs).

    A tab's events overlap: a question still being answered when the next is sent (from an
    example, or by the API), « Nouvelle conversation » clicked meanwhile. Every handler holds
    this one object and changes it under its lock, never a copy written back at its end
    (the last to finish would undo the others).
    """

    def __init__(self, exchanges: list[Exchange] | None = None) -> None:
        self.exchanges: list[Exchange] = list(exchanges or ())
        # Bumped by « Nouvelle conversation »: an answer to an earlier one is not put back.
        self.generation = 0
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> Session:
        """Gradio gives each new tab a deep copy of the initial value: with a lock of its own."""
        with self._lock:
            copy = Session(deepcopy(self.exchanges, memo))
            copy.generation = self.generation
        return copy

    def begin(self) -> tuple[int, tuple[Turn, ...]]:
        """For a question just sent: its conversation, and the history resolving a follow-up."""
        with self._lock:
            return self.generation, _history(self.exchanges)

    def add(self, exchange: Exchange, generation: int) -> bool:
        """Appends `exchange`, unless its conversation was cleared since (False then)."""
        with self._lock:
            if generation != self.generation:
                return False
            self.exchanges.append(exchange)
            return True

    def clear(self) -> None:
        """« Nouvelle conversation »: the questions still being answered are dropped too."""
        with self._lock:
            self.exchanges = []
            self.generation += 1

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)

    def history(self) -> tuple[Turn, ...]:
        return _history(self.snapshot())

    def messages(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for e in self.snapshot():
            out.append({"role": "user", "content": render.question_html(e.question)})
            out.append({"role": "assistant", "content": e.html})
        return out


def _history(exchanges: list[Exchange]) -> tuple[Turn, ...]:
    """The last answered exchanges, each as understood: a follow-up completed, markup stripped
    (« Et en 2020 ? » after « Et en 2019 ? » completes the question of 2019)."""
    answered = [e for e in exchanges if e.answer is not None]
    return tuple(
        Turn(
            e.answer.resolved_question or plain_question(e.question),
            None if e.answer.abstained else e.answer.text,
        )
        for e in answered[-HISTORY_TURNS:]
        if e.answer is not None
    )
