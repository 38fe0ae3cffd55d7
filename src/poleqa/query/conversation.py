"""A conversation's earlier exchanges, as the follow-up resolver reads them (chat and CLI)."""

from __future__ import annotations

from collections.abc import Sequence

from poleqa.query import plain_question
from poleqa.types import Answer, Turn

HISTORY_TURNS = 3  # earlier exchanges passed to the pipeline to resolve follow-up questions


def turn_after(question: str, answer: Answer | None) -> Turn:
    """An exchange as understood: a follow-up completed, markup stripped (« Et en 2020 ? »
    after « Et en 2019 ? » completes the question of 2019); no answer when it abstained or
    has none yet."""
    if answer is None:
        return Turn(plain_question(question), None)
    return Turn(
        answer.resolved_question or plain_question(question),
        None if answer.abstained else answer.text,
    )


def recent(turns: Sequence[Turn]) -> tuple[Turn, ...]:
    """The turns a follow-up is read with: the last HISTORY_TURNS."""
    return tuple(turns[-HISTORY_TURNS:])
