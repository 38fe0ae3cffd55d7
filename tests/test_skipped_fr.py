"""Why a file is left out of the index, in French for the staff: the readers' reasons, the
re-index summary of the staff area on a real build, a corpus without any readable document."""

from __future__ import annotations

import ast
import html as html_module
import json
import logging
import re
from pathlib import Path

import pytest
from documents import encrypted_pdf
from webfake import WEB_DOCS, small_pipeline

from poleqa.errors import IngestError
from poleqa.feedback import FeedbackStore
from poleqa.index.builder import BuildReport
from poleqa.index.loader import read_manifest
from poleqa.index.manifest import SkippedEntry
from poleqa.ingest import files, read_document
from poleqa.types import DocumentNote, Skipped
from poleqa.web import render
from poleqa.web.staff import StaffApp, _build_summary

SRC = Path(__file__).resolve().parents[1] / "src" / "poleqa"
LONG_TEXT = "Le pôle Oméga. " * 100  # 1,500 characters, over the limit set below
UNSUPPORTED = "a&b <i>.xyz"  # a name the file system allows and a page must not read as markup


def html_text(html: str) -> str:
    """What a browser shows of an escaped message (entities decoded, tags dropped)."""
    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def _staff(folder: Path, docs: dict[str, str]) -> StaffApp:
    """The staff area on the real pipeline (fake embedder) over `docs`, documents of more than
    1,000 characters left out."""
    pipeline = small_pipeline(folder, docs, built=False, max_document_chars=1000)
    return StaffApp(pipeline, FeedbackStore(folder / "data"))


def _bad_files(corpus: Path) -> None:
    """An empty file, a binary one, a copy, an unsupported type, a document over the limit and
    a password-protected PDF (the sixth in name order: not named in the summary)."""
    (corpus / "vide.txt").write_bytes(b"")
    (corpus / "binaire.txt").write_bytes(b"PK\x03\x04\x00\x00binaire")
    copy = "Le pôle Zêta compte 12 membres."
    (corpus / "doublon-a.txt").write_text(copy, encoding="utf-8")
    (corpus / "doublon-b.txt").write_text(copy, encoding="utf-8")
    (corpus / UNSUPPORTED).write_text("x", encoding="utf-8")
    (corpus / "long.txt").write_text(LONG_TEXT, encoding="utf-8")
    (corpus / "zz-protege.pdf").write_bytes(encrypted_pdf("Le pôle Secret.", "secret", "owner"))


SKIPPED_FR = (
    "Fichiers non indexés : a&b <i>.xyz (type de fichier .xyz non pris en charge) ; "
    "binaire.txt (fichier binaire, pas du texte) ; doublon-b.txt (copie de doublon-a.txt) ; "
    "long.txt (trop long : 1\u202f500 caractères, 1\u202f000 au plus) ; vide.txt (fichier vide) "
    "et 1 autre (raisons dans le journal du serveur)."
)


def test_the_staff_read_in_french_why_each_file_was_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    staff = _staff(tmp_path, WEB_DOCS)
    _bad_files(staff.pipeline.settings.corpus_dir)
    caplog.set_level(logging.INFO, logger="poleqa")
    shown = staff.reindex()
    assert 'class="pq-message pq-ok"' in shown and "<i>" not in shown  # escaped
    head, _, tail = html_text(shown).partition(" Fichiers")
    assert re.fullmatch(
        r"Index reconstruit en \d+ s : 4 documents \(ajoutés : 4, modifiés : 0, retirés : 0\), "
        r"\d+ passages\.",
        head,
    ), head
    assert "Fichiers" + tail == SKIPPED_FR
    # the server's log has every file and its reason, the sixth too, in English
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("poleqa"))
    assert "\n  skipped zz-protege.pdf: the PDF is password-protected" in logged
    assert "\n  skipped long.txt: 1,500 characters, above the limit of 1,000" in logged
    # nothing French in the manifest: indexes on disk keep loading, `status` sees no change
    gen, manifest = read_manifest(staff.pipeline.settings.index_dir)
    assert manifest.skipped[0] == SkippedEntry(
        "binaire.txt", manifest.skipped[0].fingerprint, "binary file (it holds NUL bytes), not text"
    )
    stored = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))["skipped"]
    assert [sorted(e) for e in stored] == [["fingerprint", "reason", "source"]] * 5
    # clicked again: nothing to do, and still why the files are not in the index
    again = html_text(staff.reindex())
    assert again == "L'index est déjà à jour (4 documents). " + SKIPPED_FR


def test_a_corpus_without_any_readable_document_is_refused_in_french(tmp_path: Path) -> None:
    staff = _staff(tmp_path, {"vide.txt": ""})
    (staff.pipeline.settings.corpus_dir / "binaire.txt").write_bytes(b"\x00\x01\x02")
    assert staff.reindex() == render.message_html(
        "Aucun document lisible dans le dossier des documents : l'index n'a pas changé. "
        "Fichiers non indexés : binaire.txt (fichier binaire, pas du texte) ; "
        "vide.txt (fichier vide)."
    )


def test_a_summary_names_five_files_and_escapes_their_names() -> None:
    skipped = tuple(Skipped(f"<b>{n}</b>.txt", "the file is empty", "fichier vide") for n in "abc")
    report = BuildReport(2, 4, 2, 0, 0, 0, skipped, 0.2, "flat")
    shown = render.message_html(_build_summary(report), "ok")
    assert "<b>" not in shown
    assert html_text(shown).endswith(
        " Fichiers non indexés : <b>a</b>.txt (fichier vide) ; <b>b</b>.txt (fichier vide) ; "
        "<b>c</b>.txt (fichier vide)."
    )
    one = BuildReport(2, 4, 0, 0, 0, 2, skipped[:1], 0.2, "flat", written=False)
    assert _build_summary(one) == (
        "L'index est déjà à jour (2 documents). Fichier non indexé : <b>a</b>.txt (fichier vide)."
    )
    assert Skipped("x.txt", "why").reason_fr == "illisible"  # built without one: still said


def test_a_summary_says_the_documents_indexed_without_their_bad_date() -> None:
    note = DocumentNote("<i>a</i>.md", "indexed without a date: …", "indexé sans date : …")
    report = BuildReport(2, 4, 1, 0, 0, 1, (), 0.2, "flat", notes=(note,))
    shown = render.message_html(_build_summary(report), "ok")
    assert "<i>" not in shown
    assert html_text(shown).endswith(" À corriger : <i>a</i>.md, indexé sans date : ….")


def _reason_fr(tmp_path: Path, name: str, data: bytes, sidecar: str | None = None) -> str:
    """The French reason read_document gives for a file `name` holding `data`."""
    (tmp_path / name).write_bytes(data)
    if sidecar is not None:
        (tmp_path / f"{name}.meta.json").write_text(sidecar, encoding="utf-8")
    with pytest.raises(IngestError) as caught:
        read_document(tmp_path, tmp_path / name)
    return caught.value.message_fr


@pytest.mark.parametrize(
    ("name", "data", "sidecar", "expected"),
    [
        ("a.txt", b"", None, "fichier vide"),
        ("a.txt", b" \n\t\n", None, "fichier vide, rien que des espaces"),
        ("a.txt", b"texte\x00binaire", None, "fichier binaire, pas du texte"),
        ("a.csv", b"a;b", None, "type de fichier .csv non pris en charge"),
        ("a.pdf", b"GIF89a pas un PDF", None, "PDF abîmé"),
        ("a.docx", b"pas un DOCX", None, "DOCX abîmé"),
        ("a.md", b"# Titre\nDate: 2020-01-01\n\n", None, "lignes d'en-tête seules, sans texte"),
        (
            "a.txt",
            "Le pôle.".encode(),
            '{"date": "bientôt"}',
            "fichier de métadonnées a.txt.meta.json invalide : la date « bientôt » n'en est "
            "pas une, attendu AAAA-MM-JJ, AAAA-MM ou AAAA",
        ),
        (
            "a.txt",
            "Le pôle.".encode(),
            "{titre",
            "fichier de métadonnées a.txt.meta.json invalide : ce n'est pas du JSON correct",
        ),
    ],
)
def test_readers_say_why_in_french(
    tmp_path: Path, name: str, data: bytes, sidecar: str | None, expected: str
) -> None:
    assert _reason_fr(tmp_path, name, data, sidecar) == expected


def test_a_password_protected_pdf_and_a_file_over_the_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = encrypted_pdf("Le pôle Secret.", "secret", "owner")
    assert _reason_fr(tmp_path, "a.pdf", pdf) == "PDF protégé par un mot de passe"
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    assert _reason_fr(tmp_path, "b.txt", b"x" * 1500) == (
        "trop volumineux : 1\u202f500 octets, 1\u202f000 au plus"
    )
    (tmp_path / "c.txt").write_text("Le pôle.", encoding="utf-8")
    (tmp_path / "c.txt.meta.json").write_bytes(b" " * 1500)
    with pytest.raises(IngestError) as caught:
        read_document(tmp_path, tmp_path / "c.txt")
    assert caught.value.message_fr == (
        "fichier de métadonnées c.txt.meta.json trop volumineux : 1\u202f500 octets, "
        "1\u202f000 au plus"
    )


def test_every_ingest_error_raised_gives_a_french_reason() -> None:
    # the staff read it beside the file's name: without one they read « illisible » only
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "IngestError"
                and len(node.args) + len(node.keywords) < 2
            ):
                missing.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert missing == []
