"""The staff's edits to the corpus folder: add or replace a document, take one out."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from poleqa.config import MAX_DOCUMENT_CHARS
from poleqa.errors import PoleqaError
from poleqa.ingest import SUPPORTED_EXTENSIONS, shown_name
from poleqa.web import render
from poleqa.web.common import ONE_AT_A_TIME
from poleqa.web.corpus_archive import ARCHIVE, corpus_documents, withdraw
from poleqa.web.corpus_upload import add_document, document_name, metadata, uploaded
from poleqa.web.guards import InputError, text_input

log = logging.getLogger("poleqa.web")

CHOOSE = "Choisissez d'abord un document."
NO_UPLOADS = "L'ajout de documents n'est pas disponible sur ce serveur."
# Each handler gives its message and whether the corpus folder changed (a re-index would see it).
Edit = tuple[str, bool]


class CorpusAdmin:
    """Handlers of « Ajouter » and « Retirer ». Like the chat's, they check raw client values."""

    def __init__(self, folder: Path | None, max_document_chars: int = MAX_DOCUMENT_CHARS) -> None:
        self.folder = folder  # None: the server offers no edit of the corpus
        self.max_document_chars = max_document_chars

    def documents(self) -> list[str]:
        """The documents « Retirer » offers: the corpus folder's, as the index reads them."""
        return corpus_documents(self.folder) if self.folder is not None else []

    def add(
        self, upload: Any, title: Any, date: Any, organisation: Any, replace: Any = False
    ) -> Edit:
        """A document uploaded by the staff put in the corpus folder once read as the index will
        read it (with `replace`, in place of the document of that name, which is kept aside)."""
        if self.folder is None:
            return render.message_html(NO_UPLOADS), False
        try:
            path = uploaded(upload, "add_document")
            if path is None:
                return render.message_html(CHOOSE, "info"), False
            name = document_name(upload.get("orig_name") or path.name)
            added = add_document(
                self.folder,
                path,
                name,
                metadata(title, date, organisation),
                replace=replace is True,
                max_chars=self.max_document_chars,
            )
        except InputError as e:  # `refuse` logged it
            return render.message_html(e.message_fr), False
        except PoleqaError as e:
            log.warning("document not added: %s", e.message)
            return render.message_html(e.message_fr), False
        kept = f" L'ancien est gardé dans {added.replaced.kept_as}." if added.replaced else ""
        log.info(
            "document %s the corpus from the staff area: %s%s",
            "replaced in" if added.replaced else "added to",
            added.name,
            f" (the old one kept as {added.replaced.kept_as})" if added.replaced else "",
        )
        verb = "remplacé dans le corpus" if added.replaced else "ajouté au corpus"
        done = f"« {added.name} » {verb} (titre : {added.title}).{kept}"
        done += "".join(f" À corriger : {note}." for note in added.notes_fr)
        return render.message_html(done, "ok"), True

    def withdraw(self, name: Any) -> Edit:
        """The document `name` taken out of the corpus folder, kept in its ARCHIVE folder."""
        if self.folder is None:
            return render.message_html(NO_UPLOADS), False
        try:
            chosen = text_input(name, "withdraw_document", "Le document")
            if not chosen:
                return render.message_html(CHOOSE, "info"), False
            gone = withdraw(self.folder, chosen, datetime.now())
        except InputError as e:
            return render.message_html(e.message_fr), False
        except PoleqaError as e:
            log.warning("document not withdrawn: %s", e.message)
            return render.message_html(e.message_fr), False
        log.info("document withdrawn from the staff area: %s, kept as %s", gone.name, gone.kept_as)
        done = (
            f"« {shown_name(gone.name)} » retiré du corpus ; il est gardé dans {gone.kept_as} "
            "(le remettre dans le dossier du corpus le rend à l'index)."
        )
        return render.message_html(done, "ok"), True


def corpus_edits(admin: CorpusAdmin, changed: gr.State) -> tuple[Any, ...]:
    """« Ajouter » and « Retirer », wired to `admin`; each sets `changed`. Returns their events
    and the checkbox asking for a re-index after each."""
    kinds = ", ".join(SUPPORTED_EXTENSIONS)
    gr.Markdown(
        f"**Ajouter un document** ({kinds} ; 20 Mo au plus). Il est lu comme l'index le lira, "
        "puis rangé dans le dossier du corpus ; titre, date et organisme sont facultatifs "
        "(sinon tirés du document)."
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
    with gr.Row(visible=False) as asking:
        question = gr.HTML("", elem_id="pq-withdraw-question", js_on_load=None)
        confirm = gr.Button("Confirmer le retrait", variant="stop", elem_id="pq-withdraw-yes")
        cancel = gr.Button("Annuler", elem_id="pq-withdraw-no")
    taken = gr.HTML("", elem_id="pq-withdraw-status", js_on_load=None)
    then_index = gr.Checkbox(
        True, label="Réindexer aussitôt après un ajout ou un retrait", elem_id="pq-auto-reindex"
    )
    adding = add.click(
        admin.add,
        [upload, title, date, organisation, replace],
        [added, changed],
        api_name="add_document",
        preprocess=False,
        **ONE_AT_A_TIME,
    )
    take_out.click(_asked, [chosen], [asking, question, taken], api_name=False, queue=False)
    cancel.click(_hidden, None, [asking], api_name=False, queue=False)
    taking = confirm.click(_hidden, None, [asking], api_name=False, queue=False).then(
        admin.withdraw,
        [chosen],
        [taken, changed],
        api_name="withdraw_document",
        preprocess=False,
        **ONE_AT_A_TIME,
    )
    for event in (adding, taking):
        event.then(_listed(admin), outputs=[chosen], api_name=False, queue=False)
    return (adding, taking), then_index


def _asked(name: Any) -> tuple[Any, str, str]:
    """The confirmation row for the document chosen (none chosen: said instead)."""
    if not isinstance(name, str) or not name:
        return gr.Row(visible=False), "", render.message_html(CHOOSE, "info")
    text = f"Retirer « {shown_name(name)} » du corpus ? Il sera gardé dans {ARCHIVE}."
    return gr.Row(visible=True), render.message_html(text, "info"), ""


def _hidden() -> Any:
    return gr.Row(visible=False)


def _listed(admin: CorpusAdmin) -> Any:
    def listed() -> Any:
        return gr.Dropdown(choices=admin.documents(), value=None)

    return listed
