"""The corpus folder an index was read from: recorded in its manifest, checked before a build."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from poleqa.errors import IndexError_, IndexOtherCorpusError
from poleqa.index.loader import read_manifest
from poleqa.index.manifest import Manifest


def corpus_record(corpus_dir: Path, index_dir: Path) -> tuple[str, str | None]:
    """What a manifest records of `corpus_dir`: the folder resolved (relative forms, a trailing
    slash and symbolic links give one path), and that path relative to the resolved index
    folder (None when there is none: another drive, on Windows)."""
    corpus = _resolved(Path(corpus_dir))
    try:
        relative = Path(os.path.relpath(corpus, _resolved(Path(index_dir)))).as_posix()
    except ValueError:
        relative = None
    return str(corpus), relative


def same_corpus(manifest: Manifest, corpus_dir: Path, index_dir: Path) -> bool:
    """Whether `corpus_dir` is the folder the generation of `manifest` was read from: the same
    folder once resolved, or the one at the same place beside the index folder (a project
    folder moved or copied whole). True when the manifest does not say (an older index)."""
    if manifest.corpus_dir is None:
        return True
    corpus = _resolved(Path(corpus_dir))
    recorded = Path(manifest.corpus_dir)
    # Resolved again: a folder moved since, with a link left at its old place, is the same.
    if corpus in (recorded, _resolved(recorded)):
        return True
    if manifest.corpus_from_index is None:
        return False
    return _resolved(_resolved(Path(index_dir)) / manifest.corpus_from_index) == corpus


def recorded_corpus(index_dir: Path) -> Path | None:
    """The folder the index in `index_dir` was read from, as it stands now: the one recorded,
    else the one at the same place beside the index (both moved together); None when the
    manifest cannot be read, does not say, or neither folder is there."""
    try:
        _, manifest = read_manifest(index_dir)
    except IndexError_:
        return None
    places = [Path(manifest.corpus_dir)] if manifest.corpus_dir else []
    if manifest.corpus_from_index is not None:
        places.append(_resolved(Path(index_dir)) / manifest.corpus_from_index)
    return next((p for p in places if p.is_dir()), None)


def check_corpus(index_dir: Path, corpus_dir: Path, command: str | None = None) -> None:
    """IndexOtherCorpusError when the index in `index_dir` was read from another folder than
    `corpus_dir`: a build would replace its documents with that folder's. Nothing is checked
    when there is no index to lose, or one that a build replaces anyway (damaged, of another
    format), or one that does not record its folder (built before it was recorded).

    `command`: the command that replaces the index, named in the messages (`replace_command`);
    None for `poleqa index` itself, whose advice is to run it again with --replace."""
    try:
        _, manifest = read_manifest(index_dir)
    except IndexError_:
        return
    if same_corpus(manifest, corpus_dir, index_dir):
        return
    corpus = _resolved(Path(corpus_dir))
    built = (
        f"The index in {index_dir} was built from the corpus folder {manifest.corpus_dir}, "
        f"not {corpus}, and indexing would replace its documents: "
    )
    built_fr = (
        f"L'index {index_dir} a été construit à partir du dossier {manifest.corpus_dir}, "
        f"pas de {corpus} : "
    )
    if command is None:
        raise IndexOtherCorpusError(
            built + "run the command again with --replace to replace them, or choose another "
            "index folder with --index.",
            built_fr + "il n'est pas remplacé sans le demander.",
        )
    raise IndexOtherCorpusError(
        built + f"run `{command}` to replace them, or choose another index folder with --index.",
        built_fr + "la réindexation remplacerait ses documents, il est donc laissé tel quel "
        f"(pour le remplacer : `{command}`).",
    )


def replace_command(corpus_dir: Path, index_dir: Path) -> str:
    """The command that replaces the index in `index_dir` with the documents of `corpus_dir`."""
    corpus, index = shlex.quote(str(corpus_dir)), shlex.quote(str(index_dir))
    return f"poleqa index --corpus {corpus} --index {index} --replace"


def work_index(work: Path, corpus: str) -> Path:
    """The index folder under `work` of a corpus folder, for the developer tools that
    index several sets (ranking_fit, calibrate): its path's parts joined by « - »
    (an absolute path without its root, which would put the index outside `work`)."""
    path = Path(corpus)
    return work / "-".join(path.parts[1:] if path.anchor else path.parts)


def _resolved(path: Path) -> Path:
    """`path` absolute, `..` and symbolic links resolved as far as they exist."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of links: the absolute path as written
        return Path(os.path.abspath(path))
