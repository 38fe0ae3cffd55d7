"""The staff take a document out of the corpus or replace it: moved aside (nothing erased), and
with the box ticked, re-indexed at once; on the real pipeline, the chat then stops citing it."""

from __future__ import annotations

import os
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import webfake
from webfake import FakePipeline

from poleqa.feedback import FeedbackStore
from poleqa.web.common import IndexWatcher
from poleqa.web.corpus_archive import ARCHIVE
from poleqa.web.staff import StaffApp


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    (folder / "sous").mkdir(parents=True)
    (folder / "sous" / "fiche.md").write_text("# Fiche\n\nLe pôle compte 42 adhérents.\n", "utf-8")
    (folder / "sous" / "fiche.md.meta.json").write_text('{"date": "2024"}', "utf-8")
    (folder / "autre.txt").write_text("Autre document.\n", "utf-8")
    return folder


def _staff(corpus: Path | None, tmp_path: Path) -> StaffApp:
    return StaffApp(FakePipeline(), FeedbackStore(tmp_path / "data"), corpus_dir=corpus)


def _text(html: str) -> str:
    return unescape(html)


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_withdrawn_document_is_kept_aside_with_its_metadata(corpus: Path, tmp_path: Path) -> None:
    staff = _staff(corpus, tmp_path)
    assert staff.corpus.documents() == ["autre.txt", "sous/fiche.md"]
    html, changed = staff.corpus.withdraw("sous/fiche.md")
    assert changed and 'class="pq-message pq-ok"' in html
    kept = [f for f in _files(corpus) if f.startswith(f"{ARCHIVE}/")]
    assert len(kept) == 2 and kept[0].endswith("/sous/fiche.md"), kept
    assert kept[1] == kept[0] + ".meta.json"
    assert _text(html) == (
        f'<div class="pq-message pq-ok">« sous/fiche.md » retiré du corpus ; il est gardé dans '
        f"{kept[0]} (le remettre dans le dossier du corpus le rend à l'index).</div>"
    )
    assert (corpus / kept[0]).read_text("utf-8") == "# Fiche\n\nLe pôle compte 42 adhérents.\n"
    assert staff.corpus.documents() == ["autre.txt"]  # the archive is hidden from the index
    # a second withdrawal in the same second gets a folder of its own
    html, changed = staff.corpus.withdraw("autre.txt")
    assert changed and len({Path(k).parts[1] for k in _files(corpus / ARCHIVE)}) == 2


@pytest.mark.parametrize(
    ("name", "said"),
    [
        (None, "Choisissez d'abord un document."),
        ("", "Choisissez d'abord un document."),
        (3, "Le document doit être un texte."),
        ("absent.md", "« absent.md » n'est pas (ou plus) un document du corpus."),
        ("../corpus/autre.txt", "n'est pas (ou plus) un document du corpus."),
        ("sous/fiche.md.meta.json", "n'est pas (ou plus) un document du corpus."),
        (f"{ARCHIVE}/x.md", "n'est pas (ou plus) un document du corpus."),
    ],
)
def test_only_a_document_of_the_corpus_can_be_withdrawn(
    corpus: Path, tmp_path: Path, name: Any, said: str
) -> None:
    before = _files(corpus)
    html, changed = _staff(corpus, tmp_path).corpus.withdraw(name)
    assert not changed and said in _text(html)
    assert _files(corpus) == before


def test_a_withdrawal_that_cannot_move_the_metadata_moves_nothing(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import poleqa.web.corpus_archive as corpus_archive

    real = os.rename

    def no_sidecar(src: Any, dst: Any) -> None:
        if str(src).endswith(".meta.json"):
            raise OSError(13, "Permission denied")
        real(src, dst)

    monkeypatch.setattr(corpus_archive.os, "rename", no_sidecar)
    before = _files(corpus)
    html, changed = _staff(corpus, tmp_path).corpus.withdraw("sous/fiche.md")
    assert not changed and "n'a pas pu être retiré" in _text(html)
    assert _files(corpus) == before
    assert not (corpus / ARCHIVE).exists() or not any((corpus / ARCHIVE).iterdir())


def test_without_a_corpus_folder_nothing_is_withdrawn(tmp_path: Path) -> None:
    staff = _staff(None, tmp_path)
    html, changed = staff.corpus.withdraw("autre.txt")
    assert not changed and "n'est pas disponible sur ce serveur" in _text(html)
    assert staff.corpus.documents() == []


def test_an_edit_reindexes_only_when_it_changed_the_corpus_and_the_box_is_ticked(
    tmp_path: Path,
) -> None:
    pipeline = webfake.small_pipeline(tmp_path / "site")
    corpus = pipeline.settings.corpus_dir
    staff = StaffApp(
        pipeline, FeedbackStore(tmp_path / "data"), IndexWatcher(pipeline, None), corpus_dir=corpus
    )
    question = "Où est le siège de Hêtraie Nord ?"
    assert "b_hetraie.md" in {c.info.source for c in pipeline.ask(question).citations}
    _, changed = staff.corpus.withdraw("b_hetraie.md")
    assert changed
    unchanged = {"__type__": "update"}  # Gradio's « leave the status as it is »
    assert staff.reindex_after(changed, False) == unchanged  # the box unticked
    assert staff.reindex_after(False, True) == unchanged  # nothing changed
    summary = _text(staff.reindex_after(changed, True))
    assert "Index reconstruit" in summary and "retirés : 1" in summary, summary
    assert "b_hetraie.md" not in {s.source for s in pipeline.sources()}
    assert "b_hetraie.md" not in {c.info.source for c in pipeline.ask(question).citations}
