"""What the staff's « Ajouter » form sent, checked: the file's name and the metadata typed."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from poleqa.ingest import SUPPORTED_EXTENSIONS
from poleqa.web.guards import date_refused, refuse, typed_date

MAX_NAME_CHARS = 150  # a file name the staff chose: longer is no name people type or read
# File systems take names of 255 bytes; the document's metadata file (« .meta.json ») and the
# part file it is written through (« .NAME.ajout-PID ») need 15 more.
MAX_NAME_BYTES = 240
UNUSABLE = "Nom de fichier inutilisable"


def document_name(raw: Any) -> str:
    """The file name a document is saved under: the uploaded file's own, checked (no folder,
    no hidden file, none the index skips, a supported type, a length every disk takes);
    PoleqaError (French) otherwise."""
    name = unicodedata.normalize("NFC", str(raw or "")).strip()
    bad = not name or name != Path(name).name or "\\" in name or name.startswith(".")
    if bad:
        raise _refused(name, "un nom de dossier, ou commençant par un point")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp") for c in name):
        raise _refused(name, "des caractères invisibles ou de contrôle")
    if name.lower() == "readme.md" or name.startswith("~$"):  # what the index never reads
        raise _refused(name, "un nom que l'index ne lit pas (README.md, ~$…)")
    size = len(name.encode("utf-8"))
    if len(name) > MAX_NAME_CHARS or size > MAX_NAME_BYTES:
        raise refuse(
            "add_document",
            f"file name of {len(name)} characters, {size} bytes",
            f"Nom de fichier trop long ({len(name)} caractères ; {MAX_NAME_CHARS} au plus, "
            "moins avec des accents) : renommez le fichier.",
        )
    if Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS:
        kinds = ", ".join(SUPPORTED_EXTENSIONS)
        raise refuse(
            "add_document",
            f"unsupported file type {Path(name).suffix[:20]!r}",
            f"Type de fichier non pris en charge : le corpus lit les fichiers {kinds}.",
        )
    return name


def _refused(name: str, why_fr: str) -> Exception:
    return refuse(
        "add_document",
        f"unusable file name {name[:200]!r}",
        f"{UNUSABLE} ({why_fr}) : renommez le fichier.",
    )


def metadata(title: Any, date: Any, organisation: Any) -> dict[str, str]:
    """The sidecar's fields the staff filled in (text only; the empty ones left out), the date
    written as the index stores it (30/03/2023 → 2023-03-30)."""
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
    if "date" in out:
        typed = out["date"]
        iso = typed_date(typed)
        if iso is None:
            raise refuse("add_document", f"bad date {typed[:50]!r}", date_refused(typed))
        out["date"] = iso
    return out
