"""The chat's feedback handlers: 👍/👎 and a comment on an answer, checked, limited, stored."""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr

from poleqa.feedback import MAX_COMMENT_CHARS, Feedback, FeedbackStore
from poleqa.text import thousands_fr
from poleqa.web import render
from poleqa.web.guards import InputError, RateLimiter, client_key, text_input
from poleqa.web.session import Exchange, Session, own_session

log = logging.getLogger("poleqa.web.app")

RATE_LIMITED = "Trop d'avis envoyés en peu de temps : réessayez dans une minute."
NOTHING_TO_RATE = "Aucune réponse à évaluer pour le moment."
THANKS = "Merci ! Votre avis a été enregistré."


class Ratings:
    """The chat's opinions on its answers (a part of ChatApp): the API's about the last answer,
    the page's about any answer of the conversation."""

    store: FeedbackStore
    feedback_limiter: RateLimiter
    _replies: itertools.count

    def rate_last(
        self,
        rating: str,
        comment: Any,
        session: Session | None,
        request: gr.Request | None = None,
    ) -> tuple[str, str]:
        """The API's feedback (`feedback_up`, `feedback_down`): about the last answer.
        Returns (status, comment box)."""
        answered = [e for e in own_session(session).snapshot() if e.answer is not None]
        if not answered:
            return render.message_html(NOTHING_TO_RATE, "info"), _keep(comment)
        reply = self._store(answered[-1], rating, comment, request)
        return render.message_html(reply.text, reply.kind), reply.comment

    def rate_answer(
        self, session: Session | None, event: gr.EventData, request: gr.Request | None = None
    ) -> str:
        """👍/👎 and comment on one answer, from its feedback control (`static/poleqa.js`).

        The event's data names the answer by its key; the reply (JSON, shown under that
        answer by the page) says whether the opinion was stored.
        """
        data = getattr(event, "_data", None)
        data = data if isinstance(data, dict) else {}  # anything may come from a crafted call
        key = data.get("answer")
        if not isinstance(key, str) or not key or len(key) > 64:
            return self._reply("", FeedbackReply("error", "Avis illisible.", ""))
        exchange = next((e for e in own_session(session).snapshot() if e.feedback_id == key), None)
        if exchange is None or exchange.answer is None:
            gone = FeedbackReply("info", "Cette réponse n'est plus dans la conversation.", "")
            return self._reply(key, gone)
        reply = self._store(exchange, data.get("rating"), data.get("comment", ""), request)
        return self._reply(key, reply)

    def _reply(self, key: str, reply: FeedbackReply) -> str:
        """What the page's feedback control reads; `seq` makes every reply a new value."""
        body = {"answer": key, "kind": reply.kind, "text": reply.text}
        body |= {"comment": reply.stored_comment, "seq": next(self._replies)}
        return json.dumps(body, ensure_ascii=False)

    def _store(
        self, exchange: Exchange, rating: Any, comment: Any, request: gr.Request | None
    ) -> FeedbackReply:
        assert exchange.answer is not None
        # Counted before anything else, refusals included: a script gets no free attempts.
        key = client_key(request)
        if not self.feedback_limiter.allow(key):
            log.warning(
                "refused feedback from %s: over %d a minute", key, self.feedback_limiter.limit
            )
            return FeedbackReply("error", RATE_LIMITED, _keep(comment))
        try:
            text = text_input(comment, "feedback", "Le commentaire")
        except InputError as e:
            return FeedbackReply("error", e.message_fr, "")
        if len(text) > MAX_COMMENT_CHARS:
            log.warning("refused feedback from %s: comment of %d characters", key, len(text))
            too_long = (
                f"Le commentaire est trop long ({thousands_fr(len(text))} caractères ; "
                f"{thousands_fr(MAX_COMMENT_CHARS)} au plus) : raccourcissez-le."
            )
            return FeedbackReply("error", too_long, text)
        if rating not in ("up", "down"):
            return FeedbackReply("error", "Avis inconnu.", text)
        try:
            record = Feedback.about(
                exchange.answer,
                rating,
                text,
                exchange.feedback_id,
                index_version=exchange.index_version,
            )
            self.store.add(record)
            exchange.rating = rating  # shown pressed if the page is drawn again (a reload)
        except OSError:
            log.exception("feedback could not be stored")
            failed = "Votre avis n'a pas pu être enregistré. Réessayez plus tard."
            return FeedbackReply("error", failed, text)
        thanks = "Merci ! Votre commentaire a été enregistré." if text.strip() else THANKS
        return FeedbackReply("ok", thanks, "", stored_comment=bool(text.strip()))


@dataclass(frozen=True)
class FeedbackReply:
    """The outcome of an opinion: its kind ("ok", "info", "error"), French text, and what the
    comment box should hold afterwards (emptied once stored, kept to be corrected)."""

    kind: str
    text: str
    comment: str
    stored_comment: bool = False


def _keep(comment: Any) -> str:
    """The comment box's value left as it was (emptied if a client sent something else)."""
    return comment if isinstance(comment, str) else ""
