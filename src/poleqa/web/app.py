"""The Gradio Blocks of the web chat (citizens) and the "Vérifier"/"Évaluer" tabs (staff)."""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import gradio as gr

from poleqa.errors import PoleqaError
from poleqa.feedback import Feedback, FeedbackStore
from poleqa.types import Answer, Document, DocumentInfo, Filters, Hit, Turn
from poleqa.web import render

log = logging.getLogger(__name__)

EXAMPLES = (
    "Combien de pôles de compétitivité ont été labellisés en 2023 ?",
    "Combien de membres compte un pôle de compétitivité en moyenne ?",
    "Quels pôles ont leur siège en région Centre ?",
    "En quelle année la politique des pôles de compétitivité a-t-elle été lancée ?",
)
HISTORY_TURNS = 3  # earlier exchanges passed to the pipeline to resolve follow-up questions
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class PipelineLike(Protocol):
    """What the web app needs from `poleqa.pipeline.Pipeline` (tests may pass a fake)."""

    def ask(
        self,
        question: str,
        history: tuple[Turn, ...] | None = None,
        k: int = 5,
        filters: Filters | None = None,
    ) -> Answer: ...

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]: ...

    def document(self, source: str) -> Document: ...

    def sources(self) -> list[DocumentInfo]: ...

    def reload(self) -> None: ...

    def build(self, progress: bool = False) -> Any: ...


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


class IndexWatcher:
    """Reloads the pipeline when another process swapped the index (its CURRENT pointer changed)."""

    def __init__(self, pipeline: PipelineLike, pointer: Path | None) -> None:
        self.pipeline = pipeline
        self.pointer = pointer
        self._seen = self._stamp()
        self._lock = threading.Lock()

    def _stamp(self) -> tuple[int, str] | None:
        if self.pointer is None:
            return None
        try:
            return (self.pointer.stat().st_mtime_ns, self.pointer.read_text(encoding="utf-8"))
        except OSError:
            return None

    def mark_seen(self) -> None:
        """The pipeline itself just loaded the index on disk: nothing to reload for it."""
        self._seen = self._stamp()

    def check(self) -> None:
        """A stat per question; a reload only when the pointer really changed."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        with self._lock:
            if stamp == self._seen:
                return
            try:
                self.pipeline.reload()
            except Exception as e:  # half-written or broken index: keep serving the one we have
                log.warning("index changed but could not be reloaded: %s", e)
                return
            self._seen = stamp
            log.info("index reloaded after %s changed", self.pointer)


class ChatApp:
    """Event handlers of the chat, bound to one shared pipeline and feedback store."""

    def __init__(
        self,
        pipeline: PipelineLike,
        store: FeedbackStore,
        watcher: IndexWatcher | None = None,
        k: int = 5,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.watcher = watcher or IndexWatcher(pipeline, None)
        self.k = k
        self._reindexing = threading.Lock()

    # -- citizens ----------------------------------------------------------------------------
    def ask(self, question: str, session: Session | None) -> tuple[str, list, Session, str]:
        """Answer in the chat; returns (emptied box, messages, session, emptied status line)."""
        session = _copy(session)
        question = question or ""
        try:
            self.watcher.check()
            answer = self.pipeline.ask(question, history=session.history(), k=self.k)
            exchange = Exchange(question, render.answer_html(answer), answer, _new_id())
        except PoleqaError as e:
            exchange = Exchange(question, render.message_html(e.message_fr))
        except Exception:
            log.exception("unexpected error answering %r", question[:200])
            exchange = Exchange(question, render.message_html(render.GENERIC_ERROR))
        session.exchanges.append(exchange)
        return "", session.messages(), session, ""

    def new_conversation(self) -> tuple[str, list, Session, str, str]:
        return "", [], Session(), "", ""

    def rate_last(self, rating: str, comment: str, session: Session | None) -> tuple[str, str]:
        """Feedback buttons under the chat: about the last answer. Returns (status, comment)."""
        session = session or Session()
        answered = [e for e in session.exchanges if e.answer is not None]
        if not answered:
            return render.message_html("Aucune réponse à évaluer pour le moment.", "info"), comment
        return self._store(answered[-1], rating, comment)

    def rate_message(
        self, comment: str, session: Session | None, like: gr.LikeData
    ) -> tuple[str, str]:
        """👍/👎 on a message of the chat (the assistant's message n is exchange n // 2)."""
        session = session or Session()
        index = like.index if isinstance(like.index, int) else like.index[0]
        if index % 2 != 1 or index // 2 >= len(session.exchanges):
            return render.message_html(
                "Seules les réponses peuvent être évaluées.", "info"
            ), comment
        exchange = session.exchanges[index // 2]
        if exchange.answer is None:
            return render.message_html("Ce message n'est pas une réponse.", "info"), comment
        if like.liked is True:
            rating = "up"
        elif like.liked is False:
            rating = "down"
        else:
            return "", comment  # the thumb was clicked again to undo: nothing to store
        return self._store(exchange, rating, comment)

    def _store(self, exchange: Exchange, rating: str, comment: str) -> tuple[str, str]:
        assert exchange.answer is not None
        if rating not in ("up", "down"):
            return render.message_html("Avis inconnu.", "error"), comment
        try:
            self.store.add(
                Feedback.about(
                    exchange.answer, rating, (comment or "")[:5000], exchange.feedback_id
                )
            )
        except OSError:
            log.exception("feedback could not be stored")
            return render.message_html(
                "Votre avis n'a pas pu être enregistré. Réessayez plus tard.", "error"
            ), comment
        return render.message_html("Merci ! Votre avis a été enregistré.", "ok"), ""

    # -- staff: Vérifier ---------------------------------------------------------------------
    def source_choices(self) -> list[tuple[str, str]]:
        try:
            infos = sorted(self.pipeline.sources(), key=lambda i: i.source)
        except PoleqaError:
            return []
        return [(f"{i.title} ({i.source})" if i.title else i.source, i.source) for i in infos]

    def verify(
        self, query: str, sources: list[str] | None, date_from: str, date_to: str, k: float
    ) -> str:
        date_from, date_to = (date_from or "").strip(), (date_to or "").strip()
        for d in (date_from, date_to):
            if d and not _DATE.match(d):
                return render.message_html(
                    f"Date « {d} » non reconnue : écrivez AAAA, AAAA-MM ou AAAA-MM-JJ.", "error"
                )
        filters = Filters(tuple(sources or ()), date_from or None, date_to or None)
        try:
            self.watcher.check()
            hits = self.pipeline.search(
                query or "", k=max(1, min(50, int(k or 5))), filters=filters
            )
        except PoleqaError as e:
            return render.message_html(e.message_fr)
        except Exception:
            log.exception("unexpected error searching %r", (query or "")[:200])
            return render.message_html(render.GENERIC_ERROR)
        return render.hits_html(hits)

    def reindex(self) -> str:
        """Index the corpus again (incrementally) and swap it in; questions keep being answered."""
        if not self._reindexing.acquire(blocking=False):
            return render.message_html("Une réindexation est déjà en cours.", "info")
        try:
            report = self.pipeline.build(progress=False)
            self.watcher.mark_seen()
        except PoleqaError as e:
            return render.message_html(e.message_fr)
        except Exception:
            log.exception("re-indexing failed")
            return render.message_html(render.GENERIC_ERROR)
        finally:
            self._reindexing.release()
        return render.message_html(_build_summary(report), "ok")

    # -- staff: Évaluer ----------------------------------------------------------------------
    def evaluate(self, upload: str | None, k: float) -> tuple[str, str, list[str] | None]:
        """Run a question set; show metrics and failures; offer the reports for download."""
        if not upload:
            return (
                render.message_html("Choisissez d'abord un fichier de questions.", "info"),
                "",
                None,
            )
        try:
            from poleqa.evaluation import evaluate_file, failure_rows, write_reports

            self.watcher.check()
            result = evaluate_file(self.pipeline, Path(upload), k=max(1, int(k or 5)))
            paths = write_reports(result, Path(tempfile.mkdtemp(prefix="poleqa-eval-")))
        except PoleqaError as e:
            return render.message_html(e.message_fr), "", None
        except Exception:
            log.exception("evaluation failed for %s", upload)
            return render.message_html(render.GENERIC_ERROR), "", None
        rows = failure_rows(result)
        if rows:
            fails = (
                f"<p><b>Échecs : {len(rows)} sur {len(result.predictions)} questions</b></p>"
                + render.table_html(list(rows[0]), ([r[h] for h in rows[0]] for r in rows))
            )
        else:
            fails = render.message_html("Aucun échec : toutes les réponses sont justes.", "ok")
        files = [str(p) for p in paths.values() if Path(p).exists()]
        return render.metrics_html(result.metrics), fails, files


def _build_summary(report: Any) -> str:
    """French one-liner for a BuildReport."""
    if not getattr(report, "written", True):
        return f"L'index est déjà à jour ({report.documents} documents)."
    text = (
        f"Index reconstruit en {report.seconds:.0f} s : {report.documents} documents "
        f"(ajoutés : {report.added}, modifiés : {report.changed}, retirés : {report.removed}), "
        f"{report.chunks} passages."
    )
    if report.skipped:
        names = ", ".join(s.source for s in report.skipped[:5])
        text += f" Fichiers illisibles ignorés : {names}."
    return text


def _copy(session: Session | None) -> Session:
    return Session(list(session.exchanges)) if session is not None else Session()


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex


THEME_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts only (no font is fetched from anywhere)."""
    return gr.themes.Default(font=THEME_FONTS, font_mono=MONO_FONTS)


def build_blocks(chat: ChatApp, examples: tuple[str, ...] = EXAMPLES) -> gr.Blocks:
    """The whole interface; `chat` holds the shared pipeline."""
    with gr.Blocks(title="poleqa — pôles de compétitivité", analytics_enabled=False) as demo:
        gr.HTML(
            '<div class="pq-header"><h1>Questions sur les pôles de compétitivité</h1>'
            "<p>Posez une question : la réponse est recopiée des documents officiels, "
            "avec ses sources numérotées.</p></div>",
            js_on_load=None,
        )
        with gr.Tabs():
            with gr.Tab("Poser une question", id="chat"):
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
                    example_buttons = [
                        gr.Button(q, size="sm", elem_classes=["pq-example"]) for q in examples
                    ]
                with gr.Row():
                    comment = gr.Textbox(
                        label="Votre avis sur la dernière réponse (commentaire facultatif)",
                        elem_id="pq-comment",
                        scale=4,
                        max_lines=4,
                    )
                    thumbs_up = gr.Button("👍 Utile", elem_id="pq-up", scale=1)
                    thumbs_down = gr.Button("👎 Pas utile", elem_id="pq-down", scale=1)
                status = gr.HTML("", elem_id="pq-status", js_on_load=None)
                new = gr.Button("Nouvelle conversation", elem_id="pq-new")

                ask_out = [question, chatbot, session, status]
                ask_io = {"inputs": [question, session], "outputs": ask_out}
                send.click(chat.ask, api_name="ask", **ask_io)
                question.submit(chat.ask, api_name=False, **ask_io)
                for button, text in zip(example_buttons, examples, strict=True):
                    button.click(
                        lambda s, text=text: chat.ask(text, s),
                        inputs=[session],
                        outputs=ask_out,
                        api_name=False,
                    )
                new.click(
                    chat.new_conversation,
                    outputs=[question, chatbot, session, comment, status],
                    api_name="new_conversation",
                )
                # The chat's own bin button empties the display: forget the session with it.
                chatbot.clear(
                    chat.new_conversation,
                    outputs=[question, chatbot, session, comment, status],
                    api_name=False,
                )
                up = gr.State("up")
                down = gr.State("down")
                thumbs_up.click(
                    chat.rate_last,
                    inputs=[up, comment, session],
                    outputs=[status, comment],
                    api_name="feedback_up",
                )
                thumbs_down.click(
                    chat.rate_last,
                    inputs=[down, comment, session],
                    outputs=[status, comment],
                    api_name="feedback_down",
                )
                chatbot.like(
                    chat.rate_message,
                    inputs=[comment, session],
                    outputs=[status, comment],
                    api_name=False,
                )

            with gr.Tab("Vérifier (équipe)", id="verify"):
                gr.Markdown("Passages retrouvés pour une requête, avec scores et positions.")
                with gr.Row():
                    query = gr.Textbox(label="Requête", elem_id="pq-query", scale=4)
                    k = gr.Slider(1, 20, value=chat.k, step=1, label="Nombre de passages")
                with gr.Row():
                    sources = gr.Dropdown(
                        choices=chat.source_choices(),
                        multiselect=True,
                        label="Documents (tous si vide)",
                        scale=3,
                    )
                    date_from = gr.Textbox(label="Date min. (AAAA[-MM[-JJ]])", scale=1)
                    date_to = gr.Textbox(label="Date max. (AAAA[-MM[-JJ]])", scale=1)
                search = gr.Button("Chercher", variant="primary", elem_id="pq-search")
                hits = gr.HTML("", elem_id="pq-hits", js_on_load=None)
                verify_io = {
                    "inputs": [query, sources, date_from, date_to, k],
                    "outputs": [hits],
                }
                search.click(chat.verify, api_name="verify", **verify_io)
                query.submit(chat.verify, api_name=False, **verify_io)
                with gr.Accordion("Mise à jour de l'index", open=False):
                    gr.Markdown(
                        "Après l'ajout, la modification ou le retrait de documents dans le "
                        "dossier du corpus : les questions continuent d'être servies pendant "
                        "la réindexation, puis le nouvel index les remplace d'un coup."
                    )
                    reindex = gr.Button("Réindexer le corpus", elem_id="pq-reindex")
                    reindex_status = gr.HTML("", elem_id="pq-reindex-status", js_on_load=None)
                reindex.click(
                    chat.reindex,
                    outputs=[reindex_status],
                    api_name="reindex",
                    concurrency_limit=1,
                )

            with gr.Tab("Évaluer (équipe)", id="evaluate"):
                gr.Markdown(
                    "Déposez un jeu de questions (JSONL ou CSV : `question`, réponses attendues, "
                    "source) pour mesurer la qualité des réponses."
                )
                with gr.Row():
                    upload = gr.File(
                        label="Jeu de questions", file_types=[".jsonl", ".csv"], scale=3
                    )
                    eval_k = gr.Slider(1, 20, value=chat.k, step=1, label="k", scale=1)
                run = gr.Button("Évaluer", variant="primary", elem_id="pq-evaluate")
                metrics = gr.HTML("", elem_id="pq-metrics", js_on_load=None)
                fails = gr.HTML("", elem_id="pq-failures", js_on_load=None)
                reports = gr.File(label="Rapports", file_count="multiple", interactive=False)
                run.click(
                    chat.evaluate,
                    inputs=[upload, eval_k],
                    outputs=[metrics, fails, reports],
                    api_name="evaluate",
                )

        # The sources may change after a re-index: refresh the list on each page load.
        demo.load(
            lambda: gr.Dropdown(choices=chat.source_choices()),
            outputs=[sources],
            api_name=False,
        )
    return demo
