"""Whether the corpus still holds what the index was built from: ask's notes, rebuild advice."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from poleqa.config import Settings
from poleqa.errors import IndexError_, PoleqaError
from poleqa.names import shown_name
from poleqa.types import Answer, Citation

if TYPE_CHECKING:
    from poleqa.pipeline import Pipeline

# Stands for the folder to name when the one given is not the index's (the manifest does not
# record where its documents were read).
ITS_FOLDER = "FOLDER"
# « the text »: a file's text also changes when poleqa reads its format otherwise
CHANGED_NOTE = (
    "Le texte du fichier {source} a changé depuis son indexation : le passage cité peut ne "
    "plus s'y trouver."
)
REMOVED_NOTE = "Le fichier {source} n'est plus dans le dossier des documents depuis son indexation."
UNREADABLE_NOTE = (
    "Le fichier {source} ne se lit plus ({reason}) : le passage cité est celui de la version "
    "indexée."
)


def corpus_named() -> bool:
    """Whether this command's --corpus was given (on the command line or as POLEQA_CORPUS)."""
    source = click.get_current_context().get_parameter_source("corpus_dir")
    given = click.core.ParameterSource
    return source in (given.COMMANDLINE, given.ENVIRONMENT)


def cited_folder(settings: Settings, named: bool) -> Path:
    """The folder whose files answers cite: --corpus if named, else the one the index was
    read from (./corpus may be another one, and its absent files were said to have gone)."""
    from poleqa.index.origin import recorded_corpus  # late: see poleqa.cli

    read_from = None if named else recorded_corpus(settings.index_dir)
    if read_from is None or read_from.resolve() == settings.corpus_dir.resolve():
        return settings.corpus_dir  # named as the user names it
    return read_from


def built_from(corpus_dir: Path, sources: Iterable[str]) -> bool:
    """Whether `corpus_dir` can be the folder an index of these documents was read from: it
    holds one of them at least (an index of no document could come from anywhere)."""
    sources = list(sources)
    if not sources:
        return True
    return corpus_dir.is_dir() and any((corpus_dir / s).is_file() for s in sources)


def _manifest_sources(index_dir: Path) -> list[str] | None:
    """The documents the index's manifest lists; None if it cannot be read."""
    from poleqa.index.loader import read_manifest  # late: it loads numpy and FAISS (poleqa.cli)

    try:
        _, manifest = read_manifest(index_dir)
    except PoleqaError:
        return None
    return [d.source for d in manifest.documents]


@contextmanager
def corpus_in_advice(index_dir: Path, corpus_dir: Path, named: bool) -> Iterator[None]:
    """The index's errors advise `poleqa index --index DIR …`, which reads the default corpus
    (or POLEQA_CORPUS): the advice gets the --corpus this command was given, or FOLDER when the
    index's documents are not in the corpus folder (an index `poleqa eval --corpus` built)."""
    try:
        yield
    except IndexError_ as e:
        said = "`poleqa index --index "
        if said not in e.message:
            raise
        sources = _manifest_sources(index_dir)
        here = sources is None or built_from(corpus_dir, sources)
        if not named and here:
            raise  # `poleqa index` reads the same corpus: the advice is right as it is
        corpus = shlex.quote(str(corpus_dir)) if named else ITS_FOLDER
        e.message = e.message.replace(said, f"`poleqa index --corpus {corpus} --index ")
        if corpus == ITS_FOLDER:
            e.message += (
                f" {ITS_FOLDER}: the folder the index was built from (none of its documents is "
                f"in {corpus_dir})."
            )
        e.args = (e.message,)
        raise


class FileChanges:
    """Cited documents whose file changed or went since the index was built, each checked and
    noted once per run (`poleqa ask`, or all the lines of --jsonl): staff must not quote a
    passage that is no longer in the file. When the corpus folder is not the one the index
    was read from, notes nothing (it cannot tell) and, if --corpus named it (`named`), says so
    once."""

    def __init__(
        self, pipeline: Pipeline, corpus_dir: Path, index_dir: Path, *, named: bool
    ) -> None:
        self.pipeline = pipeline
        self.corpus_dir = corpus_dir
        self.index_dir = index_dir
        self.named = named  # whether --corpus named corpus_dir (else: `cited_folder`'s guess)
        self._checked: set[str] = set()
        self._here: bool | None = None  # whether corpus_dir holds the index's documents

    def advise_corpus(self) -> None:
        """Says once on stderr when documents were added to or removed from the corpus folder
        since the index was built: answers come from the index as it was (a document added
        and not indexed was missing from them without a word; `serve` rebuilds). A document
        changed is said when cited (`noted`): finding them all would read the whole corpus."""
        from poleqa.index import corpus_changes  # late, as in poleqa.cli

        if self.named and self._read_elsewhere():
            # its files' changes and `poleqa index`'s advice would be another folder's: that
            # command refuses to replace an index read from elsewhere without --replace
            corpus, index = _quoted(self.corpus_dir), _quoted(self.index_dir)
            click.echo(
                f"poleqa: the index in {index} was built from "
                f"{_quoted(self.pipeline.index.manifest.corpus_dir or '')}, not {corpus}: "
                f"answers come from its documents as indexed (to ask {corpus}'s, index it in a "
                f"folder of its own: `poleqa index --corpus {corpus} --index {ITS_FOLDER}`, or "
                "in this one with --replace).",
                err=True,
            )
            return
        if not self._is_here():
            return
        changes = corpus_changes(self.corpus_dir, self.pipeline.index.manifest)  # as loaded
        if changes:
            self._advise(
                f"the corpus changed since the index was built ({_files(changes.added)} "
                f"added, {changes.removed} removed; answers come from the index as it was)"
            )

    def noted(self, answer: Answer) -> Answer:
        """`answer` with a note for each file it cites that changed, the first time it does."""
        notes = []
        for citation in _by_document(answer.citations):
            source = citation.info.source
            if source in self._checked:
                continue
            self._checked.add(source)
            note = self._note(citation)
            if note:
                notes.append(note)
        if not notes:
            return answer
        return replace(answer, notes=(*answer.notes, *notes))

    def _is_here(self) -> bool:
        if self._here is None:
            sources = (d.source for d in self.pipeline.sources())
            self._here = not self._read_elsewhere() and built_from(self.corpus_dir, sources)
        return self._here

    def _read_elsewhere(self) -> bool:
        """Whether the index records another folder than corpus_dir as the one it was read
        from (one of its files copied into corpus_dir does not make it the index's)."""
        from poleqa.index.origin import same_corpus  # late, as in poleqa.cli

        manifest = self.pipeline.index.manifest
        return not same_corpus(manifest, self.corpus_dir, self.index_dir)

    def _note(self, citation: Citation) -> str | None:
        if not self._is_here():
            return None
        path = self.corpus_dir / citation.info.source
        shown = shown_name(citation.info.source)  # a newline in it made the note two lines
        if not path.is_file():
            self._advise(f"{shown} is no longer in {self.corpus_dir}")
            return REMOVED_NOTE.format(source=shown)
        try:
            if not self._changed(path, citation):
                return None
        except PoleqaError as e:  # its text unknown (a metadata file broken): not « changed »
            self._advise(f"{shown} cannot be read now ({e.message})")
            return UNREADABLE_NOTE.format(source=shown, reason=e.message_fr)
        self._advise(f"the text of {shown} changed since it was indexed")
        return CHANGED_NOTE.format(source=shown)

    def _changed(self, path: Path, citation: Citation) -> bool:
        """Whether the file's text is no longer the one indexed. Its fingerprint first (the
        manifest's, a sha256 of its bytes); a file whose bytes changed is read again, for the
        fingerprint also changes with its metadata sidecar or with poleqa's readers. PoleqaError
        when it cannot be read now (emptied, too large, its metadata file broken)."""
        from poleqa.ingest import file_fingerprint, read_document  # late, as in poleqa.cli

        if file_fingerprint(self.corpus_dir, path) == citation.info.content_hash:
            return False
        now = read_document(self.corpus_dir, path).text
        return now != self.pipeline.document(citation.info.source).text

    def _advise(self, what: str) -> None:
        # the corpus folder holds the index's documents: it is the one to name
        corpus, index = _quoted(self.corpus_dir), _quoted(self.index_dir)
        click.echo(
            f"poleqa: {what}: update the index with `poleqa index --corpus {corpus} --index "
            f"{index}`.",
            err=True,
        )


def _quoted(path: Path | str) -> str:
    """A folder as a shell reads it, on one line (a newline in its name split the message)."""
    return shlex.quote(shown_name(str(path)))


def _files(n: int) -> str:
    return f"{n} file{'' if n == 1 else 's'}"


def _by_document(citations: Iterable[Citation]) -> list[Citation]:
    """The first citation of each document, in order."""
    first: dict[str, Citation] = {}
    for c in citations:
        first.setdefault(c.info.source, c)
    return list(first.values())
