"""The files a build leaves out and why (English for logs and the manifest, French for staff)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from poleqa.errors import CorpusError, IngestError
from poleqa.index.manifest import SkippedEntry
from poleqa.ingest import is_sidecar, read_document
from poleqa.names import shown_name
from poleqa.text import thousands_fr
from poleqa.types import Document, Skipped

SHOWN = 5  # files named in the error of a corpus without any readable document


@dataclass
class Skips:
    """Files left out: all are reported; only those the manifest can recheck are remembered."""

    reported: list[Skipped] = field(default_factory=list)
    remembered: list[SkippedEntry] = field(default_factory=list)

    def add(self, source: str, fingerprint: str, reason: str, reason_fr: str) -> None:
        self.reported.append(Skipped(shown_name(source), reason, reason_fr))  # as reports show
        # English only: the manifest's entries, and the comparison `status` makes, stay as they
        # were (indexes on disk keep loading and are not seen as changed)
        self.remembered.append(SkippedEntry(source, fingerprint, reason))


def too_long(doc: Document, max_chars: int) -> tuple[str, str] | None:
    """Why a document longer than `max_chars` characters is skipped (in English, in French),
    or None."""
    n = len(doc.text)
    if n <= max_chars:
        return None
    limit = f"above the limit of {max_chars:,} (--max-document-chars)"
    return (
        f"{n:,} characters, {limit}",
        f"trop long : {thousands_fr(n)} caractères, {thousands_fr(max_chars)} au plus",
    )


def copy_of(first: str) -> tuple[str, str]:
    """Why a copy of the document `first` (its shown name) is skipped (English, French): cited
    twice, it would crowd the other documents out."""
    return f"same file as {first}", f"copie de {first}"


def no_readable_document(corpus_dir: Path, reported: list[Skipped]) -> CorpusError:
    """The error of a corpus folder where no document could be read, naming the first files
    and why: why the documents were not read first, the metadata files no document reads after."""
    shown = sorted(reported, key=lambda s: (is_sidecar(Path(s.source)), s.source))
    why = "; ".join(f"{s.source}: {s.reason}" for s in shown[:SHOWN])
    more = f"; and {len(shown) - SHOWN} more" if len(shown) > SHOWN else ""
    return CorpusError(
        f"No readable document in {corpus_dir}"
        + (f" (skipped {why}{more})" if shown else "")
        + "; the index was not changed.",
        "Aucun document lisible dans le dossier des documents : l'index n'a pas changé."
        + (f" {skipped_fr(shown, SHOWN)}." if shown else ""),
    )


def skipped_fr(skipped: Sequence[Skipped], most: int) -> str:
    """« Fichiers non indexés : a.txt (fichier vide) ; b.pdf (PDF abîmé) et 2 autres »: the
    first `most` files and their French reasons, then how many more (a sentence to end)."""
    head = "Fichier non indexé" if len(skipped) == 1 else "Fichiers non indexés"
    listed = " ; ".join(f"{s.source} ({s.reason_fr})" for s in skipped[:most])
    rest = len(skipped) - most
    more = f" et {rest} autre{'s' if rest >= 2 else ''}" if rest > 0 else ""
    return f"{head} : {listed}{more}"


def sidecar_only(corpus_dir: Path, path: Path, data: tuple[bytes, bytes | None]) -> bool:
    """Whether the document reads without its metadata file (the fault is there alone)."""
    if data[1] is None:
        return False
    try:
        read_document(corpus_dir, path, (data[0], None))
    except IngestError:
        return False
    return True


def kept_reasons(error: IngestError) -> tuple[str, str]:
    """Why an indexed document's new version was left out, its indexed one kept (en, fr)."""
    return (
        f"{error.message}; the version indexed before is kept until the file is fixed",
        f"{error.message_fr} ; la version indexée avant est gardée jusqu'à correction",
    )
