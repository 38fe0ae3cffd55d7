"""The citizens' chat: its Gradio Blocks and handlers (asking, new conversation, feedback only)."""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from poleqa.config import MAX_QUESTION_CHARS
from poleqa.errors import IndexError_, PoleqaError, QuestionError
from poleqa.feedback import MAX_COMMENT_CHARS, FeedbackStore
from poleqa.query import check_question
from poleqa.types import Turn
from poleqa.web import render
from poleqa.web.answer_view import answer_html
from poleqa.web.common import PREPARING, IndexWatcher, PipelineLike, Readiness, Served, theme
from poleqa.web.guards import InputError, RateLimiter, client_key, text_input
from poleqa.web.kept import (
    FORGET_ON_NEW,
    FORGET_PENDING,
    REMEMBER_PENDING,
    KeptConversations,
    keep_across_reloads,
)
from poleqa.web.ratings import Ratings
from poleqa.web.server import FEEDBACK_PER_MINUTE
from poleqa.web.session import REFUSED_SHOWN, Exchange, Session, own_session

__all__ = ["EXAMPLES", "ChatApp", "Exchange", "IndexWatcher", "PipelineLike", "Session", "theme"]

log = logging.getLogger(__name__)

EXAMPLES = (
    "Combien de pôles de compétitivité ont été labellisés en 2023 ?",
    "Combien de membres compte un pôle de compétitivité en moyenne ?",
    "Quels pôles ont leur siège en région Centre ?",
    "En quelle année la politique des pôles de compétitivité a-t-elle été lancée ?",
)
TOO_MANY = (
    "Plusieurs questions attendent déjà leur réponse : envoyez celle-ci quand elles l'auront."
)


class ChatApp(Ratings, Served):
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
        max_question_chars: int = MAX_QUESTION_CHARS,
        kept: KeptConversations | None = None,
    ) -> None:
        super().__init__(pipeline, store, watcher, k, readiness)
        self.max_question_chars = max_question_chars  # refused before being asked
        self.kept = kept or KeptConversations()  # the tabs' conversations, for a reload
        self.feedback_limiter = feedback_limiter or RateLimiter(FEEDBACK_PER_MINUTE)
        self._replies = itertools.count(1)

    def ask(self, question: Any, session: Session | None) -> tuple[str, list, Session, str]:
        """Answer through the API; returns (the box, messages, session, status line): the box
        is emptied, unless the question was refused (too long…): it is given back then.

        The exchange joins the tab's conversation when its answer is ready, unless
        « Nouvelle conversation » was called meanwhile: it is dropped then."""
        session = own_session(session)
        try:
            question = text_input(question, "question", "La question")
        except InputError as e:  # only a crafted API call sends a non-text question
            return "", session.messages(), session, render.message_html(e.message_fr)
        generation, history = session.begin()
        exchange, status = self._answer_when_ready(question, history)
        added = session.add(exchange, generation)
        return (question if added and exchange.refused else ""), session.messages(), session, status

    def send_in_page(self, question: Any, session: Session | None) -> tuple[Any, Any, Session, Any]:
        """A question sent from the page (Enter, « Envoyer », an example): shown at once in the
        conversation, then answered in its place by `answer_in_page`, the event that follows.
        Returns (the box, messages, session, status line).

        The browser empties the box as the question is sent (`CLEAR_BOX`): it is left as the
        user has it since (the next question may be half typed), unless the question is refused
        (too long…, or the index still being prepared): it is put back then, to be corrected or
        sent again. An empty box sends nothing (Enter pressed twice)."""
        session = own_session(session)
        try:
            question = text_input(question, "question", "La question")
        except InputError as e:  # only a crafted call sends a non-text question
            return gr.skip(), gr.skip(), session, render.message_html(e.message_fr)
        if not question.strip():
            return gr.skip(), gr.skip(), session, gr.skip()
        refusal = self._refusal(question)
        if refusal is not None:
            session.add(refusal, session.begin()[0])
            return question, session.messages(), session, self.status()
        if not session.send(question):
            return question, gr.skip(), session, render.message_html(TOO_MANY, "info")
        return gr.skip(), session.messages(), session, gr.skip()

    def answer_in_page(
        self, session: Session | None, request: gr.Request | None = None
    ) -> Iterator[tuple[Any, Session, Any]]:
        """Answers the tab's waiting questions (`send_in_page`), one after the other, each in
        its place, and yields (messages, session, status line) after each. An event finding
        another of its tab at it leaves them to it (it answers every question sent meanwhile,
        so that one whose own event was lost is answered too). An answer is dropped if
        « Nouvelle conversation » was clicked meanwhile."""
        session = own_session(session)
        if not session.start_answering():
            yield gr.skip(), session, gr.skip()
            return
        shown = done = False
        try:
            while (waiting := session.claim()) is not None:
                generation, sent, history = waiting
                session.fulfil(sent, self._answer(sent.question, history), generation)
                self.kept.keep(session, client_key(request))  # for a reload, once answered
                shown = True
                yield session.messages(), session, ""
            done = True  # `claim` ended the answering, in the step that found nothing left
        finally:
            if not done:  # stopped early (the page gone): the tab's next event answers the rest
                session.stop_answering()  # (after `claim`, it could end another event's turn)
        if not shown:  # cleared before the first claim
            yield gr.skip(), session, gr.skip()

    def _refusal(self, question: str) -> Exchange | None:
        """The exchange refusing a question before it is asked (too long, no word…, or the
        index still being prepared), or None."""
        try:
            check_question(question, self.max_question_chars)
        except QuestionError as e:  # kept short: the box gets it whole, the tab keeps a glimpse
            shown = question[: REFUSED_SHOWN + 1]
            return Exchange(shown, render.message_html(e.message_fr), refused=True)
        if not self.readiness.ready:
            return Exchange(question, render.message_html(PREPARING, "info"), refused=True)
        return None

    def _answer_when_ready(self, question: str, history: tuple[Turn, ...]) -> tuple[Exchange, str]:
        """The exchange of one question and the status line (what is being prepared)."""
        if self.readiness.ready:
            return self._answer(question, history), ""
        waiting = Exchange(question, render.message_html(PREPARING, "info"), refused=True)
        return waiting, self.status()

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
        """Empties the tab's conversation in place: the answers still awaited are dropped.
        Returns (the box, messages, session, the API's comment, status line)."""
        session = own_session(session)
        session.clear()
        return "", [], session, "", self.status()

    def new_in_page(self, session: Session | None) -> tuple[list, Session, str]:
        """« Nouvelle conversation » in the page: as `new_conversation`, the question box left
        as it is (a question typed meanwhile is not lost)."""
        _, messages, session, _, status = self.new_conversation(session)
        return messages, session, status

    def status(self) -> str:
        """The status line: what is being prepared, until the index is ready."""
        text = self.readiness.status()
        return render.message_html(text, "info") if text else ""

    def poll_status(self) -> tuple[str, Any]:
        """The status line and the timer that refreshes it, stopped once the index is ready."""
        return self.status(), gr.Timer(active=not self.readiness.ready)

    def load_status(self) -> tuple[Any, Any]:
        """`poll_status` as a page loads: a line only while preparing (the page's own is empty;
        another load event may have set one, as `kept.resume` does)."""
        line, timer = self.poll_status()
        return line or gr.skip(), timer


HEADER = (
    '<div class="pq-header"><h1>Questions sur les pôles de compétitivité</h1>'
    "<p>La réponse est recopiée des documents officiels, avec ses sources numérotées.</p></div>"
)
PLACEHOLDER = "Posez votre question ci-dessous ou choisissez un exemple."
STATUS_EVERY = 2.0  # seconds between two refreshes of the status line while preparing
CHAT_JS = f"function rememberPending(question) {{\n{REMEMBER_PENDING}\n}}\n" + (
    Path(__file__).parent / "static" / "poleqa.js"
).read_text(encoding="utf-8")
# Run in the browser as a question is sent: the box is emptied at once (an input event, so that
# Gradio's own value follows), the question goes to the server as typed.
# The question is kept in the tab until its answering ends, for a reload to put it back.
CLEAR_BOX = f"""(question, session) => {{
  const box = document.querySelector("#pq-question textarea");
  if (box) {{ box.value = ""; box.dispatchEvent(new Event("input", {{ bubbles: true }})); }}
  if (typeof question === "string" && question.trim()) {{ {REMEMBER_PENDING} }}
  return [question, session];
}}"""


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
        question, status = _asking(chat, examples, session, chatbot, new)
        # While the index is being prepared (first start), the status line says so and is
        # refreshed every few seconds; the timer stops once the chat can answer. Both outside
        # the queue: when a queued refresh ends just as a question is sent, Gradio closes the
        # page's event stream and its client opens no other one, so the question never gets
        # its answer (seen in the browser tests: 1 page in 60 asking at once after loading).
        timer = gr.Timer(STATUS_EVERY, active=not chat.readiness.ready)
        demo.load(chat.load_status, None, [status, timer], api_name=False, queue=False)
        widgets = (session, chatbot, question, status)
        keep_across_reloads(demo, chat.kept, widgets, chat.max_question_chars)
        timer.tick(chat.poll_status, None, [status, timer], api_name=False, queue=False)
    return demo


def _asking(
    chat: ChatApp,
    examples: tuple[str, ...],
    session: gr.State,
    chatbot: gr.Chatbot,
    new: gr.Button,
) -> tuple[gr.Textbox, gr.HTML]:
    """Question box, examples, feedback (each answer's control, and the API's about the last
    answer) and « Nouvelle conversation », wired to `chat`; returns the box and the status
    line."""
    question, send, status, controller, api_comment, api_status = _ask_widgets()
    ask_out = [question, chatbot, session, status]
    # Unprocessed inputs: ChatApp checks their types itself and answers in French.
    raw: dict[str, Any] = {"preprocess": False}
    # Gradio's concurrency limit holds per listener: the ones that answer share theirs, so the
    # pipeline answers `concurrency` questions at once whatever sent them (the same for
    # opinions).
    asking: dict[str, Any] = {"concurrency_id": "ask"}
    rating: dict[str, Any] = {"concurrency_id": "feedback", **raw}
    # A question sent from the page goes in two events: shown at once (outside the queue, so
    # that the page shows it whatever waits there), then answered in its place. The box is
    # no output of the second: Gradio's progress would cover it, and the next question may be
    # typed and sent meanwhile (« once » dropped it: Gradio counts the event running until the
    # answer has come). Enter and « Envoyer » are one event; the browser empties the box as
    # it sends, so that a double click or Enter then « Envoyer » sends nothing more.
    shown: dict[str, Any] = {"api_name": False, "queue": False, "show_progress": "hidden"}
    # each question sent is answered, the one before still being answered or not
    answered: dict[str, Any] = {"api_name": False, "show_progress": "minimal", **asking}
    answered |= {"trigger_mode": "multiple"}
    answer_out = [chatbot, session, status]
    sent = gr.on(
        [send.click, question.submit],
        chat.send_in_page,
        [question, session],
        ask_out,
        trigger_mode="multiple",
        js=CLEAR_BOX,
        **shown,
        **raw,
    )
    answering = sent.then(chat.answer_in_page, [session], answer_out, **answered, **raw)
    answering.success(None, None, None, js=FORGET_PENDING, api_name=False, queue=False)
    # The API's « ask » (no browser to empty the box): one event, the reply empties the box.
    gr.Button(visible=False).click(
        chat.ask, [question, session], ask_out, api_name="ask", **asking, **raw
    )

    # EventData, not SelectData: SelectData reads its « index » when Gradio makes it, and a
    # crafted call without one got Python's error text back (and a traceback in the log).
    def send_example(s: Session | None, event: gr.EventData) -> tuple[Any, Any, Any, Any]:
        data = getattr(event, "_data", None)
        index = data.get("index") if isinstance(data, dict) else None
        if type(index) is not int or not 0 <= index < len(examples):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()  # no such example: nothing asked
        return chat.send_in_page(examples[index], s)

    example = chatbot.example_select(send_example, [session], ask_out, **shown)
    example_answered = example.then(chat.answer_in_page, [session], answer_out, **answered, **raw)
    example_answered.success(None, None, None, js=FORGET_PENDING, api_name=False, queue=False)
    # outside the queue too: a new conversation at once, whatever waits there
    new.click(chat.new_in_page, [session], answer_out, js=FORGET_ON_NEW, **shown)
    api_reset = [question, chatbot, session, api_comment, status]
    gr.Button(visible=False).click(
        chat.new_conversation, [session], api_reset, api_name="new_conversation"
    )
    _rating(chat, session, controller, api_comment, api_status, rating)
    return question, status


def _ask_widgets() -> tuple[gr.Textbox, gr.Button, gr.HTML, gr.HTML, gr.Textbox, gr.HTML]:
    """The question box and « Envoyer », the status line, the feedback's messenger, and the
    API's comment and status (never shown)."""
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
    return question, send, status, controller, api_comment, api_status


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
