"""A document the staff add from their area: read as the index will, saved beside the others."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradio.utils import get_upload_folder

from poleqa.errors import IngestError, PoleqaError
from poleqa.ingest import SUPPORTED_EXTENSIONS, read_document
from poleqa.ingest.metadata import sidecar_path
from poleqa.web.guards import refuse

log = logging.getLogger("poleqa.web")

MAX_NAME_CHARS = 150  # a file name the staff chose: longer is no name people type or read
NOT_RECEIVED = "Fichier non reçu."
UNREAD = "Le document reçu n'a pas pu être lu sur le serveur : réessayez dans un instant."


@dataclass(frozen=True)
class Added:
    """A document put in the corpus: its name there, its title as the index will show it."""

    name: str
    title: str


def uploaded(upload: Any, where: str) -> Path | None:
    """The file a staff form sent (None if none): unprocessed, Gradio's file record (a dict)
    naming a file of its upload folder; any other path is refused, an API call may name any
    file of the server."""
    if upload in (None, "", []):
        return None
    raw = upload.get("path") if isinstance(upload, dict) else None
    if not isinstance(raw, str) or not raw:
        raise refuse(where, f"not an uploaded file: {type(upload).__name__}", NOT_RECEIVED)
    path = Path(raw).resolve()
    if not path.is_relative_to(Path(get_upload_folder()).resolve()) or not path.is_file():
        raise refuse(where, f"not in the upload folder: {raw[:300]!r}", NOT_RECEIVED)
    return path


def document_name(raw: Any) -> str:
    """The file name a document is saved under: the uploaded file's own, checked (no folder,
    no hidden file, a supported type); PoleqaError (French) otherwise."""
    name = unicodedata.normalize("NFC", str(raw or "")).strip()
    bad = not name or name != Path(name).name or "\\" in name or name.startswith(".")
    if bad or any(unicodedata.category(c)[0] == "C" for c in name):
        raise refuse(
            "add_document",
            f"unusable file name {name[:200]!r}",
            "Nom de fichier inutilisable : renommez le fichier.",
        )
    if len(name) > MAX_NAME_CHARS:
        raise refuse(
            "add_document",
            f"file name of {len(name)} characters",
            f"Nom de fichier trop long ({len(name)} caractères ; {MAX_NAME_CHARS} au plus) : "
            "renommez le fichier.",
        )
    if Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS:
        kinds = ", ".join(SUPPORTED_EXTENSIONS)
        raise refuse(
            "add_document",
            f"unsupported file type {Path(name).suffix[:20]!r}",
            f"Type de fichier non pris en charge : le corpus lit les fichiers {kinds}.",
        )
    return name


def metadata(title: Any, date: Any, organisation: Any) -> dict[str, str]:
    """The sidecar's fields the staff filled in (text only; the empty ones left out)."""
    fields = {"title": title, "date": date, "organisation": organisation}
    out = {}
    for key, value in fields.items():
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise refuse(
                "add_document", f"{key} is not text", "Les renseignements doivent être du texte."
            )
        if value.strip():
            out[key] = value.strip()[:500]
    return out


def add_document(corpus: Path, upload: Path, name: str, fields: dict[str, str]) -> Added:
    """Reads `upload` (with `fields` as its metadata) as the index will, then copies it into
    `corpus` as `name`, its metadata beside it; PoleqaError (French) if it cannot be read, a
    document of that name is there already, or the folder cannot be written."""
    target = corpus / name
    if os.path.lexists(target) or os.path.lexists(sidecar_path(target)):
        raise PoleqaError(
            f"{name} is already in the corpus",
            f"Un document nommé « {name} » est déjà dans le corpus : renommez le fichier "
            "(ou retirez l'ancien du dossier du corpus).",
        )
    sidecar = json.dumps(fields, ensure_ascii=False, indent=2).encode("utf-8") if fields else None
    with tempfile.TemporaryDirectory(prefix="poleqa-ajout-") as trial:
        tried = Path(trial) / name
        try:
            shutil.copyfile(upload, tried)
            data = tried.read_bytes()
        except OSError as e:  # the server's temporary folder full, or gone
            log.error("cannot read the uploaded %s in %s: %s", name, trial, e)
            raise PoleqaError(f"cannot read the upload {name}: {e}", UNREAD) from e
        try:
            doc = read_document(Path(trial), tried, (data, sidecar))
        except IngestError as e:
            raise PoleqaError(
                f"{name} cannot be indexed: {e.message}",
                f"« {name} » ne peut pas être indexé : {e.message_fr}.",
            ) from e
        try:
            if sidecar is not None:
                _write_new(sidecar_path(target), sidecar)
            try:
                _copy_new(tried, target)
            except OSError:
                if sidecar is not None:  # not left without its document
                    sidecar_path(target).unlink(missing_ok=True)
                raise
        except OSError as e:
            log.error("cannot add %s to the corpus %s: %s", name, corpus, e)
            raise PoleqaError(
                f"cannot write {target}: {e}",
                "Le document n'a pas pu être ajouté : le dossier du corpus n'est pas modifiable "
                "sur ce serveur (voir son journal).",
            ) from e
    return Added(name, doc.info.title or name)


def _write_new(path: Path, data: bytes) -> None:
    """Writes `path`, which must not exist (a file made meanwhile is never replaced)."""
    with open(path, "xb") as out:
        out.write(data)


def _copy_new(source: Path, target: Path) -> None:
    """`source` copied to `target` whole or not at all: written beside it, then linked under
    its name, which fails rather than replace a file made meanwhile."""
    part = target.with_name(f".{target.name}.ajout-{os.getpid()}")
    try:
        shutil.copyfile(source, part)
        try:
            os.link(part, target)
        except OSError as e:
            if e.errno in (errno.EEXIST, errno.EACCES, errno.EROFS, errno.ENOSPC):
                raise
            # a file system without hard links (some network shares): written in place,
            # still never over a file (« xb »)
            _write_new(target, part.read_bytes())
    finally:
        part.unlink(missing_ok=True)
