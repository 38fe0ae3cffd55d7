"""Ingestion: the shipped corpus, text encodings, metadata (md headers, sidecars)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from documents import FRENCH

from poleqa import ingest
from poleqa.errors import IngestError
from poleqa.ingest import (
    file_fingerprint,
    iter_corpus_files,
    load_corpus,
    read_document,
)
from poleqa.ingest.base import Extracted, Format
from poleqa.types import DocumentNote

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
DEV_CORPUS = REPO / "eval" / "dev" / "corpus"

# -- the shipped corpus ----------------------------------------------------------------------
SEEDS = {
    "2014-01-07_centre-poles-nouvelle-phase-2013-2018.txt": (
        "Pôles de compétitivité : nouvelle phase 2013-2018",
        "2014-01-07",
        "Services de l’État en région Centre (DIRECCTE Centre)",
    ),
    "2022_cimes-poles-de-competitivite-en-france.txt": (
        "Les pôles de compétitivité en France",
        "2022",
        "Pôle de compétitivité CIMES",
    ),
    "2023-03-30_auvergne-rhone-alpes-poles-labellises.txt": (
        "L’ensemble des pôles de compétitivité de la Région labellisés par l’État",
        "2023-03-30",
        "Région Auvergne-Rhône-Alpes",
    ),
    "2025_polymeris-20-ans-des-poles.txt": (
        "Les pôles de compétitivité fêtent leur 20 ans !",
        "2025",
        "Pôle de compétitivité Polymeris",
    ),
    "dge_les-poles-de-competitivite.txt": (
        "Les pôles de compétitivité",
        None,
        "Direction générale des Entreprises (DGE)",
    ),
}


def test_seed_corpus_loads_with_sidecar_metadata() -> None:
    scan = load_corpus(CORPUS)
    assert scan.skipped == ()
    assert [d.source for d in scan.documents] == sorted(SEEDS)
    for doc in scan.documents:
        title, date, organisation = SEEDS[doc.source]
        assert (doc.info.title, doc.info.date, doc.info.organisation) == (title, date, organisation)
        assert doc.info.url is None
        assert doc.info.format == "txt"
        assert doc.info.content_hash == file_fingerprint(CORPUS, CORPUS / doc.source)
        # The text is the file's characters, untouched: typographic apostrophes, nbsp, guillemets.
        assert doc.text == (CORPUS / doc.source).read_bytes().decode("utf-8")
        assert doc.body_start == 0
        assert "’" in doc.text
    years = {d.source: d.info.year for d in scan.documents}
    assert years["2014-01-07_centre-poles-nouvelle-phase-2013-2018.txt"] == 2014
    assert years["dge_les-poles-de-competitivite.txt"] is None


def test_seed_sidecars_are_well_formed() -> None:
    for name in SEEDS:
        meta = json.loads((CORPUS / f"{name}.meta.json").read_text(encoding="utf-8"))
        assert {"title", "organisation", "date", "url"} <= set(meta)
        # An inferred or missing date is explained.
        if meta["date"] is None or len(meta["date"]) == 4:
            assert meta["date_note"]


def test_iter_corpus_files_filters_and_sorts(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in [
        "b.txt",
        "a.md",
        "README.md",
        "a.md.meta.json",
        ".secret.txt",
        ".hidden/x.txt",
        "sub/README.md",
        "sub/page.HTML",
        "sub/deeper/c.pdf",
        "d.docx",
        "~$d.docx",
        "table.xlsx",
        "notes",
    ]:
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_corpus_files(tmp_path)]
    assert found == [
        "a.md",
        "b.txt",
        "d.docx",
        "sub/README.md",
        "sub/deeper/c.pdf",
        "sub/page.HTML",
    ]


# -- text encodings --------------------------------------------------------------------------
# UTF-16 without its byte-order mark too: said to be binary (NUL bytes) before
@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le", "utf-16-be"]
)
def test_txt_encodings_decode_to_the_same_text(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(FRENCH.encode(encoding))
    doc = read_document(tmp_path, path)
    assert doc.text == FRENCH  # BOM stripped, accents and typography intact
    assert doc.info.title == FRENCH.split("\n")[0]
    assert doc.info.source == "doc.txt"
    start = doc.text.index("cœur")
    assert doc.text[start : start + 4] == "cœur"


@pytest.mark.parametrize("encoding", ["iso8859-15", "mac_roman"])
def test_legacy_encodings_are_recognised(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "legacy.txt"
    text = "Le pôle a reçu 5 € de l'État. Cœur de métier, élève, être, déjà.\n" * 3
    path.write_bytes(text.encode(encoding))
    assert read_document(tmp_path, path).text == text


def test_cp850_text_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "dos.txt"
    text = "Le pôle a reçu l'aide de l'État à hauteur de 5 francs. Élève, être, déjà, où.\n"
    path.write_bytes(text.encode("cp850"))
    assert read_document(tmp_path, path).text == text


def test_utf8_with_stray_cp1252_bytes_has_no_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(
        "Le pôle de compétitivité a reçu l’aide. ".encode() * 3 + "Élève".encode("cp1252")
    )
    text = read_document(tmp_path, path).text
    assert text == "Le pôle de compétitivité a reçu l’aide. " * 3 + "Élève"


def test_short_cp1252_text_is_not_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_bytes("SOCIÉTÉ\u00a0: oui".encode("cp1252"))  # "É" + nbsp is valid UTF-8 too
    assert read_document(tmp_path, path).text == "SOCIÉTÉ\u00a0: oui"


@pytest.mark.parametrize(("times", "read_as"), [(1, "cp1252"), (2, "cp1252"), (1, "latin-1")])
def test_mojibake_is_repaired(tmp_path: Path, times: int, read_as: str) -> None:
    # UTF-8 read as Windows-1252 (or Latin-1: « ’ » then holds control characters) and saved
    # again as UTF-8, once or twice: search and the reader never matched « crÃ©Ã© » « créé »
    text = "# Le pôle\n\nIl a été créé en 2005 ; l’État a reçu « 5 € ». Œuvre, à côté.\n"
    garbled = text
    for _ in range(times):
        garbled = garbled.encode("utf-8").decode(read_as, errors="replace")
    assert "Ã" in garbled
    (tmp_path / "doc.md").write_text(garbled, encoding="utf-8")
    (tmp_path / "page.html").write_text(
        f"<html><body><p>{garbled}</p></body></html>", encoding="utf-8"
    )
    assert read_document(tmp_path, tmp_path / "doc.md").text == text
    assert "l’État a reçu « 5 € »" in read_document(tmp_path, tmp_path / "page.html").text


def test_text_that_only_looks_like_mojibake_is_left_as_it_is(tmp_path: Path) -> None:
    text = "SÃO PAULO, São Tomé, Ångström, Ærø, ÂGE et Ãtre ; prix : 5 €, café, œuvre.\n"
    (tmp_path / "doc.txt").write_text(text, encoding="utf-8")
    assert read_document(tmp_path, tmp_path / "doc.txt").text == text


def test_newlines_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"Titre\r\n\r\nLigne 1\rLigne 2\r\n")
    doc = read_document(tmp_path, path)
    assert doc.text == "Titre\n\nLigne 1\nLigne 2\n"


def test_undecodable_text_is_skipped_not_garbled(tmp_path: Path) -> None:
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(IngestError, match="could not determine the text encoding"):
        read_document(tmp_path, path)


# -- markdown --------------------------------------------------------------------------------
def test_md_dev_header_lines_give_metadata_and_body_start(tmp_path: Path) -> None:
    shutil.copy(DEV_CORPUS / "d01_medicen-fiche.md", tmp_path / "d01.md")
    raw = (tmp_path / "d01.md").read_text(encoding="utf-8")
    doc = read_document(tmp_path, tmp_path / "d01.md")
    assert doc.text == raw
    assert doc.info.title == "Medicen Paris Region : fiche du pôle santé d'Île-de-France"
    assert doc.info.url == (
        "https://reseau-healthtech.fr/En-dix-ans-le-pole-de-competitivite-Medicen-est-devenu-"
        "un-acteur-majeur-des.html"
    )
    assert doc.info.date == "2016-10-05"
    assert doc.info.format == "md"
    assert doc.text[doc.body_start :].startswith("Medicen Paris Region est le pôle")
    assert "Source:" not in doc.text[doc.body_start :]


def test_md_header_date_of_a_month_as_the_staff_pages_write_it(tmp_path: Path) -> None:
    # « 09/2018 » was no date: the document went undated
    path = tmp_path / "note.md"
    path.write_text("# Bilan\nDate : 09/2018\n\nLe corps.\n", "utf-8")
    assert read_document(tmp_path, path).info.date == "2018-09"


def test_md_header_with_bom_crlf_and_publisher_source(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    text = "# Le titre\r\nSource: Région Centre\r\nDate : 7 janvier 2014\r\n\r\nLe corps.\r\n"
    path.write_bytes(text.encode("utf-8-sig"))
    doc = read_document(tmp_path, path)
    assert doc.text == text.replace("\r\n", "\n")
    info = doc.info
    assert (info.title, info.url, info.organisation, info.date) == (
        "Le titre",
        None,
        "Région Centre",
        "2014-01-07",
    )
    assert doc.text[doc.body_start :] == "Le corps.\n"


def test_all_dev_docs_have_header_metadata() -> None:
    scan = load_corpus(DEV_CORPUS)
    assert scan.skipped == ()
    assert len(scan.documents) == 32
    for doc in scan.documents:
        header = doc.text[: doc.body_start]
        assert header.startswith(f"# {doc.info.title}\nSource: {doc.info.url}")
        assert f"Date: {doc.info.date}\n" in header
        assert not doc.text[doc.body_start].isspace()


def test_generic_md_title_from_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "Intro sans titre.\n\n## Partie\n\n# Le vrai titre\n\nTexte.\n", encoding="utf-8"
    )
    doc = read_document(tmp_path, path)
    assert (doc.info.title, doc.body_start, doc.info.url, doc.info.date) == (
        "Le vrai titre",
        0,
        None,
        None,
    )


def test_md_title_is_not_a_comment_in_fenced_code(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "Installer l'outil du pôle.\n\n```bash\n# installer le logiciel\n```\n\n~~~\n# non\n~~~\n",
        encoding="utf-8",
    )
    assert read_document(tmp_path, path).info.title == "Installer l'outil du pôle."


def test_md_yaml_front_matter_gives_metadata_and_is_not_body(tmp_path: Path) -> None:
    # a static-site file: its front matter was quoted as text and its date never read
    path = tmp_path / "orion.md"
    text = (
        '---\ntitle: "Le pôle Orion : bilan 2020"\ndate: 2020-09-14\ntags:\n  - pôle\n'
        "source: https://exemple.fr/orion\norganisation: Région Sud\n---\n\n"
        "# Bilan\n\nLe pôle Orion compte 40 membres.\n"
    )
    path.write_text(text, encoding="utf-8")
    doc = read_document(tmp_path, path)
    info = doc.info
    assert (info.title, info.date, info.url, info.organisation) == (
        "Le pôle Orion : bilan 2020",
        "2020-09-14",
        "https://exemple.fr/orion",
        "Région Sud",
    )
    assert doc.text == text and doc.text[doc.body_start :].startswith("# Bilan\n")
    # YAML as YAML: a folded title, a comment after a value
    path.write_text("---\ntitle: >\n  Bilan\n  2020\ndate: 2020 # l'année\n---\nTexte.\n", "utf-8")
    info = read_document(tmp_path, path).info
    assert (info.title, info.date) == ("Bilan 2020", "2020")
    # two rules around text, a heading or a list are not front matter: nothing of the body
    # is left out
    for between in ("Un texte entre deux règles.", "Attention : ce texte remplace l'ancien.",
                    "# Rapport annuel\n- point un"):  # fmt: skip
        path.write_text(f"---\n{between}\n---\nSuite.\n", encoding="utf-8")
        assert read_document(tmp_path, path).body_start == 0, between


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("# Bilan\nDate: hier\n", "hier"),
        ("# Bilan\nDate : 31/02/2020\n", "31/02/2020"),
        ("---\ntitle: Bilan\ndate: 2020-13-45\n---\n", "2020-13-45"),  # skipped: YAML raised
        ("---\ntitle: Bilan\npublished: l'an dernier\n---\n", "l'an dernier"),
    ],
)
def test_an_md_date_that_is_not_one_is_noted_and_the_document_kept(
    tmp_path: Path, header: str, value: str
) -> None:
    # dropped unnoticed, where a sidecar's is refused: a header is the file's own text, and
    # refusing the file for a typo would lose it, so it is read without a date, said
    path = tmp_path / "orion.md"
    path.write_text(header + "\nLe pôle Orion compte 40 membres.\n", encoding="utf-8")
    doc = read_document(tmp_path, path)
    assert (doc.info.title, doc.info.date) == ("Bilan", None)
    assert doc.text[doc.body_start :] == "Le pôle Orion compte 40 membres.\n"
    assert doc.notes == (
        DocumentNote(
            "orion.md",
            f"indexed without a date: the date {value!r} in its header is not one (expected "
            "YYYY-MM-DD, YYYY-MM or YYYY)",
            f"indexé sans date : la date « {value} » de son en-tête n'en est pas une (attendu "
            "AAAA-MM-JJ, AAAA-MM ou AAAA)",
        ),
    )
    (tmp_path / "orion.md.meta.json").write_text('{"date": "2020"}', encoding="utf-8")
    doc = read_document(tmp_path, path)  # the sidecar's date stands in for it: nothing to say
    assert (doc.info.date, doc.notes) == ("2020", ())


def test_sidecar_overrides_and_completes_file_metadata(tmp_path: Path) -> None:
    shutil.copy(DEV_CORPUS / "d01_medicen-fiche.md", tmp_path / "d01.md")
    (tmp_path / "d01.md.meta.json").write_text(
        json.dumps({"organisation": "Medicen", "date": "30/03/2023", "title": None}),
        encoding="utf-8",
    )
    doc = read_document(tmp_path, tmp_path / "d01.md")
    assert doc.info.organisation == "Medicen"
    assert doc.info.date == "2023-03-30"  # sidecar wins, normalised to ISO
    assert doc.info.title.startswith("Medicen Paris Region : fiche")  # null keeps the file's


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a\nb.txt", "a\\nb.txt"),
        ("\x1b[2Jc\td.txt", "\\x1b[2Jc\\td.txt"),
        ("\u202etxt.exe", "\\u202etxt.exe"),  # shown reversed, « exe.txt »
        ("x\x85\u2028\x7f.md", "x\\x85\\u2028\\x7f.md"),
        (os.fsdecode(b"caf\xe9.txt"), "caf\ufffd.txt"),
        ("régions/café é.txt", "régions/café é.txt"),
    ],
)
def test_shown_names_are_one_line_with_nothing_a_terminal_acts_on(name: str, shown: str) -> None:
    assert ingest.shown_name(name) == shown
    assert ingest.shown_name(shown) == shown  # shown by two layers: the same


def test_fingerprint_follows_file_and_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Un texte.", encoding="utf-8")
    first = file_fingerprint(tmp_path, path)
    assert first == file_fingerprint(tmp_path, Path("a.txt"))  # relative paths accepted
    assert len(first) == 64
    (tmp_path / "a.txt.meta.json").write_text('{"title": "T"}', encoding="utf-8")
    second = file_fingerprint(tmp_path, path)
    path.write_text("Un autre texte.", encoding="utf-8")
    third = file_fingerprint(tmp_path, path)
    assert len({first, second, third}) == 3
    assert read_document(tmp_path, path).info.content_hash == third


# -- html, pdf, docx -------------------------------------------------------------------------


def test_lone_surrogates_a_reader_returns_become_replacement_characters(
    tmp_path: Path, monkeypatch
) -> None:
    # pypdf gives them for some character maps; no tokenizer or UTF-8 file takes them
    def read(raw: bytes) -> Extracted:
        return Extracted(text="AA\ud800 BB\udce9", title="T\udfff", url=None)

    monkeypatch.setitem(ingest.FORMATS, ".pdf", Format("pdf", (".pdf",), read))
    (tmp_path / "odd.pdf").write_bytes(b"%PDF-1.4 whatever")
    doc = read_document(tmp_path, tmp_path / "odd.pdf")
    assert (doc.text, doc.info.title) == ("AA\ufffd BB\ufffd", "T\ufffd")
    assert doc.text.encode("utf-8") and json.dumps(doc.info.title, ensure_ascii=False).encode()
