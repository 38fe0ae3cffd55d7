"""The staff area behind a login: « Vérifier », « Évaluer », re-indexing, feedback export."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from poleqa.config import MAX_DOCUMENT_CHARS
from poleqa.errors import PoleqaError, QuestionError
from poleqa.feedback import FeedbackStore, to_csv
from poleqa.index.builder import BuildReport
from poleqa.index.skips import skipped_fr
from poleqa.retrieval import before
from poleqa.types import Filters, undated_note
from poleqa.web import render
from poleqa.web.admin_tab import admin_tab
from poleqa.web.common import (
    ONE_AT_A_TIME,
    PREPARING,
    IndexWatcher,
    PipelineLike,
    Readiness,
    Served,
)
from poleqa.web.corpus_admin import CorpusAdmin
from poleqa.web.corpus_upload import uploaded
from poleqa.web.eval_view import FORMAT_HELP, TYPE_NAMES, report_html, unfound_answers_html
from poleqa.web.guards import date_input, int_input, refuse, sources_input, text_input

log = logging.getLogger(__name__)
# The failures table's columns, as staff read them (the reports keep the field names).
FAILURE_COLUMNS = {
    "id": "Id",
    "type": "Type",
    "question": "Question",
    "expected": "Réponse attendue",
    "got": "Réponse donnée",
    "why": "Cause",
    "expected_sources": "Sources attendues",
    "cited_sources": "Sources citées",
}

MAX_K = 20  # the sliders' maximum; the API may not ask for more
SKIPPED_SHOWN = 5  # files left out named, with why, in the re-index summary
# « Vérifier » reads the index served (a re-index swaps a new one in whole): it answers during
# a re-index or an evaluation of minutes, instead of showing nothing until they end.
SEARCHES: dict[str, Any] = {"concurrency_id": "verify", "concurrency_limit": 2}
# About 0.2 s a question: a larger set would hold « Réindexer » of every staff member for as
# long (they run one at a time); `poleqa eval` takes any size.
MAX_QUESTIONS = 1000
QUESTION_SETS = (".jsonl", ".json", ".ndjson", ".csv", ".tsv")  # what poleqa.evaluation reads
# Reports and exports hold citizens' comments: Gradio's copies are deleted after an hour.
CACHE_LIFETIME = (3600, 3600)


class StaffApp(Served):
    """Event handlers of the staff area. Like the chat's, they check raw client values."""

    def __init__(
        self,
        pipeline: PipelineLike,
        store: FeedbackStore,
        watcher: IndexWatcher | None = None,
        k: int = 5,
        readiness: Readiness | None = None,
        corpus_dir: Path | None = None,
        max_document_chars: int = MAX_DOCUMENT_CHARS,
    ) -> None:
        super().__init__(pipeline, store, watcher, k, readiness)
        # where « Ajouter » puts documents, what « Retirer » lists (None: neither is offered)
        self.corpus = CorpusAdmin(corpus_dir, max_document_chars)
        self._reindexing = threading.Lock()
        self._exports: Path | None = None  # folder of the feedback export, made on first use
        self._reports: Path | None = None  # folder of the last evaluation's reports

    def source_choices(self) -> list[tuple[str, str]]:
        if not self.readiness.ready:
            return []
        try:
            infos = sorted(self.pipeline.sources(), key=lambda i: i.source)
        except PoleqaError:
            return []
        return [(f"{i.title} ({i.source})" if i.title else i.source, i.source) for i in infos]

    def _known_sources(self) -> list[str]:
        return [i.source for i in self.pipeline.sources()]

    def verify(self, query: Any, sources: Any, date_from: Any, date_to: Any, k: Any) -> str:
        """The top passages for a query with their scores, source, date and offsets."""
        if not self.readiness.ready:
            return render.message_html(PREPARING, "info")
        try:
            filters = Filters(
                sources_input(sources, "verify", self._known_sources),
                date_input(date_from, "verify", "La date min."),
                date_input(date_to, "verify", "La date max."),
            )
            if filters.date_from and filters.date_to and before(filters.date_to, filters.date_from):
                return render.message_html("La date min. est postérieure à la date max.")
            count = int_input(k, "verify", "Le nombre de passages", 1, MAX_K)
            text = text_input(query, "verify", "La requête")
            self.watcher.check()
            hits = self.pipeline.search(text, k=count, filters=filters)
        except QuestionError as e:  # checked as the chat's questions: the field is « Requête »
            return render.message_html(e.message_fr.replace("La question", "La requête", 1))
        except PoleqaError as e:  # InputError included: French message, logged once already
            return render.message_html(e.message_fr)
        except Exception:
            log.exception("unexpected error searching %r", str(query)[:200])
            return render.message_html(render.GENERIC_ERROR)
        # Rendered for the page at /equipe/: the document links climb back to the app's root.
        # A fact may be in a document without a date: said, as `poleqa search` says it.
        undated = filters.undated_left_out(self.pipeline.sources())
        note = render.message_html(undated_note(undated), "info") if undated else ""
        return note + render.hits_html(hits, base="../")

    def reindex_after(self, wanted: Any) -> Any:
        """« Réindexer » after an edit of the corpus folder, when the staff want it then and
        no re-index begun since has covered it (a double click, a colleague's)."""
        if wanted is not True or not self.corpus.unindexed():
            return gr.skip()
        return self.reindex()

    def reindex(self) -> str:
        """Index the corpus again (incrementally) and swap it in; questions keep being answered."""
        if not self.readiness.ready:
            return render.message_html(PREPARING, "info")
        if not self._reindexing.acquire(blocking=False):
            return render.message_html("Une réindexation est déjà en cours.", "info")
        upto = self.corpus.reindexing()  # the corpus's edits this re-index reads
        try:
            # in a child process: the server does not keep the embedding model afterwards
            report = self.watcher.rebuild()
        except PoleqaError as e:
            # staff read the short French line; what to do (disk, locks, permissions) is logged
            log.warning("re-indexing refused: %s", e.message)
            return render.message_html(e.message_fr)
        except Exception:
            log.exception("re-indexing failed")
            return render.message_html(render.GENERIC_ERROR)
        finally:
            self._reindexing.release()
        self.corpus.reindexed(upto)
        # the operator's log says what the staff did to the index, as it says refusals
        log.info(
            "re-indexed from the staff area: %d documents (%d added, %d changed, %d removed), "
            "%d skipped%s",
            report.documents,
            report.added,
            report.changed,
            report.removed,
            len(report.skipped),
            # all of them: the staff's summary names five and sends them here for the others
            "".join(f"\n  skipped {s.source}: {s.reason}" for s in report.skipped)
            + "".join(f"\n  note {n.source}: {n.message}" for n in report.notes),
        )
        return render.message_html(_build_summary(report), "ok")

    def evaluate(self, upload: Any, k: Any) -> tuple[str, str, list[str] | None]:
        """Run a question set; show metrics and failures; offer the reports for download."""
        if not self.readiness.ready:
            return render.message_html(PREPARING, "info"), "", None
        try:
            path = _uploaded_path(upload)
            if path is None:
                return (
                    render.message_html("Choisissez d'abord un fichier de questions.", "info"),
                    "",
                    None,
                )
            count = int_input(k, "evaluate", "k", 1, MAX_K)
            from poleqa import evaluation as ev

            self.watcher.check()
            # one index for the whole set: a generation another process publishes meanwhile
            # answers the citizens, not the rest of this evaluation
            pinned = self.pipeline.pinned()
            # the reports name what answered, as the CLI's do (`run/…` in report.json)
            settings = getattr(self.pipeline, "settings", None)
            info = ev.run_info(path.name, settings) if settings is not None else None
            result = ev.evaluate_file(pinned, path, k=count, most=MAX_QUESTIONS, info=info)
            set_questions = [p.question for p in result.predictions]
            # checked against the index that answered (another may have been swapped in since)
            sources = [i.source for i in pinned.sources()]
            unknown = ev.unknown_sources(set_questions, sources)
            # a typo in a gold answer makes its question a miss whatever poleqa replies
            texts = {s: pinned.document(s).text for s in sources}
            unfound = ev.unfound_answers(set_questions, texts)
            # report.md says so as the CLI's does, and gives it as the failures' cause
            said = ev.check_lines(unknown, unfound, self.corpus.folder or "its corpus", shown=None)
            result = replace(result, warnings=tuple(said), unfound=frozenset(unfound))
            folder = Path(tempfile.mkdtemp(prefix="poleqa-eval-"))
            paths = ev.write_reports(result, folder)
            # Gradio copied the last run's reports for its download links when it returned
            # them: the folder would only pile up, one per run, with the questions in it.
            if self._reports is not None:
                shutil.rmtree(self._reports, ignore_errors=True)
            self._reports = folder
        except PoleqaError as e:
            return render.message_html(e.message_fr), "", None
        except Exception:
            log.exception("evaluation failed for %r", str(upload)[:300])
            return render.message_html(render.GENERIC_ERROR), "", None
        rows = [  # the types in French, as in the chart above the table
            {**r, "type": TYPE_NAMES.get(r["type"], r["type"])}
            for r in ev.failure_rows(result, french=True)
        ]
        if rows:
            asked = render.count_fr(len(result.predictions), "question")
            fails = f"<p><b>Échecs : {len(rows)} sur {asked}</b></p>" + render.table_html(
                [FAILURE_COLUMNS.get(h, h) for h in rows[0]],
                ([r[h] for h in rows[0]] for r in rows),
            )
        else:
            fails = render.message_html("Aucun échec : toutes les réponses sont justes.", "ok")
        fails = _unknown_sources_html(unknown) + unfound_answers_html(unfound) + fails
        files = [str(p) for p in paths.values() if Path(p).exists()]
        return report_html(result.metrics), fails, files

    def export_feedback(self) -> tuple[str, str | None]:
        """The citizens' opinions (latest per answer) as a CSV file to download."""
        try:
            records = self.store.latest()
            # One file, rewritten by each export: no copy of citizens' comments piles up.
            if self._exports is None:
                self._exports = Path(tempfile.mkdtemp(prefix="poleqa-avis-"))
            path = self._exports / "avis.csv"
            # For staff who open it with a double click: columns in a French spreadsheet.
            path.write_text(to_csv(records, excel=True), encoding="utf-8")
        except OSError:
            log.exception("feedback export failed")
            return render.message_html(render.GENERIC_ERROR), None
        return render.message_html(f"Avis exportés : {len(records)}.", "ok"), str(path)


def _uploaded_path(upload: Any) -> Path | None:
    """The uploaded question set (None if none was given)."""
    path = uploaded(upload, "evaluate")
    if path is not None and path.suffix.lower() not in QUESTION_SETS:
        raise refuse(
            "evaluate",
            f"not a question set: {path.suffix[:20]!r}",
            f"Le jeu de questions doit être un fichier JSONL ou CSV ({', '.join(QUESTION_SETS)}).",
        )
    return path


def _unknown_sources_html(unknown: tuple[str, ...]) -> str:
    """The warning for sources a question set cites that the corpus does not hold."""
    if not unknown:
        return ""
    shown = ", ".join(unknown[:5]) + ("…" if len(unknown) > 5 else "")
    return render.message_html(
        f"Attention : sources citées par les questions mais absentes du corpus ({len(unknown)}) ; "
        f"ces questions ne peuvent pas trouver leur source : {shown}",
        "info",
    )


def _build_summary(report: BuildReport) -> str:
    """French summary of a BuildReport: what the index holds, then the files left out, each
    with why (the first five; the server's log has every one)."""
    if not report.written:
        text = f"L'index est déjà à jour ({render.count_fr(report.documents, 'document')})."
    else:
        text = (
            f"Index reconstruit en {report.seconds:.0f} s : "
            f"{render.count_fr(report.documents, 'document')} "
            f"(ajoutés : {report.added}, modifiés : {report.changed}, "
            f"retirés : {report.removed}), {render.count_fr(report.chunks, 'passage')}."
        )
    if report.skipped:
        # said even when up to date: staff re-index to learn why a document is missing
        text += f" {skipped_fr(report.skipped, SKIPPED_SHOWN)}"
        more = len(report.skipped) > SKIPPED_SHOWN
        text += " (raisons dans le journal du serveur)." if more else "."
    text += "".join(f" À corriger : {n.source}, {n.message_fr}." for n in report.notes[:5])
    return text


# The staff share one user: Gradio's logout would otherwise end every colleague's session too.
STAFF_HEADER = (
    '<div class="pq-header"><h1>Espace équipe</h1>'
    "<p>Vérification des passages, évaluation des réponses, mise à jour de l'index et avis des "
    'citoyens.</p><p class="pq-links"><a href="../">Retour au chat public</a> · '
    '<a href="logout?all_session=false">Se déconnecter</a></p>'
    "</div>"
)


def build_staff_blocks(staff: StaffApp) -> gr.Blocks:
    """The staff page, mounted behind Gradio's login at /equipe/."""
    with gr.Blocks(
        title="poleqa — espace équipe", analytics_enabled=False, delete_cache=CACHE_LIFETIME
    ) as demo:
        gr.HTML(STAFF_HEADER, js_on_load=None)
        with gr.Tabs():
            with gr.Tab("Vérifier", id="verify"):
                sources = _verify_tab(staff)
            with gr.Tab("Évaluer", id="evaluate"):
                _evaluate_tab(staff)
            with gr.Tab("Index et avis", id="admin"):
                reindexed, refreshed = admin_tab(staff)

        # The sources change with a re-index: the list is refreshed after one and on each page
        # load (outside the queue, as the chat's status line: see poleqa.web.app).
        def listed() -> Any:
            return gr.Dropdown(choices=staff.source_choices())

        demo.load(listed, outputs=[sources], api_name=False, queue=False)
        for event in reindexed:
            event.then(listed, outputs=[sources], api_name=False, queue=False)
        for refresh, component in refreshed:  # what another tab or colleague changed
            demo.load(refresh, outputs=[component], api_name=False, queue=False)
    return demo


def _verify_tab(staff: StaffApp) -> gr.Dropdown:
    gr.Markdown("Passages retrouvés pour une requête, avec scores et positions.")
    with gr.Row():
        query = gr.Textbox(label="Requête", elem_id="pq-query", scale=4)
        # Its label, number box and reset button on one line: at its default 160 px the label
        # wrapped and the slider's « 20 » was cut off (a 1280 px window).
        k = gr.Slider(
            1,
            MAX_K,
            value=staff.k,
            step=1,
            label="Nombre de passages",
            elem_id="pq-k",
            scale=1,
            min_width=280,
        )
    with gr.Row():
        sources = gr.Dropdown(
            choices=staff.source_choices(),
            multiselect=True,
            label="Documents (tous si vide)",
            scale=3,
        )
        # wide enough for their labels on one line (« Date max. (AAAA[-MM[- » broke there)
        date_from = gr.Textbox(
            label="Date min. (JJ/MM/AAAA)", placeholder="ou AAAA", scale=1, min_width=220
        )
        date_to = gr.Textbox(
            label="Date max. (JJ/MM/AAAA)", placeholder="ou AAAA", scale=1, min_width=220
        )
    search = gr.Button("Chercher", variant="primary", elem_id="pq-search")
    hits = gr.HTML("", elem_id="pq-hits", js_on_load=None)
    inputs = [query, sources, date_from, date_to, k]
    # Unprocessed: Gradio's own checks would answer in English; StaffApp answers in French.
    gr.on(
        [search.click, query.submit],
        staff.verify,
        inputs,
        [hits],
        api_name="verify",
        preprocess=False,
        **SEARCHES,
    )
    return sources


def _evaluate_tab(staff: StaffApp) -> None:
    gr.Markdown(
        "Déposez un jeu de questions (JSONL ou CSV) pour mesurer la qualité des réponses : "
        "chaque question est posée comme dans le chat, puis comparée aux réponses attendues."
    )
    with gr.Accordion("Format du fichier de questions", open=True):
        gr.Markdown(FORMAT_HELP, elem_id="pq-eval-format")
    with gr.Row():
        # No `file_types`: Gradio would refuse another file in an English toast, and took
        # only two of the formats the evaluation reads; « Évaluer » says it in French.
        upload = gr.File(
            label="Jeu de questions",
            scale=3,
            elem_id="pq-eval-upload",
        )
        eval_k = gr.Slider(1, MAX_K, value=staff.k, step=1, label="k", scale=1)
    run = gr.Button("Évaluer", variant="primary", elem_id="pq-evaluate")
    metrics = gr.HTML("", elem_id="pq-metrics", js_on_load=None)
    fails = gr.HTML("", elem_id="pq-failures", js_on_load=None)
    reports = gr.File(label="Rapports", file_count="multiple", interactive=False)
    run.click(
        staff.evaluate,
        [upload, eval_k],
        [metrics, fails, reports],
        api_name="evaluate",
        preprocess=False,
        **ONE_AT_A_TIME,
    )
