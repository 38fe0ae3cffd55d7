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
from poleqa.web.corpus_admin import NO_UPLOADS
from poleqa.web.staff import StaffApp

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


def _add(staff: StaffApp, *sent: Any) -> str:
    """What « Ajouter » shows for what the page sent (the corpus change is tested apart)."""
    html, _ = staff.corpus.add(*sent)
    return html


def _said(html: str) -> str:
    """What a browser shows of a message (entities decoded)."""
    return unescape(html)


def test_a_document_is_added_with_its_metadata(staff: StaffApp, uploads: Path) -> None:
    said = _add(staff, _sent(uploads, "hêtraie.md", NOTE.encode()), "Fiche", "2024-05", "")
    assert staff.corpus.folder is not None
    assert (staff.corpus.folder / "hêtraie.md").read_text("utf-8") == NOTE
    sidecar = json.loads((staff.corpus.folder / "hêtraie.md.meta.json").read_text("utf-8"))
    assert sidecar == {"title": "Fiche", "date": "2024-05"}
    assert 'class="pq-message pq-ok"' in said
    assert "« hêtraie.md » ajouté au corpus (titre : Fiche)" in _said(said)
    # nothing left behind: no part file, no copy of the upload
    assert sorted(p.name for p in staff.corpus.folder.iterdir()) == [
        "hêtraie.md",
        "hêtraie.md.meta.json",
    ]
    # without metadata, no sidecar; the title read from the document
    other = NOTE.replace("42", "43").encode()  # the same bytes would be refused as a copy
    said = _add(staff, _sent(uploads, "autre.md", other), "", "", None)
    assert "(titre : Pôle Hêtraie Nord)" in _said(said)
    assert not (staff.corpus.folder / "autre.md.meta.json").exists()


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("vide.txt", b"", "« vide.txt » ne peut pas être indexé : fichier vide."),
        ("binaire.pdf", b"\x00\x01" * 100, "« binaire.pdf » ne peut pas être indexé : PDF abîmé."),
        ("note.exe", b"MZ", "Type de fichier non pris en charge : le corpus lit les fichiers"),
        (
            ".cache.txt",
            NOTE.encode(),
            "Nom de fichier inutilisable (un nom de dossier, ou commençant par un point) : "
            "renommez le fichier.",
        ),
        ("README.md", NOTE.encode(), "un nom que l'index ne lit pas (README.md, ~$…)"),
        ("~$note.md", NOTE.encode(), "un nom que l'index ne lit pas (README.md, ~$…)"),
        ("a\u2028b.md", NOTE.encode(), "des caractères invisibles ou de contrôle"),
        ("é" * 124 + ".md", NOTE.encode(), "Nom de fichier trop long (127 caractères ; 150 au"),
        (
            "a" * 151 + ".txt",
            NOTE.encode(),
            "Nom de fichier trop long (155 caractères ; 150 au plus, moins avec des accents)",
        ),
    ],
)
def test_what_cannot_be_indexed_is_refused_and_nothing_is_written(
    staff: StaffApp, uploads: Path, name: str, data: bytes, said: str
) -> None:
    answer = _said(_add(staff, _sent(uploads, name, data), "", "", ""))
    assert 'class="pq-message pq-error"' in answer and said in answer
    assert staff.corpus.folder is not None and list(staff.corpus.folder.iterdir()) == []


def test_no_document_is_replaced_and_bad_metadata_is_said(staff: StaffApp, uploads: Path) -> None:
    assert staff.corpus.folder is not None
    (staff.corpus.folder / "fiche.md").write_text("# Ancienne\n\nTexte.\n", "utf-8")
    said = _said(_add(staff, _sent(uploads, "fiche.md", NOTE.encode()), "", "", ""))
    assert (
        "Un document nommé « fiche.md » est déjà dans le corpus : renommez le fichier, ou cochez "
        "« Remplacer le document du même nom »." in said
    )
    assert (staff.corpus.folder / "fiche.md").read_text("utf-8") == "# Ancienne\n\nTexte.\n"
    said = _said(_add(staff, _sent(uploads, "neuve.md", NOTE.encode()), "", "bientôt", ""))
    assert (
        "Date « bientôt » non reconnue : écrivez JJ/MM/AAAA, MM/AAAA, AAAA-MM-JJ, AAAA-MM ou "
        "AAAA." in said
    )
    assert not (staff.corpus.folder / "neuve.md").exists()
    assert not (staff.corpus.folder / "neuve.md.meta.json").exists()
    locked = encrypted_pdf("Le pôle compte 42 adhérents.", "secret", "secret")
    said = _said(_add(staff, _sent(uploads, "secret.pdf", locked), "", "", ""))
    assert "PDF protégé par un mot de passe" in said


def test_only_uploaded_files_are_taken(staff: StaffApp, uploads: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "secret.md"
    elsewhere.write_text(NOTE, "utf-8")
    record = {
        "path": str(elsewhere),
        "orig_name": "secret.md",
        "meta": {"_type": "gradio.FileData"},
    }
    assert "Fichier non reçu." in _add(staff, record, "", "", "")
    assert "Choisissez d'abord un document." in _said(_add(staff, None, "", "", ""))
    sent = _sent(uploads, "x.md", NOTE.encode()) | {"orig_name": "../../x.md"}
    assert "Nom de fichier inutilisable" in _add(staff, sent, "", "", "")
    assert staff.corpus.folder is not None and list(staff.corpus.folder.iterdir()) == []


def test_a_corpus_folder_that_cannot_be_written_is_said(staff: StaffApp, uploads: Path) -> None:
    assert staff.corpus.folder is not None
    staff.corpus.folder.rmdir()
    staff.corpus.folder.write_text("a file where the folder should be", "utf-8")
    said = _said(_add(staff, _sent(uploads, "x.md", NOTE.encode()), "", "", ""))
    assert "le dossier du corpus n'est pas modifiable sur ce serveur" in said


def test_without_a_corpus_folder_nothing_is_added(tmp_path: Path, uploads: Path) -> None:
    staff = StaffApp(FakePipeline(), FeedbackStore(tmp_path / "data"))
    said = _add(staff, _sent(uploads, "x.md", NOTE.encode()), "", "", "")
    assert NO_UPLOADS in _said(said)


def test_a_date_is_taken_as_staff_write_it_and_stored_as_the_index_reads_it(
    staff: StaffApp, uploads: Path
) -> None:
    assert staff.corpus.folder is not None
    for name, typed, stored in [("a.md", "30/03/2023", "2023-03-30"), ("b.md", " 2023 ", "2023")]:
        text = NOTE.replace("42", str(len(name) + ord(name[0])))  # not a copy of the other
        said = _add(staff, _sent(uploads, name, text.encode()), "", typed, "")
        assert 'class="pq-message pq-ok"' in said, said
        sidecar = staff.corpus.folder / f"{name}.meta.json"
        assert json.loads(sidecar.read_text("utf-8")) == {"date": stored}
    said = _said(_add(staff, _sent(uploads, "c.md", b"# C\n\nAutre.\n"), "", "31/02/2023", ""))
    assert "Date « 31/02/2023 » impossible : ce jour ou ce mois n'existe pas." in said
    assert not (staff.corpus.folder / "c.md").exists()


def test_a_copy_of_a_document_or_one_too_long_is_refused_before_saving(
    tmp_path: Path, uploads: Path
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sous").mkdir(parents=True)
    (corpus / "sous" / "fiche.md").write_text(NOTE, "utf-8")
    staff = StaffApp(
        FakePipeline(), FeedbackStore(tmp_path / "data"), corpus_dir=corpus, max_document_chars=80
    )
    said = _said(_add(staff, _sent(uploads, "copie.md", NOTE.encode()), "Autre titre", "", ""))
    assert "Ce fichier est déjà dans le corpus, sous le nom « sous/fiche.md »." in said
    longer = (NOTE + "Il en comptait 30 en 2020, puis 36 en 2022.\n").encode()
    said = _said(_add(staff, _sent(uploads, "longue.md", longer), "", "", ""))
    assert "« longue.md » ne serait pas indexé (trop long : 115 caractères, 80 au plus)." in said
    assert sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*")) == [
        "sous",
        "sous/fiche.md",
    ]


def test_a_document_is_replaced_only_when_asked_and_the_old_one_is_kept(
    staff: StaffApp, uploads: Path
) -> None:
    corpus = staff.corpus.folder
    assert corpus is not None
    (corpus / "fiche.md").write_text("# Ancienne\n\nTexte.\n", "utf-8")
    (corpus / "fiche.md.meta.json").write_text('{"date": "2020"}', "utf-8")
    html, changed = staff.corpus.add(
        _sent(uploads, "fiche.md", NOTE.encode()), "", "2024", "", True
    )
    assert changed and 'class="pq-message pq-ok"' in html
    kept = sorted(p.relative_to(corpus).as_posix() for p in (corpus / ".retires").rglob("*.md*"))
    assert len(kept) == 2 and kept[0].endswith("/fiche.md"), kept
    assert (corpus / kept[0]).read_text("utf-8") == "# Ancienne\n\nTexte.\n"
    assert (corpus / kept[1]).read_text("utf-8") == '{"date": "2020"}'
    assert (
        "« fiche.md » remplacé dans le corpus (titre : Pôle Hêtraie Nord). L'ancien est gardé "
        f"dans {kept[0]}." in _said(html)
    )
    assert (corpus / "fiche.md").read_text("utf-8") == NOTE
    assert json.loads((corpus / "fiche.md.meta.json").read_text("utf-8")) == {"date": "2024"}
    # the same bytes again in place of themselves, to change the metadata: not a copy
    html, changed = staff.corpus.add(_sent(uploads, "fiche.md", NOTE.encode()), "T", "", "", True)
    assert changed and "remplacé dans le corpus (titre : T)" in _said(html)
    # a new document refused keeps the old one where it is
    html, changed = staff.corpus.add(_sent(uploads, "fiche.md", b""), "", "", "", True)
    assert not changed and "fichier vide" in _said(html)
    assert (corpus / "fiche.md").read_text("utf-8") == NOTE


def test_a_document_named_as_one_in_a_sub_folder_is_refused_unless_it_replaces_it(
    staff: StaffApp, uploads: Path
) -> None:
    # it was added at the corpus's root beside it: both versions read, the older figure cited
    corpus = staff.corpus.folder
    assert corpus is not None
    (corpus / "regions").mkdir()
    (corpus / "regions" / "fiche.md").write_text("# Ancienne\n\nTexte.\n", "utf-8")
    html, changed = staff.corpus.add(_sent(uploads, "fiche.md", NOTE.encode()), "", "", "", False)
    assert not changed and (
        "Un document nommé « fiche.md » est déjà dans le corpus (« regions/fiche.md ») : "
        "renommez le fichier, ou cochez « Remplacer le document du même nom »."
    ) in _said(html)
    assert not (corpus / "fiche.md").exists()
    html, changed = staff.corpus.add(_sent(uploads, "fiche.md", NOTE.encode()), "", "", "", True)
    assert changed and (corpus / "regions" / "fiche.md").read_text("utf-8") == NOTE


@pytest.mark.parametrize("goes_back", [True, False])
def test_a_replacement_that_cannot_be_written_puts_the_old_one_back_or_says_where(
    staff: StaffApp, uploads: Path, monkeypatch: pytest.MonkeyPatch, goes_back: bool
) -> None:
    import poleqa.web.corpus_upload as corpus_upload

    corpus = staff.corpus.folder
    assert corpus is not None
    (corpus / "fiche.md").write_text("# Ancienne\n\nTexte.\n", "utf-8")

    def full(*_: Any, **__: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(corpus_upload, "write_atomic", full)
    if not goes_back:  # the disk full for that too
        monkeypatch.setattr(corpus_upload, "put_back", lambda *_: False)
    html, changed = staff.corpus.add(_sent(uploads, "fiche.md", NOTE.encode()), "", "", "", True)
    said = _said(html)
    failed = "« fiche.md » n'a pas pu être ajouté : le dossier du corpus n'est pas modifiable"
    assert not changed and failed in said
    if goes_back:
        assert said.endswith(" ; l'ancien est resté en place.</div>")
        assert (corpus / "fiche.md").read_text("utf-8") == "# Ancienne\n\nTexte.\n"
        assert not any((corpus / ".retires").rglob("*.md"))
    else:
        kept = next((corpus / ".retires").rglob("fiche.md")).relative_to(corpus).as_posix()
        assert said.endswith(f" ; l'ancien est dans {kept} (voir le journal).</div>")


@pytest.mark.parametrize("typed", ["2023 ou 2024", "2021Tfoo", "2021-03 environ"])
def test_words_after_a_date_are_no_date(staff: StaffApp, uploads: Path, typed: str) -> None:
    said = _said(_add(staff, _sent(uploads, "a.md", NOTE.encode()), "", typed, ""))
    assert f"Date « {typed} » non reconnue" in said
