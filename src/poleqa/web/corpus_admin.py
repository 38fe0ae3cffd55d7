"""The staff's edits to the corpus folder: add or replace a document, take one out."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from poleqa.config import MAX_DOCUMENT_CHARS
from poleqa.errors import PoleqaError
from poleqa.ingest import shown_name
from poleqa.web import render
from poleqa.web.corpus_archive import corpus_documents, withdraw
from poleqa.web.corpus_upload import add_document, uploaded
from poleqa.web.guards import InputError, text_input
from poleqa.web.upload_fields import document_name, metadata

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
        self._lock = threading.Lock()
        # Edits are numbered; a re-index covers those made before it began. The re-index an
        # edit asks for is skipped once another has covered it (a double click, two staff).
        self._edits = 0
        self._indexed_upto = 0

    def edited(self) -> None:
        with self._lock:
            self._edits += 1

    def reindexing(self) -> int:
        """The last edit a re-index beginning now will see (for `reindexed`)."""
        with self._lock:
            return self._edits

    def reindexed(self, upto: int) -> None:
        with self._lock:
            self._indexed_upto = max(self._indexed_upto, upto)

    def unindexed(self) -> bool:
        """Whether an edit was made since the last re-index began."""
        with self._lock:
            return self._edits > self._indexed_upto

    def add_in_page(
        self, upload: Any, title: Any, date: Any, organisation: Any, replace: Any
    ) -> tuple[Any, ...]:
        """« Ajouter » in the page: `add`, then the form emptied for the next document (its
        fields kept after a refusal, to be corrected). A second click while the first is
        handled is dropped by Gradio (`trigger_mode` « once »); one after finds the form empty."""
        html, changed = self.add(upload, title, date, organisation, replace)
        if not changed:
            return (html, *(gr.skip(),) * 5)
        return html, None, "", "", "", False

    def add_api(
        self, upload: Any, title: Any, date: Any, organisation: Any, replace: Any = False
    ) -> str:
        """« add_document » of the API: `add`'s message."""
        return self.add(upload, title, date, organisation, replace)[0]

    def withdraw_api(self, name: Any) -> str:
        """« withdraw_document » of the API: `withdraw`'s message."""
        return self.withdraw(name)[0]

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
        self.edited()
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
        self.edited()
        log.info("document withdrawn from the staff area: %s, kept as %s", gone.name, gone.kept_as)
        done = (
            f"« {shown_name(gone.name)} » retiré du corpus ; il est gardé dans {gone.kept_as} "
            "(le remettre dans le dossier du corpus le rend à l'index)."
        )
        return render.message_html(done, "ok"), True
