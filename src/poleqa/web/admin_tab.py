"""The staff's « Index et avis » tab: add or take out a document, re-index, export opinions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from poleqa.web.common import ONE_AT_A_TIME
from poleqa.web.corpus_tab import Refresh, corpus_edits

if TYPE_CHECKING:
    from poleqa.web.staff import StaffApp


def admin_tab(staff: StaffApp) -> tuple[list[Any], list[Refresh]]:
    """The tab's parts, wired to `staff`; returns the events that re-index (what follows them
    refreshes the documents « Vérifier » offers) and what the page's load refreshes."""
    edits: list[Any] = []
    then_index = None
    refreshed: list[Refresh] = []
    if staff.corpus.folder is not None:
        edits, then_index, listing = corpus_edits(staff.corpus)
        refreshed.append(listing)
    gr.Markdown(
        "**Mise à jour de l'index.** Après l'ajout, la modification ou le retrait de documents "
        "dans le dossier du corpus : les questions continuent d'être servies pendant la "
        "réindexation, puis le nouvel index les remplace d'un coup."
    )
    reindex = gr.Button("Réindexer le corpus", elem_id="pq-reindex")
    reindex_status = gr.HTML("", elem_id="pq-reindex-status", js_on_load=None)
    reindexed = [
        reindex.click(staff.reindex, None, [reindex_status], api_name="reindex", **ONE_AT_A_TIME)
    ]
    # An edit re-indexes at once when the box is ticked (it is by default): a document added
    # was otherwise missing from the answers until someone thought of « Réindexer ».
    reindexed += [
        edit.then(
            staff.reindex_after,
            [then_index],
            [reindex_status],
            api_name=False,
            preprocess=False,
            **ONE_AT_A_TIME,
        )
        for edit in edits
    ]
    gr.Markdown("**Avis des citoyens** (le dernier avis de chaque réponse), au format CSV.")
    export = gr.Button("Exporter les avis", elem_id="pq-export")
    export_status = gr.HTML("", elem_id="pq-export-status", js_on_load=None)
    export_file = gr.File(label="Avis (CSV)", interactive=False)
    export.click(
        staff.export_feedback, None, [export_status, export_file], api_name="feedback_export"
    )
    return reindexed, refreshed
