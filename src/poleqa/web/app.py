"""The citizens' chat: its Gradio Blocks and handlers (asking, new conversation, feedback only)."""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from poleqa.errors import IndexError_, PoleqaError, QuestionError
from poleqa.feedback import MAX_COMMENT_CHARS, Feedback, FeedbackStore
from poleqa.types import Turn
from poleqa.web import render
from poleqa.web.answer_view import answer_html
from poleqa.web.common import PREPARING, IndexWatcher, PipelineLike, Readiness, Served, theme
from poleqa.web.guards import InputError, RateLimiter, client_key, text_input
from poleqa.web.session import Exchange, Session

__all__ = ["EXAMPLES", "ChatApp", "Exchange", "IndexWatcher", "PipelineLike", "Session", "theme"]

log = logging.getLogger(__name__)

EXAMPLES = (
    "Combien de pôles de compétitivité ont été labellisés en 2023 ?",
    "Combien de membres compte un pôle de compétitivité en moyenne ?",
    "Quels pôles ont leur siège en région Centre ?",
    "En quelle année la politique des pôles de compétitivité a-t-elle été lancée ?",
)
# A person gives a few opinions a minute; more from one address is a script filling the disk.
FEEDBACK_PER_MINUTE = 10
RATE_LIMITED = "Trop d'avis envoyés en peu de temps : réessayez dans une minute."
NOTHING_TO_RATE = "Aucune réponse à évaluer pour le moment."
THANKS = "Merci ! Votre avis a été enregistré."


class ChatApp(Served):
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
        readiness: Readiness | None = None,
    ) -> None:
        super().__init__(pipeline, store, watcher, k, readiness)
        self.feedback_limiter = feedback_limiter or RateLimiter(FEEDBACK_PER_MINUTE)
        self._replies = itertools.count(1)

    def ask(self, question: Any, session: Session | None) -> tuple[Any, list, Session, str]:
        """Answer through the API; returns (the box, messages, session, status line): the box
        is emptied, unless the question was refused (too long…)."""
        box, messages, session, status = self.ask_in_page(question, session)
        return (box if isinstance(box, str) else ""), messages, session, status  # not gr.skip()

    def ask_in_page(self, question: Any, session: Session | None) -> tuple[Any, list, Session, str]:
        """Answer in the chat page, whose box the browser empties when the question is sent
        (`CLEAR_BOX`): the box is left as the user has it since (the next question may be
        half typed), unless the question was refused (too long…): it is put back then.

        The exchange joins the tab's conversation when its answer is ready, unless
        « Nouvelle conversation » was clicked meanwhile: it is dropped then, and the box left
        as it is (it may already hold the new conversation's first question).
        """
        session = _own(session)
        try:
            question = text_input(question, "question", "La question")
        except InputError as e:  # only a crafted API call sends a non-text question
            return "", session.messages(), session, render.message_html(e.message_fr)
        generation, history = session.begin()
        if self.readiness.ready:
            exchange, status = self._answer(question, history), ""
        else:
            exchange = Exchange(question, render.message_html(PREPARING, "info"))
            status = self.status()
        added = session.add(exchange, generation)
        # a refused question goes back in the box, to be shortened or corrected
        box = question if added and exchange.refused else gr.skip()
        return box, session.messages(), session, status

    def _answer(self, question: str, history: tuple[Turn, ...]) -> Exchange:
        """The exchange of one question: its answer, or the French message saying why none."""
        try:
            self.watcher.check()
            answer = self.pipeline.ask(question, history=history, k=self.k)
            key = uuid.uuid4().hex
            html = answer_html(answer, key)
            # the generation that answered, not the one served when the answer is shown: a
            # reload may finish while the question is read
            version = answer.index_version or self.watcher.version()
            return Exchange(question, html, answer, key, version)
        except IndexError_ as e:  # its French says what to run: the team's business
            log.error("the index cannot serve questions: %s", e.message)
            return Exchange(question, render.message_html(render.UNAVAILABLE))
        except QuestionError as e:
            return Exchange(question, render.message_html(e.message_fr), refused=True)
        except PoleqaError as e:
            return Exchange(question, render.message_html(e.message_fr))
        except Exception:
            log.exception("unexpected error answering %r", question[:200])
            return Exchange(question, render.message_html(render.GENERIC_ERROR))

    def new_conversation(self, session: Session | None) -> tuple[str, list, Session, str, str]:
        """Empties the tab's conversation in place: the answers still awaited are dropped."""
        session = _own(session)
        session.clear()
        return "", [], session, "", self.status()

    def status(self) -> str:
        """The status line: what is being prepared, until the index is ready."""
        text = self.readiness.status()
        return render.message_html(text, "info") if text else ""

    def poll_status(self) -> tuple[str, Any]:
        """The status line and the timer that refreshes it, stopped once the index is ready."""
        return self.status(), gr.Timer(active=not self.readiness.ready)

    def rate_last(
        self,
        rating: str,
        comment: Any,
        session: Session | None,
        request: gr.Request | None = None,
    ) -> tuple[str, str]:
        """The API's feedback (`feedback_up`, `feedback_down`): about the last answer.
        Returns (status, comment box)."""
        answered = [e for e in _own(session).snapshot() if e.answer is not None]
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
        exchange = next((e for e in _own(session).snapshot() if e.feedback_id == key), None)
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
                f"Le commentaire est trop long ({len(text)} caractères ; "
                f"{MAX_COMMENT_CHARS} au plus) : raccourcissez-le."
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


def _own(session: Session | None) -> Session:
    """The tab's session (Gradio always passes it; a direct call may not)."""
    return session if isinstance(session, Session) else Session()


HEADER = (
    '<div class="pq-header"><h1>Questions sur les pôles de compétitivité</h1>'
    "<p>La réponse est recopiée des documents officiels, avec ses sources numérotées.</p></div>"
)
PLACEHOLDER = "Posez votre question ci-dessous ou choisissez un exemple."
STATUS_EVERY = 2.0  # seconds between two refreshes of the status line while preparing
CHAT_JS = (Path(__file__).parent / "static" / "poleqa.js").read_text(encoding="utf-8")
# Run in the browser as a question is sent: the box is emptied at once (an input event, so that
# Gradio's own value follows), the question goes to the server as typed.
CLEAR_BOX = """(question, session) => {
  const box = document.querySelector("#pq-question textarea");
  if (box) { box.value = ""; box.dispatchEvent(new Event("input", { bubbles: true })); }
  return [question, session];
}"""


def build_blocks(chat: ChatApp, examples: tuple[str, ...] = EXAMPLES) -> gr.Blocks:
    """The citizens' page; `chat` holds the shared pipeline. Nothing here is for staff only.

    The conversation takes the page's height (`fill_height`), the question box stays under
    it; the examples show in the empty conversation.
    """
    with gr.Blocks(
        title="poleqa — pôles de compétitivité", analytics_enabled=False, fill_height=True
    ) as demo:
        with gr.Row(elem_id="pq-top", equal_height=True):
            gr.HTML(HEADER, js_on_load=None, container=False, padding=False)
            new = gr.Button(
                "Nouvelle conversation", elem_id="pq-new", size="sm", variant="secondary"
            )
        session = gr.State(Session())
        chatbot = gr.Chatbot(
            label="Conversation",
            show_label=False,
            elem_id="pq-chat",
            scale=1,
            height="100%",
            min_height=240,
            sanitize_html=True,
            render_markdown=True,
            latex_delimiters=[],
            allow_tags=False,
            feedback_options=None,
            buttons=[],
            placeholder=PLACEHOLDER,
            examples=[{"text": q} for q in examples],
            autoscroll=False,  # static/poleqa.js scrolls: a new answer from its beginning
        )
        status = _asking(chat, examples, session, chatbot, new)
        # While the index is being prepared (first start), the status line says so and is
        # refreshed every few seconds; the timer stops once the chat can answer. Both outside
        # the queue: when a queued refresh ends just as a question is sent, Gradio closes the
        # page's event stream and its client opens no other one, so the question never gets
        # its answer (seen in the browser tests: 1 page in 60 asking at once after loading).
        timer = gr.Timer(STATUS_EVERY, active=not chat.readiness.ready)
        demo.load(chat.poll_status, None, [status, timer], api_name=False, queue=False)
        timer.tick(chat.poll_status, None, [status, timer], api_name=False, queue=False)
    return demo


def _asking(
    chat: ChatApp,
    examples: tuple[str, ...],
    session: gr.State,
    chatbot: gr.Chatbot,
    new: gr.Button,
) -> gr.HTML:
    """Question box, examples, feedback (each answer's control, and the API's about the last
    answer) and « Nouvelle conversation », wired to `chat`; returns the status line."""
    with gr.Row(elem_id="pq-ask", equal_height=True):
        question = gr.Textbox(
            label="Votre question",
            show_label=False,
            placeholder="Posez votre question…",
            elem_id="pq-question",
            scale=5,
            min_width=0,
            max_lines=6,
            autofocus=True,
            container=False,
        )
        send = gr.Button("Envoyer", variant="primary", elem_id="pq-send", scale=0, min_width=0)
    status = gr.HTML("", elem_id="pq-status", js_on_load=None, container=False, padding=False)
    # The per-answer feedback's messenger: runs poleqa.js, shows nothing.
    controller = gr.HTML(
        "",
        html_template="",
        js_on_load=CHAT_JS,
        elem_id="pq-controller",
        container=False,
        padding=False,
    )
    # For the API only (feedback_up / feedback_down about the last answer): never shown.
    api_comment = gr.Textbox(visible=False, label="Commentaire", max_length=MAX_COMMENT_CHARS)
    api_status = gr.HTML(visible=False, js_on_load=None)

    ask_out = [question, chatbot, session, status]
    # Unprocessed inputs: ChatApp checks their types itself and answers in French.
    raw: dict[str, Any] = {"preprocess": False}
    # Gradio's concurrency limit holds per listener: the ones that ask share theirs, so the
    # pipeline answers `concurrency` questions at once whatever sent them (the same for
    # opinions).
    asking: dict[str, Any] = {"concurrency_id": "ask"}
    rating: dict[str, Any] = {"concurrency_id": "feedback", **raw}
    # Enter and « Envoyer » are one event (Gradio's « once » is per event: the other one would
    # send the question again while it is answered). The browser empties the box as it sends:
    # emptied by the reply, it lost what was typed meanwhile.
    gr.on(
        [send.click, question.submit],
        chat.ask_in_page,
        [question, session],
        ask_out,
        api_name=False,
        trigger_mode="once",
        js=CLEAR_BOX,
        **asking,
        **raw,
    )
    # The API's « ask » (no browser to empty the box): the reply empties it.
    gr.Button(visible=False).click(
        chat.ask, [question, session], ask_out, api_name="ask", **asking, **raw
    )

    # EventData, not SelectData: SelectData reads its « index » when Gradio makes it, and a
    # crafted call without one got Python's error text back (and a traceback in the log).
    def ask_example(s: Session | None, event: gr.EventData) -> tuple[Any, Any, Any, Any]:
        data = getattr(event, "_data", None)
        index = data.get("index") if isinstance(data, dict) else None
        if type(index) is not int or not 0 <= index < len(examples):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()  # no such example: nothing asked
        return chat.ask_in_page(examples[index], s)

    chatbot.example_select(ask_example, [session], ask_out, api_name=False, **asking)
    reset_out = [question, chatbot, session, api_comment, status]
    new.click(chat.new_conversation, [session], reset_out, api_name="new_conversation")
    _rating(chat, session, controller, api_comment, api_status, rating)
    return status


def _rating(
    chat: ChatApp,
    session: gr.State,
    controller: gr.HTML,
    api_comment: gr.Textbox,
    api_status: gr.HTML,
    rating: dict[str, Any],
) -> None:
    """Feedback wired to `chat`: each answer's control, and the API's about the last answer."""
    controller.feedback(chat.rate_answer, [session], [controller], api_name=False, **rating)
    for value in ("up", "down"):
        hidden = gr.Button(visible=False)
        hidden.click(
            chat.rate_last,
            [gr.State(value), api_comment, session],
            [api_status, api_comment],
            api_name=f"feedback_{value}",
            **rating,
        )
