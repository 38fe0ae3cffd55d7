"""The staff's forms to add, replace or take out a document, wired to a CorpusAdmin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from poleqa.ingest import SUPPORTED_EXTENSIONS, shown_name
from poleqa.web import render
from poleqa.web.common import ONE_AT_A_TIME, STAFF_UPLOAD_MB
from poleqa.web.corpus_admin import CHOOSE, CorpusAdmin
from poleqa.web.corpus_archive import ARCHIVE

# Back to « Retirer du corpus » as its question row hides: the focus went to the page's top.
FOCUS_WITHDRAW = "() => { document.querySelector('#pq-withdraw')?.focus(); return []; }"
# A page event that refreshes a component: what `demo.load` runs too.
Refresh = tuple[Callable[[], Any], Any]


def corpus_edits(admin: CorpusAdmin) -> tuple[list[Any], gr.Checkbox, Refresh]:
    """« Ajouter » and « Retirer » wired to `admin`: their page events (which a re-index
    follows when the box returned is ticked) and the refresh of the documents offered."""
    adding = _adding(admin)
    chosen, taking = _withdrawing(admin)
    then_index = gr.Checkbox(
        True, label="Réindexer aussitôt après un ajout ou un retrait", elem_id="pq-auto-reindex"
    )

    def listed() -> Any:
        return gr.Dropdown(choices=admin.documents(), value=None)

    for event in (adding, taking):
        event.then(listed, outputs=[chosen], api_name=False, queue=False)
    return [adding, taking], then_index, (listed, chosen)


def _adding(admin: CorpusAdmin) -> Any:
    kinds = ", ".join(SUPPORTED_EXTENSIONS)
    gr.Markdown(
        f"**Ajouter un document** ({kinds} ; {STAFF_UPLOAD_MB} Mo au plus). Il est lu comme "
        "l'index le lira, "
        "puis rangé dans le dossier du corpus ; titre, date et organisme sont facultatifs "
        "(sinon tirés du document ; en remplaçant un document, ceux de l'ancien sont gardés)."
    )
    # No `file_types`: Gradio would refuse another file in an English toast; « Ajouter » says
    # it in French.
    upload = gr.File(label="Document", elem_id="pq-add-upload")
    with gr.Row():
        title = gr.Textbox(label="Titre", scale=3)
        date = gr.Textbox(label="Date (JJ/MM/AAAA)", placeholder="ou AAAA", scale=1, min_width=220)
        organisation = gr.Textbox(label="Organisme", scale=2)
    replace = gr.Checkbox(
        False,
        label="Remplacer le document du même nom (l'ancien est gardé de côté)",
        elem_id="pq-add-replace",
    )
    add = gr.Button("Ajouter au corpus", elem_id="pq-add")
    added = gr.HTML("", elem_id="pq-add-status", js_on_load=None)
    form = [upload, title, date, organisation, replace]
    # The API's: its message only (the page's empties the form after a success).
    gr.Button(visible=False).click(
        admin.add_api, form, [added], api_name="add_document", preprocess=False, **ONE_AT_A_TIME
    )
    return add.click(
        admin.add_in_page, form, [added, *form], api_name=False, preprocess=False, **ONE_AT_A_TIME
    )


def _withdrawing(admin: CorpusAdmin) -> tuple[gr.Dropdown, Any]:
    gr.Markdown(
        f"**Retirer un document.** Il quitte le dossier du corpus pour son sous-dossier {ARCHIVE} "
        "(que l'index ne lit pas) : rien n'est effacé."
    )
    with gr.Row():
        chosen = gr.Dropdown(
            choices=admin.documents(),
            value=None,
            label="Document du corpus",
            elem_id="pq-withdraw-choice",
            scale=4,
        )
        take_out = gr.Button("Retirer du corpus", elem_id="pq-withdraw", scale=1)
    # Asked first, in the page: an accidental click would take a document out of the answers.
    # What is withdrawn is the document named in the question, whatever is chosen since.
    asked = gr.State(None)
    with gr.Column(visible=False) as asking:
        question = gr.HTML("", elem_id="pq-withdraw-question", js_on_load=None)
        with gr.Row():
            confirm = gr.Button("Confirmer le retrait", variant="stop", elem_id="pq-withdraw-yes")
            cancel = gr.Button("Annuler", elem_id="pq-withdraw-no")
    taken = gr.HTML("", elem_id="pq-withdraw-status", js_on_load=None)
    hidden: dict[str, Any] = {"api_name": False, "queue": False}
    # unprocessed: a name no longer offered gets poleqa's French, not Gradio's English
    take_out.click(_asked, [chosen], [asking, question, taken, asked], preprocess=False, **hidden)
    chosen.change(_hidden, None, [asking], **hidden)
    cancel.click(_hidden, None, [asking], js=FOCUS_WITHDRAW, **hidden)
    # The API's: a name, its message.
    name = gr.Textbox(visible=False)
    gr.Button(visible=False).click(
        admin.withdraw_api,
        [name],
        [taken],
        api_name="withdraw_document",
        preprocess=False,
        **ONE_AT_A_TIME,
    )
    taking = confirm.click(_hidden, None, [asking], js=FOCUS_WITHDRAW, **hidden).then(
        admin.withdraw_api, [asked], [taken], api_name=False, preprocess=False, **ONE_AT_A_TIME
    )
    return chosen, taking


def _asked(name: Any) -> tuple[Any, str, str, Any]:
    """The question for the document chosen, and its name kept for « Confirmer » (none chosen:
    said instead)."""
    if not isinstance(name, str) or not name:
        return gr.Column(visible=False), "", render.message_html(CHOOSE, "info"), None
    text = f"Retirer « {shown_name(name)} » du corpus ? Il sera gardé dans {ARCHIVE}."
    return gr.Column(visible=True), render.message_html(text, "info"), "", name


def _hidden() -> Any:
    return gr.Column(visible=False)
