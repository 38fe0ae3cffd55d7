"""A document the staff add from their area: read as the index will, saved beside the others."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from gradio.utils import get_upload_folder

from poleqa.atomic import write_atomic
from poleqa.config import MAX_DOCUMENT_CHARS
from poleqa.errors import IngestError, PoleqaError
from poleqa.index.skips import too_long
from poleqa.ingest import read_document
from poleqa.ingest.metadata import sidecar_path
from poleqa.names import resolved_within
from poleqa.types import Document
from poleqa.web.corpus_archive import (
    NOT_WRITABLE,
    Withdrawn,
    corpus_documents,
    put_back,
    withdraw,
)
from poleqa.web.guards import refuse

log = logging.getLogger("poleqa.web")

NOT_RECEIVED = "Fichier non reçu."
UNREAD = "Le document reçu n'a pas pu être lu sur le serveur : réessayez dans un instant."


@dataclass(frozen=True)
class Added:
    """A document put in the corpus: its name there, its title as the index will show it,
    and the document of that name it replaced (kept in the archive), if any."""

    name: str
    title: str
    replaced: Withdrawn | None = None
    notes_fr: tuple[str, ...] = ()  # what to fix in it, read all the same (a header's date)


def uploaded(upload: Any, where: str) -> Path | None:
    """The file a staff form sent (None if none): unprocessed, Gradio's file record (a dict)
    naming a file of its upload folder; any other path is refused, an API call may name any
    file of the server."""
    if upload in (None, "", []):
        return None
    raw = upload.get("path") if isinstance(upload, dict) else None
    if not isinstance(raw, str) or not raw:
        raise refuse(where, f"not an uploaded file: {type(upload).__name__}", NOT_RECEIVED)
    path = resolved_within(raw, Path(get_upload_folder()).resolve())
    if path is None or not path.is_file():
        raise refuse(where, f"not in the upload folder: {raw[:300]!r}", NOT_RECEIVED)
    return path


def add_document(
    corpus: Path,
    upload: Path,
    name: str,
    fields: dict[str, str],
    replace: bool = False,
    max_chars: int = MAX_DOCUMENT_CHARS,
) -> Added:
    """Reads `upload` (with `fields` as its metadata) as the index will, then copies it into
    `corpus` as `name`, its metadata beside it. With `replace`, the document of that name (in
    a sub-folder too, if the only one) goes to the archive first, back if the new one cannot
    be written; its metadata is kept but for the fields given. PoleqaError (French) if it
    cannot be read, the index would leave it out (too long, a copy of a document), it would
    change nothing, a file of that name is there and not to be replaced, or the folder cannot
    be written."""
    documents = corpus_documents(corpus)  # walked once for the checks below
    placed, replacing = _placed(corpus, name, replace, documents)
    target = corpus / placed
    if replacing:
        fields = _kept_fields(sidecar_path(target)) | fields
    sidecar = json.dumps(fields, ensure_ascii=False, indent=2).encode("utf-8") if fields else None
    with tempfile.TemporaryDirectory(prefix="poleqa-ajout-") as trial:
        tried = Path(trial) / name
        others = [d for d in documents if d != placed or not replacing]
        doc = _tried(corpus, upload, tried, sidecar, max_chars, others)
        if replacing and _unchanged(target, tried, fields):
            raise PoleqaError(
                f"{placed} is the same as the document in place",
                f"« {placed} » est identique au document en place, renseignements compris : "
                "rien à remplacer.",
            )
        old = withdraw(corpus, placed, datetime.now(), documents) if replacing else None
        try:
            if sidecar is not None:
                write_atomic(sidecar_path(target), sidecar, exclusive=True)
            try:
                write_atomic(target, tried.read_bytes(), exclusive=True)
            except OSError:
                if sidecar is not None:  # not left without its document
                    sidecar_path(target).unlink(missing_ok=True)
                raise
        except OSError as e:
            log.error("cannot add %s to the corpus %s: %s", placed, corpus, e)
            back = "."
            if old is not None:
                back = (
                    " ; l'ancien est resté en place."
                    if put_back(corpus, old)
                    else f" ; l'ancien est dans {old.kept_as} (voir le journal)."
                )
            raise PoleqaError(
                f"cannot write {target}: {e}",
                f"« {placed} » n'a pas pu être ajouté : {NOT_WRITABLE}{back}",
            ) from e
    return Added(placed, doc.info.title or name, old, tuple(n.message_fr for n in doc.notes))


def _placed(corpus: Path, name: str, replace: bool, documents: list[str]) -> tuple[str, bool]:
    """Where a document named `name` goes (relative to `corpus`, whose `documents` these are)
    and whether it replaces the one there; PoleqaError (French) if a file of that name is in
    the way."""
    same = [d for d in documents if PurePosixPath(d).name == name]
    if same and not replace and name not in same:
        # in a sub-folder: added beside it, both versions were read (the chat could cite
        # the older figure)
        raise PoleqaError(
            f"{name} is already in the corpus, as {same[0]}",
            f"Un document nommé « {name} » est déjà dans le corpus (« {same[0]} ») : "
            "renommez le fichier, ou cochez « Remplacer le document du même nom ».",
        )
    if replace:
        if name in same or len(same) == 1:
            return (name if name in same else same[0]), True
        if same:
            listed = ", ".join(f"« {d} »" for d in same[:5])
            raise PoleqaError(
                f"several documents are named {name}",
                f"Plusieurs documents s'appellent « {name} » ({listed}) : retirez d'abord celui "
                "à remplacer.",
            )
    target = corpus / name
    if os.path.lexists(target) or os.path.lexists(sidecar_path(target)):
        if name in documents:
            raise PoleqaError(
                f"{name} is already in the corpus",
                f"Un document nommé « {name} » est déjà dans le corpus : renommez le fichier, "
                "ou cochez « Remplacer le document du même nom ».",
            )
        raise PoleqaError(
            f"{name} or its metadata file is in the corpus folder, not as a document",
            f"Un fichier « {name} » ou « {sidecar_path(target).name} » est déjà dans le "
            "dossier du corpus sans y être un document : renommez le fichier.",
        )
    return name, False


def _kept_fields(meta: Path) -> dict[str, str]:
    """The metadata of a document being replaced, as text fields (none if its file is
    missing or does not read): a replacement keeps what the form leaves empty (its url)."""
    try:
        old = json.loads(meta.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in old.items() if isinstance(v, str)} if isinstance(old, dict) else {}


def _unchanged(target: Path, tried: Path, fields: dict[str, str]) -> bool:
    """Whether the document in place is the one tried, with the same metadata (as read: a
    metadata file written by hand has its own spacing and order)."""
    try:
        if target.read_bytes() != tried.read_bytes():
            return False
    except OSError:
        return False
    meta = sidecar_path(target)
    return (_kept_fields(meta) if os.path.lexists(meta) else {}) == fields


def _tried(
    corpus: Path,
    upload: Path,
    tried: Path,
    sidecar: bytes | None,
    max_chars: int,
    others: list[str],
) -> Document:
    """`upload` copied to `tried` and read there as the index will read it.
    PoleqaError (French) for what the next re-index would leave out: unreadable, too long,
    the same bytes as one of the `others` documents of the corpus."""
    name = tried.name
    try:
        shutil.copyfile(upload, tried)
        data = tried.read_bytes()
    except OSError as e:  # the server's temporary folder full, or gone
        log.error("cannot read the uploaded %s in %s: %s", name, tried.parent, e)
        raise PoleqaError(f"cannot read the upload {name}: {e}", UNREAD) from e
    try:
        doc = read_document(tried.parent, tried, (data, sidecar))
    except IngestError as e:
        raise PoleqaError(
            f"{name} cannot be indexed: {e.message}",
            f"« {name} » ne peut pas être indexé : {e.message_fr}.",
        ) from e
    reasons = too_long(doc, max_chars)
    if reasons is not None:
        raise PoleqaError(
            f"{name} would not be indexed: {reasons[0]}",
            f"« {name} » ne serait pas indexé ({reasons[1]}).",
        )
    same = _same_bytes(corpus, data, others)
    if same is not None:
        raise PoleqaError(
            f"{name} is the same file as {same}",
            f"Ce fichier est déjà dans le corpus, sous le nom « {same} ».",
        )
    return doc


def _same_bytes(corpus: Path, data: bytes, sources: list[str]) -> str | None:
    """The document among `sources` (of the corpus) holding exactly `data`, if any: the index
    would cite both, crowding the other documents out of the answers."""
    for source in sources:
        path = corpus / source
        try:
            same_size = path.stat().st_size == len(data)
            if same_size and path.read_bytes() == data:
                return source
        except OSError:  # unreadable: the re-index says so for that one
            continue
    return None
