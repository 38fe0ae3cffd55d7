"""The staff's « Index et avis » tab: add a document, re-index the corpus, export opinions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from poleqa.ingest import SUPPORTED_EXTENSIONS
from poleqa.web.common import ONE_AT_A_TIME

if TYPE_CHECKING:
    from poleqa.web.staff import StaffApp


def admin_tab(staff: StaffApp) -> Any:
    """The tab's parts, wired to `staff`; returns the re-index event (what follows it refreshes
    the documents « Vérifier » offers)."""
    if staff.corpus_dir is not None:
        _adding(staff)
    gr.Markdown(
        "**Mise à jour de l'index.** Après l'ajout, la modification ou le retrait de documents "
        "dans le dossier du corpus : les questions continuent d'être servies pendant la "
        "réindexation, puis le nouvel index les remplace d'un coup."
    )
    reindex = gr.Button("Réindexer le corpus", elem_id="pq-reindex")
    reindex_status = gr.HTML("", elem_id="pq-reindex-status", js_on_load=None)
    reindexed = reindex.click(
        staff.reindex, None, [reindex_status], api_name="reindex", **ONE_AT_A_TIME
    )
    gr.Markdown("**Avis des citoyens** (le dernier avis de chaque réponse), au format CSV.")
    export = gr.Button("Exporter les avis", elem_id="pq-export")
    export_status = gr.HTML("", elem_id="pq-export-status", js_on_load=None)
    export_file = gr.File(label="Avis (CSV)", interactive=False)
    export.click(
        staff.export_feedback, None, [export_status, export_file], api_name="feedback_export"
    )
    return reindexed


def _adding(staff: StaffApp) -> None:
    """« Ajouter au corpus »: a file, its title, date and organisation (all three optional)."""
    kinds = ", ".join(SUPPORTED_EXTENSIONS)
    gr.Markdown(
        f"**Ajouter un document** ({kinds} ; 20 Mo au plus). Il est lu comme l'index le lira, "
        "puis rangé dans le dossier du corpus, jamais à la place d'un autre ; titre, date et "
        "organisme sont facultatifs (sinon tirés du document)."
    )
    # No `file_types`: Gradio would refuse another file in an English toast; « Ajouter » says
    # it in French.
    upload = gr.File(label="Document", elem_id="pq-add-upload")
    with gr.Row():
        title = gr.Textbox(label="Titre", scale=3)
        date = gr.Textbox(label="Date (AAAA[-MM[-JJ]])", scale=1, min_width=220)
        organisation = gr.Textbox(label="Organisme", scale=2)
    add = gr.Button("Ajouter au corpus", elem_id="pq-add")
    added = gr.HTML("", elem_id="pq-add-status", js_on_load=None)
    add.click(
        staff.add_document,
        [upload, title, date, organisation],
        [added],
        api_name="add_document",
        preprocess=False,
        **ONE_AT_A_TIME,
    )
