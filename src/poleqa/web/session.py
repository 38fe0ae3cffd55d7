"""A chat tab's conversation: one object per tab, changed in place under its lock."""

from __future__ import annotations

import secrets
import threading
from copy import deepcopy
from dataclasses import dataclass, replace
from typing import Any

from poleqa.query.conversation import recent, turn_after
from poleqa.types import Answer, Turn
from poleqa.web import render
from poleqa.web.answer_view import with_opinion

REFUSED_SHOWN = 300  # characters of a refused question shown in the conversation (and kept)
MAX_WAITING = 5  # questions of a tab waiting for their answers at once
MAX_EXCHANGES = 50  # exchanges a tab keeps (the oldest answered ones go)


@dataclass
class Exchange:
    """One question of a session and what was shown for it."""

    question: str
    html: str
    answer: Answer | None = None  # None when the question was refused or failed
    feedback_id: str = ""  # also the key of the answer's elements in the page
    index_version: str = ""  # the index generation that answered ("" if unknown)
    refused: bool = False  # the question itself was refused (too long…): the box keeps it
    # sent from the page and shown at once: « waiting » until an answering event takes it,
    # « pending » until its answer takes its place
    waiting: bool = False
    pending: bool = False
    rating: str = ""  # the opinion stored about the answer (« up », « down »), shown pressed


class Session:
    """Per-browser-tab state (kept by Gradio, never shared between users or tabs).

    A tab's events overlap: a question still being answered when the next is sent (from an
    example, or by the API), « Nouvelle conversation » clicked meanwhile. Every handler holds
    this one object and changes it under its lock, never a copy written back at its end
    (the last to finish would undo the others).
    """

    def __init__(self, exchanges: list[Exchange] | None = None) -> None:
        self.exchanges: list[Exchange] = list(exchanges or ())
        # what the tab keeps to find its conversation after a reload (poleqa.web.kept)
        self.key = secrets.token_urlsafe(18)
        # Set once a reloaded page took this conversation into its own: the old page's answer
        # still under way must not keep it again under the old key (a question sent since
        # unsets it: a duplicated tab's original is still used).
        self.handed_over = False
        # Bumped by « Nouvelle conversation »: an answer to an earlier one is not put back.
        self.generation = 0
        self._lock = threading.Lock()
        # Whether an event of the tab is answering its waiting questions, one after the other
        # (in order, each reading the answers before it): the tab's other events leave them to
        # it rather than wait, each in a slot of the server's few, doing nothing.
        self._answering = False

    def __deepcopy__(self, memo: dict[int, Any]) -> Session:
        """Gradio gives each new tab a deep copy of the initial value: with a lock of its own."""
        with self._lock:
            copy = Session(deepcopy(self.exchanges, memo))
            copy.generation = self.generation
        return copy

    def answered(self) -> list[Exchange]:
        """The answered exchanges, not copied (`take_back` makes the copies a page shows)."""
        with self._lock:
            return [e for e in self.exchanges if not e.pending]

    def take_back(self, earlier: list[Exchange]) -> None:
        """A reload's conversation put back before this page's own exchanges (a question may
        have been sent while the page loaded: it stays, after them), each opinion given shown
        pressed. (Only then: redrawn while shown, an answer would lose the comment being
        typed under it.)"""
        shown = [replace(e, html=with_opinion(e.html, e.feedback_id, e.rating)) for e in earlier]
        with self._lock:
            self.exchanges = [*shown, *self.exchanges][-MAX_EXCHANGES:]

    def begin(self) -> tuple[int, tuple[Turn, ...]]:
        """For a question just sent: its conversation, and the history resolving a follow-up."""
        with self._lock:
            return self.generation, _history(self.exchanges)

    def add(self, exchange: Exchange, generation: int) -> bool:
        """Appends `exchange`, unless its conversation was cleared since (False then)."""
        with self._lock:
            if generation != self.generation:
                return False
            self._append(exchange)
            return True

    def send(self, question: str) -> bool:
        """A question sent from the page: shown at once, in the order sent, until answered
        in its place (`claim`, then `fulfil`); False (nothing added) when MAX_WAITING already
        wait: a script sending without end would fill the server's memory."""
        with self._lock:
            if sum(e.waiting for e in self.exchanges) >= MAX_WAITING:
                return False
            self._append(Exchange(question, render.pending_html(), waiting=True, pending=True))
            # still used: a tab duplicated, its copy took the conversation, goes on in its own
            self.handed_over = False
            return True

    def _append(self, exchange: Exchange) -> None:
        """`exchange` added, the oldest answered ones dropped beyond MAX_EXCHANGES (under the
        lock)."""
        self.exchanges.append(exchange)
        extra = len(self.exchanges) - MAX_EXCHANGES
        if extra > 0:
            old = [e for e in self.exchanges if not e.pending][:extra]
            self.exchanges = [e for e in self.exchanges if not any(e is o for o in old)]

    def start_answering(self) -> bool:
        """Whether the calling event is to answer the tab's waiting questions (`claim` until it
        gives None): False when none waits, or when another event of the tab answers them."""
        with self._lock:
            if self._answering or not any(e.waiting for e in self.exchanges):
                return False
            self._answering = True
            return True

    def stop_answering(self) -> None:
        """The answering event ends (`claim` said so when nothing was left; this is for one
        that stops before)."""
        with self._lock:
            self._answering = False

    def claim(self) -> tuple[int, Exchange, tuple[Turn, ...]] | None:
        """The first question sent and waiting, now being answered: its conversation, the
        exchange and the history before it (the questions sent earlier and still being answered
        count, without their answers); None when none waits, the answering then over (in the
        same step: a question sent just after finds no event answering, and its own answers)."""
        with self._lock:
            for at, exchange in enumerate(self.exchanges):
                if exchange.waiting:
                    exchange.waiting = False
                    return self.generation, exchange, _history(self.exchanges[:at])
            self._answering = False
            return None

    def fulfil(self, sent: Exchange, exchange: Exchange, generation: int) -> bool:
        """`exchange` in the place of the question `sent`, unless its conversation was cleared
        since (False then)."""
        with self._lock:
            if generation != self.generation:
                return False
            for at, shown in enumerate(self.exchanges):
                if shown is sent:
                    self.exchanges[at] = exchange
                    return True
            return False

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
            # a refused question is back in the box: a few lines of it say which it was
            limit = REFUSED_SHOWN if e.refused else render.QUESTION_SHOWN
            out.append({"role": "user", "content": render.question_html(e.question, limit)})
            out.append({"role": "assistant", "content": e.html})
        return out


def _history(exchanges: list[Exchange]) -> tuple[Turn, ...]:
    """The last answered exchanges, each as understood (`turn_after`); a question still
    being answered as asked, without an answer."""
    return recent([turn_after(e.question, e.answer) for e in exchanges if _asked(e)])


def _asked(exchange: Exchange) -> bool:
    return exchange.answer is not None or exchange.pending


def own_session(session: Session | None) -> Session:
    """The tab's session (Gradio always passes it; a direct call may not)."""
    return session if isinstance(session, Session) else Session()
