"""The staff add a document to the corpus from their area: read as the index will read it,
saved beside the others (never over one), with its metadata; refusals in French."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from documents import encrypted_pdf
from webfake import FakePipeline

from poleqa.feedback import FeedbackStore
from poleqa.web.staff import NO_UPLOADS, StaffApp

NOTE = "# Pôle Hêtraie Nord\n\nLe pôle Hêtraie Nord compte 42 adhérents en 2024.\n"


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Gradio's upload folder, where the files the staff send arrive."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


@pytest.fixture
def staff(tmp_path: Path) -> StaffApp:
    (tmp_path / "corpus").mkdir()
    return StaffApp(
        FakePipeline(), FeedbackStore(tmp_path / "data"), corpus_dir=tmp_path / "corpus"
    )


def _sent(uploads: Path, name: str, data: bytes) -> dict[str, Any]:
    """Gradio's record of a file sent by the page (its own copy, under a folder of its own)."""
    path = uploads / "0f3a" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return {"path": str(path), "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def _said(html: str) -> str:
    """What a browser shows of a message (entities decoded)."""
    return unescape(html)


def test_a_document_is_added_with_its_metadata(staff: StaffApp, uploads: Path) -> None:
    said = staff.add_document(_sent(uploads, "hêtraie.md", NOTE.encode()), "Fiche", "2024-05", "")
    assert staff.corpus_dir is not None
    assert (staff.corpus_dir / "hêtraie.md").read_text("utf-8") == NOTE
    sidecar = json.loads((staff.corpus_dir / "hêtraie.md.meta.json").read_text("utf-8"))
    assert sidecar == {"title": "Fiche", "date": "2024-05"}
    assert 'class="pq-message pq-ok"' in said
    assert "« hêtraie.md » ajouté au corpus (titre : Fiche)" in _said(said)
    # nothing left behind: no part file, no copy of the upload
    assert sorted(p.name for p in staff.corpus_dir.iterdir()) == [
        "hêtraie.md",
        "hêtraie.md.meta.json",
    ]
    # without metadata, no sidecar; the title read from the document
    said = staff.add_document(_sent(uploads, "autre.md", NOTE.encode()), "", "", None)
    assert "(titre : Pôle Hêtraie Nord)" in _said(said)
    assert not (staff.corpus_dir / "autre.md.meta.json").exists()


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("vide.txt", b"", "« vide.txt » ne peut pas être indexé : fichier vide."),
        ("binaire.pdf", b"\x00\x01" * 100, "« binaire.pdf » ne peut pas être indexé : PDF abîmé."),
        ("note.exe", b"MZ", "Type de fichier non pris en charge : le corpus lit les fichiers"),
        (".cache.txt", NOTE.encode(), "Nom de fichier inutilisable : renommez le fichier."),
        (
            "a" * 151 + ".txt",
            NOTE.encode(),
            "Nom de fichier trop long (155 caractères ; 150 au plus)",
        ),
    ],
)
def test_what_cannot_be_indexed_is_refused_and_nothing_is_written(
    staff: StaffApp, uploads: Path, name: str, data: bytes, said: str
) -> None:
    answer = _said(staff.add_document(_sent(uploads, name, data), "", "", ""))
    assert 'class="pq-message pq-error"' in answer and said in answer
    assert staff.corpus_dir is not None and list(staff.corpus_dir.iterdir()) == []


def test_no_document_is_replaced_and_bad_metadata_is_said(staff: StaffApp, uploads: Path) -> None:
    assert staff.corpus_dir is not None
    (staff.corpus_dir / "fiche.md").write_text("# Ancienne\n\nTexte.\n", "utf-8")
    said = _said(staff.add_document(_sent(uploads, "fiche.md", NOTE.encode()), "", "", ""))
    assert "Un document nommé « fiche.md » est déjà dans le corpus" in said
    assert (staff.corpus_dir / "fiche.md").read_text("utf-8") == "# Ancienne\n\nTexte.\n"
    said = _said(staff.add_document(_sent(uploads, "neuve.md", NOTE.encode()), "", "bientôt", ""))
    assert "« neuve.md » ne peut pas être indexé : fichier de métadonnées" in said
    assert not (staff.corpus_dir / "neuve.md").exists()
    assert not (staff.corpus_dir / "neuve.md.meta.json").exists()
    locked = encrypted_pdf("Le pôle compte 42 adhérents.", "secret", "secret")
    said = _said(staff.add_document(_sent(uploads, "secret.pdf", locked), "", "", ""))
    assert "PDF protégé par un mot de passe" in said


def test_only_uploaded_files_are_taken(staff: StaffApp, uploads: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "secret.md"
    elsewhere.write_text(NOTE, "utf-8")
    record = {
        "path": str(elsewhere),
        "orig_name": "secret.md",
        "meta": {"_type": "gradio.FileData"},
    }
    assert "Fichier non reçu." in staff.add_document(record, "", "", "")
    assert "Choisissez d'abord un document." in _said(staff.add_document(None, "", "", ""))
    sent = _sent(uploads, "x.md", NOTE.encode()) | {"orig_name": "../../x.md"}
    assert "Nom de fichier inutilisable" in staff.add_document(sent, "", "", "")
    assert staff.corpus_dir is not None and list(staff.corpus_dir.iterdir()) == []


def test_a_corpus_folder_that_cannot_be_written_is_said(staff: StaffApp, uploads: Path) -> None:
    assert staff.corpus_dir is not None
    staff.corpus_dir.rmdir()
    staff.corpus_dir.write_text("a file where the folder should be", "utf-8")
    said = _said(staff.add_document(_sent(uploads, "x.md", NOTE.encode()), "", "", ""))
    assert "le dossier du corpus n'est pas modifiable sur ce serveur" in said


def test_without_a_corpus_folder_nothing_is_added(tmp_path: Path, uploads: Path) -> None:
    staff = StaffApp(FakePipeline(), FeedbackStore(tmp_path / "data"))
    said = staff.add_document(_sent(uploads, "x.md", NOTE.encode()), "", "", "")
    assert NO_UPLOADS in _said(said)
