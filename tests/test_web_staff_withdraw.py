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
    (folder / "zz.md").write_text("# Zz\n\nUn troisième document.\n", "utf-8")
    return folder


def _staff(corpus: Path | None, tmp_path: Path) -> StaffApp:
    return StaffApp(FakePipeline(), FeedbackStore(tmp_path / "data"), corpus_dir=corpus)


def _text(html: str) -> str:
    return unescape(html)


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_withdrawn_document_is_kept_aside_with_its_metadata(corpus: Path, tmp_path: Path) -> None:
    staff = _staff(corpus, tmp_path)
    assert staff.corpus.documents() == ["autre.txt", "sous/fiche.md", "zz.md"]
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
    assert staff.corpus.documents() == ["autre.txt", "zz.md"]  # the archive is hidden
    # a second withdrawal in the same second gets a folder of its own
    html, changed = staff.corpus.withdraw("autre.txt")
    assert changed and len({Path(k).parts[0] for k in _files(corpus / ARCHIVE)}) == 2
    # the last document stays: an index of none cannot be built, the chat would go on citing it
    html, changed = staff.corpus.withdraw("zz.md")
    assert not changed and _text(html).endswith(
        "« zz.md » est le seul document du corpus : ajoutez-en un autre avant de le retirer "
        "(l'index ne peut pas être vide).</div>"
    )
    assert (corpus / "zz.md").exists()


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


def test_an_edit_reindexes_once_when_the_box_is_ticked(tmp_path: Path) -> None:
    pipeline = webfake.small_pipeline(tmp_path / "site")
    corpus = pipeline.settings.corpus_dir
    staff = StaffApp(
        pipeline, FeedbackStore(tmp_path / "data"), IndexWatcher(pipeline, None), corpus_dir=corpus
    )
    question = "Où est le siège de Hêtraie Nord ?"
    assert "b_hetraie.md" in {c.info.source for c in pipeline.ask(question).citations}
    unchanged = {"__type__": "update"}  # Gradio's « leave the status as it is »
    assert staff.reindex_after(True) == unchanged  # nothing edited yet
    _, changed = staff.corpus.withdraw("b_hetraie.md")
    assert changed
    assert staff.reindex_after(False) == unchanged  # the box unticked
    summary = _text(staff.reindex_after(True))
    assert "Index reconstruit" in summary and "retirés : 1" in summary, summary
    assert "b_hetraie.md" not in {s.source for s in pipeline.sources()}
    assert "b_hetraie.md" not in {c.info.source for c in pipeline.ask(question).citations}
    # the re-index a second click asks for once the first has been made: none
    assert staff.reindex_after(True) == unchanged
    staff.corpus.withdraw("c_saline.md")
    assert "retirés : 1" in _text(staff.reindex())  # « Réindexer » covers it too
    assert staff.reindex_after(True) == unchanged


def test_the_form_empties_after_a_success_and_the_same_file_may_come_again(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Gradio keeps an upload under a folder named after its content: the same file sent again
    # comes under the same path, and must be taken (a title corrected, a document put back)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    sent = tmp_path / "uploads" / "0a" / "neuf.md"
    sent.parent.mkdir(parents=True)
    sent.write_text("# Neuf\n\nUn document neuf.\n", "utf-8")
    record = {"path": str(sent), "orig_name": "neuf.md", "meta": {"_type": "gradio.FileData"}}
    staff = _staff(corpus, tmp_path)
    admin = staff.corpus
    html, *form = admin.add_in_page(record, "Titre", "2024", "", False)
    assert "« neuf.md » ajouté au corpus (titre : Titre)." in _text(html)
    assert form == [None, "", "", "", False]
    # a second click once the form is empty: nothing sent, nothing changed, said
    html, *form = admin.add_in_page(None, "", "", "", False)
    assert "Choisissez d'abord un document." in _text(html)
    html, *_ = admin.add_in_page(record, "Titre corrigé", "", "", True)
    assert "« neuf.md » remplacé dans le corpus (titre : Titre corrigé)." in _text(html)
    admin.withdraw("neuf.md")
    html, *_ = admin.add_in_page(record, "", "", "", False)
    assert "« neuf.md » ajouté au corpus" in _text(html)  # put back after a withdrawal
    # a refusal keeps the form, to be corrected
    other = sent.with_name("autre-neuf.md")
    other.write_text("# Autre\n\nUn autre document neuf.\n", "utf-8")
    html, *form = admin.add_in_page(record | {"path": str(other)}, "", "hier", "", False)
    assert "Date « hier » non reconnue" in _text(html)
    assert form == [{"__type__": "update"}] * 5


def test_a_document_of_a_folder_linked_from_elsewhere_is_not_moved(
    corpus: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    (elsewhere / "ext.md").write_text("# Ext\n\nTexte d'ailleurs.\n", "utf-8")
    (corpus / "lie").symlink_to(elsewhere, target_is_directory=True)
    staff = _staff(corpus, tmp_path)
    assert "lie/ext.md" in staff.corpus.documents()
    html, changed = staff.corpus.withdraw("lie/ext.md")
    assert not changed and "est dans un dossier lié au corpus" in _text(html)
    assert (elsewhere / "ext.md").exists()


def test_a_name_that_is_not_utf8_is_not_offered(corpus: Path, tmp_path: Path) -> None:
    # Gradio's JSON refused the whole staff page (login included) for such a name in the list
    os.close(os.open(os.fsencode(corpus) + b"/caf\xe9 latin.txt", os.O_CREAT | os.O_WRONLY))
    assert _staff(corpus, tmp_path).corpus.documents() == ["autre.txt", "sous/fiche.md", "zz.md"]
