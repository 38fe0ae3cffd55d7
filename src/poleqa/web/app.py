"""The citizens' chat: its Gradio Blocks and handlers (asking, new conversation, feedback only)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from poleqa.errors import PoleqaError
from poleqa.feedback import MAX_COMMENT_CHARS, Feedback, FeedbackStore
from poleqa.types import Answer, Turn
from poleqa.web import render
from poleqa.web.common import IndexWatcher, PipelineLike, theme
from poleqa.web.guards import InputError, RateLimiter, client_key, text_input

__all__ = ["EXAMPLES", "ChatApp", "Exchange", "IndexWatcher", "PipelineLike", "Session", "theme"]

log = logging.getLogger(__name__)

EXAMPLES = (
    "Combien de pôles de compétitivité ont été labellisés en 2023 ?",
    "Combien de membres compte un pôle de compétitivité en moyenne ?",
    "Quels pôles ont leur siège en région Centre ?",
    "En quelle année la politique des pôles de compétitivité a-t-elle été lancée ?",
)
HISTORY_TURNS = 3  # earlier exchanges passed to the pipeline to resolve follow-up questions
# A person gives a few opinions a minute; more from one address is a script filling the disk.
FEEDBACK_PER_MINUTE = 10
RATE_LIMITED = "Trop d'avis envoyés en peu de temps : réessayez dans une minute."


@dataclass
class Exchange:
    """One question of a session and what was shown for it."""

    question: str
    html: str
    answer: Answer | None = None  # None when the question was refused or failed
    feedback_id: str = ""


@dataclass
class Session:
    """Per-browser-tab state (kept by Gradio, never shared between users)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def history(self) -> tuple[Turn, ...]:
        answered = [e for e in self.exchanges if e.answer is not None]
        return tuple(
            Turn(e.question, None if e.answer is None or e.answer.abstained else e.answer.text)
            for e in answered[-HISTORY_TURNS:]
        )

    def messages(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for e in self.exchanges:
            out.append({"role": "user", "content": render.question_html(e.question)})
            out.append({"role": "assistant", "content": e.html})
        return out


class ChatApp:
    """Event handlers of the chat, bound to one shared pipeline and feedback store.

    The handlers receive what clients sent unprocessed (`preprocess=False`): anything may come
    through the API, so each value is checked here and refused with a French message.
    """

    def __init__(
        self,
        pipeline: PipelineLike,
        store: FeedbackStore,
        watcher: IndexWatcher | None = None,
        k: int = 5,
        feedback_limiter: RateLimiter | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.watcher = watcher or IndexWatcher(pipeline, None)
        self.k = k
        self.feedback_limiter = feedback_limiter or RateLimiter(FEEDBACK_PER_MINUTE)

    def ask(self, question: Any, session: Session | None) -> tuple[str, list, Session, str]:
        """Answer in the chat; returns (emptied box, messages, session, status line)."""
        session = _copy(session)
        try:
            question = text_input(question, "question", "La question")
        except InputError as e:  # only a crafted API call sends a non-text question
            return "", session.messages(), session, render.message_html(e.message_fr)
        try:
            self.watcher.check()
            answer = self.pipeline.ask(question, history=session.history(), k=self.k)
            exchange = Exchange(question, render.answer_html(answer), answer, uuid.uuid4().hex)
        except PoleqaError as e:
            exchange = Exchange(question, render.message_html(e.message_fr))
        except Exception:
            log.exception("unexpected error answering %r", question[:200])
            exchange = Exchange(question, render.message_html(render.GENERIC_ERROR))
        session.exchanges.append(exchange)
        return "", session.messages(), session, ""

    def new_conversation(self) -> tuple[str, list, Session, str, str]:
        return "", [], Session(), "", ""

    def rate_last(
        self,
        rating: str,
        comment: Any,
        session: Session | None,
        request: gr.Request | None = None,
    ) -> tuple[str, str]:
        """Feedback buttons under the chat: about the last answer. Returns (status, comment)."""
        session = session or Session()
        answered = [e for e in session.exchanges if e.answer is not None]
        if not answered:
            info = render.message_html("Aucune réponse à évaluer pour le moment.", "info")
            return info, _keep(comment)
        return self._store(answered[-1], rating, comment, request)

    def rate_message(
        self,
        comment: Any,
        session: Session | None,
        like: gr.LikeData,
        request: gr.Request | None = None,
    ) -> tuple[str, str]:
        """👍/👎 on a message of the chat (the assistant's message n is exchange n // 2)."""
        session = session or Session()
        index = like.index if isinstance(like.index, int) else like.index[0]
        if not isinstance(index, int) or index % 2 != 1 or index // 2 >= len(session.exchanges):
            info = render.message_html("Seules les réponses peuvent être évaluées.", "info")
            return info, _keep(comment)
        exchange = session.exchanges[index // 2]
        if exchange.answer is None:
            return render.message_html("Ce message n'est pas une réponse.", "info"), _keep(comment)
        if like.liked is True:
            rating = "up"
        elif like.liked is False:
            rating = "down"
        else:
            return "", _keep(comment)  # the thumb was clicked again to undo: nothing to store
        return self._store(exchange, rating, comment, request)

    def _store(
        self, exchange: Exchange, rating: str, comment: Any, request: gr.Request | None
    ) -> tuple[str, str]:
        assert exchange.answer is not None
        # Counted before anything else, refusals included: a script gets no free attempts.
        key = client_key(request)
        if not self.feedback_limiter.allow(key):
            log.warning(
                "refused feedback from %s: over %d a minute", key, self.feedback_limiter.limit
            )
            return render.message_html(RATE_LIMITED), _keep(comment)
        try:
            text = text_input(comment, "feedback", "Le commentaire")
        except InputError as e:
            return render.message_html(e.message_fr), ""
        if len(text) > MAX_COMMENT_CHARS:
            log.warning("refused feedback from %s: comment of %d characters", key, len(text))
            return render.message_html(
                f"Le commentaire est trop long ({len(text)} caractères ; "
                f"{MAX_COMMENT_CHARS} au plus) : raccourcissez-le.",
            ), text
        if rating not in ("up", "down"):
            return render.message_html("Avis inconnu.", "error"), text
        try:
            self.store.add(Feedback.about(exchange.answer, rating, text, exchange.feedback_id))
        except OSError:
            log.exception("feedback could not be stored")
            return render.message_html(
                "Votre avis n'a pas pu être enregistré. Réessayez plus tard.", "error"
            ), text
        return render.message_html("Merci ! Votre avis a été enregistré.", "ok"), ""


def _keep(comment: Any) -> str:
    """The comment box's value left as it was (emptied if a client sent something else)."""
    return comment if isinstance(comment, str) else ""


def _copy(session: Session | None) -> Session:
    return Session(list(session.exchanges)) if isinstance(session, Session) else Session()


HEADER = (
    '<div class="pq-header"><h1>Questions sur les pôles de compétitivité</h1>'
    "<p>Posez une question : la réponse est recopiée des documents officiels, "
    "avec ses sources numérotées.</p></div>"
)


def build_blocks(chat: ChatApp, examples: tuple[str, ...] = EXAMPLES) -> gr.Blocks:
    """The citizens' page; `chat` holds the shared pipeline. Nothing here is for staff only."""
    with gr.Blocks(title="poleqa — pôles de compétitivité", analytics_enabled=False) as demo:
        gr.HTML(HEADER, js_on_load=None)
        session = gr.State(Session())
        chatbot = gr.Chatbot(
            label="Conversation",
            elem_id="pq-chat",
            height=560,
            sanitize_html=True,
            render_markdown=True,
            latex_delimiters=[],
            allow_tags=False,
            feedback_options=("Like", "Dislike"),
            buttons=["copy"],
            placeholder="Posez votre question ci-dessous ou choisissez un exemple.",
        )
        _asking(chat, examples, session, chatbot)
    return demo


def _asking(
    chat: ChatApp, examples: tuple[str, ...], session: gr.State, chatbot: gr.Chatbot
) -> None:
    """Question box, examples, feedback and « Nouvelle conversation », wired to `chat`."""
    with gr.Row():
        question = gr.Textbox(
            label="Votre question",
            placeholder="Par exemple : combien de pôles ont été labellisés en 2023 ?",
            elem_id="pq-question",
            scale=5,
            max_lines=6,
            autofocus=True,
        )
        send = gr.Button("Envoyer", variant="primary", elem_id="pq-send", scale=1)
    gr.Markdown("**Exemples de questions :**")
    with gr.Row():
        example_buttons = [gr.Button(q, size="sm", elem_classes=["pq-example"]) for q in examples]
    with gr.Row():
        comment = gr.Textbox(
            label="Votre avis sur la dernière réponse (commentaire facultatif)",
            elem_id="pq-comment",
            scale=4,
            max_lines=4,
            max_length=MAX_COMMENT_CHARS,
        )
        thumbs_up = gr.Button("👍 Utile", elem_id="pq-up", scale=1)
        thumbs_down = gr.Button("👎 Pas utile", elem_id="pq-down", scale=1)
    status = gr.HTML("", elem_id="pq-status", js_on_load=None)
    new = gr.Button("Nouvelle conversation", elem_id="pq-new")

    ask_out = [question, chatbot, session, status]
    # Unprocessed inputs: ChatApp checks their types itself and answers in French.
    raw: dict[str, Any] = {"preprocess": False}
    send.click(chat.ask, [question, session], ask_out, api_name="ask", **raw)
    question.submit(chat.ask, [question, session], ask_out, api_name=False, **raw)
    for button, text in zip(example_buttons, examples, strict=True):
        button.click(lambda s, t=text: chat.ask(t, s), [session], ask_out, api_name=False)
    reset_out = [question, chatbot, session, comment, status]
    new.click(chat.new_conversation, None, reset_out, api_name="new_conversation")
    # The chat's own bin button empties the display: forget the session with it.
    chatbot.clear(chat.new_conversation, None, reset_out, api_name=False)
    for button, rating in ((thumbs_up, "up"), (thumbs_down, "down")):
        button.click(
            chat.rate_last,
            [gr.State(rating), comment, session],
            [status, comment],
            api_name=f"feedback_{rating}",
            **raw,
        )
    chatbot.like(chat.rate_message, [comment, session], [status, comment], api_name=False, **raw)
