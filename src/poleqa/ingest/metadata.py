"""Document metadata: sidecar files (`<file>.meta.json`) and date normalisation to ISO 8601."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from poleqa.errors import IngestError
from poleqa.ingest.files import read_bounded
from poleqa.jsontext import parse_json

SIDECAR_SUFFIX = ".meta.json"
SIDECAR_FIELDS = ("title", "organisation", "date", "url")

_MONTHS_FR = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
}  # fmt: skip

# A time after the date, « T » or YAML's « t » or a space before it, is left out.
_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[Tt ].*)?$")
_NUMERIC_FR = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")  # 30/03/2023
_MONTH_FR = re.compile(r"^(\d{1,2})[/.](\d{4})$")  # 09/2018, as a month's date is shown
_WORDS_FR = re.compile(
    r"^(?:(\d{1,2})(?:er)?\s+)?(" + "|".join(_MONTHS_FR) + r")\s+(\d{4})$", re.IGNORECASE
)


@dataclass(frozen=True)
class Sidecar:
    """Metadata given by hand next to a document; None fields leave the file's own values."""

    title: str | None = None
    organisation: str | None = None
    date: str | None = None
    url: str | None = None


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def is_sidecar(path: Path) -> bool:
    return path.name.lower().endswith(SIDECAR_SUFFIX)


def read_sidecar_bytes(path: Path) -> bytes | None:
    """The raw sidecar of document `path`, None if it has none; IngestError if unreadable."""
    meta = sidecar_path(path)
    if not meta.is_file():
        return None
    return read_bounded(meta, f"its metadata file {meta.name}", _named_fr(meta))


def _named_fr(meta: Path) -> str:
    """The sidecar `meta` named in a French reason."""
    return f"fichier de métadonnées {meta.name}"


def unused_sidecars(entries: list[Path], documents: list[Path]) -> list[tuple[Path, str, str]]:
    """The sidecars among `entries` (the corpus's files) that none of `documents` reads, each
    with why (in English, in French): a sidecar whose document is missing or misnamed, said
    rather than ignored."""
    docs = set(documents)
    near: dict[tuple[Path, str], Path] = {}  # (folder, name or stem in lower case): document
    for doc in documents:
        near.setdefault((doc.parent, doc.stem.lower()), doc)
        near[(doc.parent, doc.name.lower())] = doc
    out = []
    for meta in entries:
        if not is_sidecar(meta):
            continue
        name = meta.name[: -len(SIDECAR_SUFFIX)]
        if meta.name.endswith(SIDECAR_SUFFIX) and meta.with_name(name) in docs:
            continue  # read with its document
        if (doc := near.get((meta.parent, name.lower()))) is not None:
            right = sidecar_path(doc).name
            reason = f"metadata file not read: name it {right}, after its document"
            reason_fr = f"fichier de métadonnées non lu : nommez-le {right}, d'après son document"
        elif os.path.lexists(meta.with_name(name)):
            reason = f"metadata file not used: {name} is not read as a document"
            reason_fr = f"fichier de métadonnées inutilisé : {name} n'est pas lu comme document"
        else:
            reason = f"metadata file without its document (expected next to it: {name})"
            reason_fr = f"fichier de métadonnées sans son document {name}, attendu à côté"
        out.append((meta, reason, reason_fr))
    return out


# Other spellings of the fields, in other letter cases too (« Date », « titre »): a sidecar
# holding one meant that field. Any other field (author, tags, date_note…) is for people.
_SYNONYMS = {
    "titre": "title", "organization": "organisation", "organisme": "organisation",
    "publisher": "organisation", "source": "url", "lien": "url", "link": "url",
}  # fmt: skip


def _near_field(key: str) -> str | None:
    """The field `key` stands for when it is not one itself but clearly means one."""
    folded = key.strip().lower()
    if folded in SIDECAR_FIELDS:
        return folded
    return _SYNONYMS.get(folded)


def parse_sidecar(raw: bytes | None, meta: Path) -> Sidecar:
    """The metadata in `raw`, the bytes of sidecar file `meta`; IngestError if malformed."""
    if raw is None:
        return Sidecar()
    invalid_fr = f"{_named_fr(meta)} invalide :"
    try:
        data = parse_json(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise IngestError(
            f"its metadata file {meta.name} is not valid JSON ({exc})",
            f"{invalid_fr} ce n'est pas du JSON correct",
        ) from exc
    if not isinstance(data, dict):
        raise IngestError(
            f"its metadata file {meta.name} must hold a JSON object",
            f"{invalid_fr} il doit contenir un objet JSON, entre accolades",
        )
    misspelt = [k for k in data if k not in SIDECAR_FIELDS and _near_field(k)]
    if misspelt:  # « titre », « Date »: the file's own value would be used, unnoticed
        named = ", ".join(f"{k[:40]!r} ({_near_field(k)}?)" for k in misspelt[:5])
        named_fr = ", ".join(f"« {_near_field(k)} » au lieu de « {k[:40]} »" for k in misspelt[:5])
        raise IngestError(
            f"in its metadata file {meta.name}, field {named}: the fields are "
            f"{', '.join(SIDECAR_FIELDS)}",
            f"{invalid_fr} écrivez {named_fr}",
        )
    values: dict[str, str | None] = {}
    for key in SIDECAR_FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise IngestError(
                f"in its metadata file {meta.name}, {key!r} must be a string",
                f"{invalid_fr} « {key} » doit être un texte entre guillemets",
            )
        values[key] = (value.strip() or None) if isinstance(value, str) else None
    raw_date = values["date"]
    if raw_date is not None:
        values["date"] = normalize_date(raw_date)
        if values["date"] is None:
            raise IngestError(
                f"in its metadata file {meta.name}, the date {raw_date!r} is not a date "
                "(expected YYYY-MM-DD, YYYY-MM or YYYY)",
                f"{invalid_fr} la date « {raw_date[:40]} » n'en est pas une, "
                "attendu AAAA-MM-JJ, AAAA-MM ou AAAA",
            )
    return Sidecar(**values)


def normalize_date(value: str | date | None) -> str | None:
    """ISO "YYYY-MM-DD", "YYYY-MM" or "YYYY" from common forms (ISO, 30/03/2023, 03/2023,
    7 janvier 2014)."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = " ".join(value.strip().split())
    if m := _ISO.match(text):
        return _iso(m.group(1), m.group(2), m.group(3))
    if m := _NUMERIC_FR.match(text):
        return _iso(m.group(3), m.group(2), m.group(1))
    if m := _MONTH_FR.match(text):
        return _iso(m.group(2), m.group(1), None)
    if m := _WORDS_FR.match(text):
        return _iso(m.group(3), str(_MONTHS_FR[m.group(2).lower()]), m.group(1))
    return None


def _iso(year: str, month: str | None, day: str | None) -> str | None:
    y = int(year)
    if not 1000 <= y <= 9999:
        return None
    if month is None:
        return f"{y:04d}"
    if day is None:
        return f"{y:04d}-{int(month):02d}" if 1 <= int(month) <= 12 else None
    try:
        return date(y, int(month), int(day)).isoformat()
    except ValueError:
        return None


# Titles that name the software or the file, not the document (« Microsoft Word - note.docx »).
_JUNK_TITLE = re.compile(r"^(microsoft word - |untitled|sans titre)|\.(docx?|odt|pdf|rtf)$", re.I)


def software_title_dropped(value: object) -> str | None:
    """A title from a file's properties, spaces collapsed; None when it names the software or
    the file rather than the document."""
    if not isinstance(value, str):
        return None
    title = " ".join(value.split())
    return title if title and not _JUNK_TITLE.search(title) else None
