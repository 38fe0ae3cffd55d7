"""Documents the staff take out of the corpus: moved, with their metadata, to a hidden folder."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from poleqa.errors import CorpusError, PoleqaError
from poleqa.ingest import iter_corpus_files, shown_name
from poleqa.ingest.metadata import sidecar_path
from poleqa.names import SURROGATES

log = logging.getLogger("poleqa.web")

# Hidden, so the index never reads what is there; inside the corpus, so a move is a rename on
# the same disk (never a copy half made) and whoever runs the server finds it beside the rest.
ARCHIVE = ".retires"
# Why an edit of the corpus folder failed, as the staff read it (the cause is in the log).
NOT_WRITABLE = "le dossier du corpus n'est pas modifiable sur ce serveur (voir son journal)"


@dataclass(frozen=True)
class Withdrawn:
    """A document out of the corpus: its name there, and where it is kept (both relative to
    the corpus folder, with « / »)."""

    name: str
    kept_as: str


def corpus_documents(corpus: Path) -> list[str]:
    """The documents of the corpus folder as the index reads them (relative names, sorted);
    none if the folder cannot be listed. A name that is not UTF-8 is left out, as the index
    leaves it (no page can show it: Gradio's JSON refused the whole staff page)."""
    try:
        names = [p.relative_to(corpus).as_posix() for p in iter_corpus_files(corpus)]
    except (CorpusError, OSError) as e:
        log.warning("cannot list the corpus %s: %s", corpus, e)
        return []
    return [n for n in names if not SURROGATES.search(n)]


def withdraw(
    corpus: Path, name: str, now: datetime, replacing: list[str] | None = None
) -> Withdrawn:
    """Moves the document `name` and its metadata file to ARCHIVE/<date and time>/ in the
    corpus, where the index no longer reads them and nothing is lost; PoleqaError (French) if
    it is not a document of the corpus, is its last, is in a folder linked from elsewhere, or
    cannot be moved (then nothing has moved). `replacing`: the corpus's documents as listed
    by a replacement of `name` (the last may go, another takes its place)."""
    documents = corpus_documents(corpus) if replacing is None else replacing
    if name not in documents:
        raise PoleqaError(
            f"{name[:200]!r} is not a document of the corpus",
            f"« {shown_name(name)[:200]} » n'est pas (ou plus) un document du corpus.",
        )
    # an index of no document cannot be built: the chat went on citing the one withdrawn
    if documents == [name] and replacing is None:
        raise PoleqaError(
            f"{name!r} is the corpus's only document",
            f"« {shown_name(name)} » est le seul document du corpus : ajoutez-en un autre avant "
            "de le retirer (l'index ne peut pas être vide).",
        )
    document = corpus / name
    if not document.parent.resolve().is_relative_to(corpus.resolve()):
        raise PoleqaError(
            f"{name!r} is in a folder linked into the corpus",
            f"« {shown_name(name)} » est dans un dossier lié au corpus, qui est ailleurs sur le "
            "serveur : retirez-le de ce dossier-là.",
        )
    folder = _new_folder(corpus, now)
    kept = folder / name
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        os.rename(document, kept)
        if os.path.lexists(sidecar_path(document)):
            try:
                os.rename(sidecar_path(document), sidecar_path(kept))
            except OSError:
                _move_back(kept, document)  # not served without the metadata it was read with
                raise
    except OSError as e:
        log.error("cannot move %s to %s: %s", document, kept, e)
        _drop_empty(kept.parent, corpus / ARCHIVE)
        raise PoleqaError(
            f"cannot move {document} to {kept}: {e}",
            f"« {shown_name(name)[:200]} » n'a pas pu être retiré : {NOT_WRITABLE}.",
        ) from e
    return Withdrawn(name, kept.relative_to(corpus).as_posix())


def put_back(corpus: Path, withdrawn: Withdrawn) -> bool:
    """Undoes `withdraw` (a replacement that failed to be written): the document and its
    metadata file back under their name; False, logged, if that fails too (what could not go
    back stays in the archive, never over a file made meanwhile)."""
    document, kept = corpus / withdrawn.name, corpus / withdrawn.kept_as
    try:
        if os.path.lexists(sidecar_path(kept)):
            _move_back(sidecar_path(kept), sidecar_path(document))
        _move_back(kept, document)
    except OSError as e:
        log.error("cannot put %s back as %s: %s", kept, document, e)
        return False
    return True


def _move_back(source: Path, target: Path) -> None:
    """`source` renamed `target`, unless a file took that name meanwhile (rename would replace
    it: FileExistsError then)."""
    if os.path.lexists(target):
        raise FileExistsError(17, "a file took its name meanwhile", str(target))
    os.rename(source, target)


def _drop_empty(folder: Path, top: Path) -> None:
    """The folders made for a move that failed, removed up to `top` (only while empty)."""
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _new_folder(corpus: Path, now: datetime) -> Path:
    """A folder of ARCHIVE named after `now`, made for this move alone (two withdrawals in the
    same second never mix)."""
    base = corpus / ARCHIVE / now.strftime("%Y-%m-%d_%Hh%Mm%Ss")
    for n in range(1, 1000):
        folder = base if n == 1 else base.with_name(f"{base.name}_{n}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
        except OSError as e:
            raise PoleqaError(
                f"cannot make {folder}: {e}",
                f"Le document n'a pas pu être retiré : {NOT_WRITABLE}.",
            ) from e
    raise PoleqaError(f"too many folders named {base.name}_* in {corpus / ARCHIVE}")
