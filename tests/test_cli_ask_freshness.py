"""`poleqa ask` and the corpus folder since the index was built: a cited file changed, gone or
no longer readable is noted; documents added or removed are said once."""

from __future__ import annotations

import json
import os
from pathlib import Path

from support import DOCS
from test_cli_ask import ANSWERED, ASK_OUTPUT, KEYS, run

CHANGED = (
    "Note : Le texte du fichier b_xylofutur.md a changé depuis son indexation : le passage cité "
    "peut ne plus s'y trouver.\n"
)
GONE = (
    "Note : Le fichier c_aqua.md n'est plus dans le dossier des documents depuis son indexation.\n"
)
UPDATE = "update the index with `poleqa index --corpus corpus --index index`.\n"


def test_ask_notes_a_cited_file_changed_or_gone_since_indexing(fake_index: Path) -> None:
    # its passage may be no longer in the file: staff must not quote it as it is
    corpus = fake_index.parent / "corpus"
    (corpus / "b_xylofutur.md.meta.json").write_text('{"title": "X"}', encoding="utf-8")
    assert run("ask", ANSWERED, "--index", "index", "--k", "2").stdout == ASK_OUTPUT  # same text
    text = DOCS["b_xylofutur.md"].replace("Bordeaux", "Pessac")
    (corpus / "b_xylofutur.md").write_text(text, encoding="utf-8")
    (corpus / "c_aqua.md").unlink()
    result = run("ask", ANSWERED, "--index", "index", "--k", "2")
    notes = "Confiance : 99 %\n" + CHANGED + GONE
    assert result.stdout == ASK_OUTPUT.replace("Confiance : 99 %\n", notes)
    assert result.stderr == (
        "poleqa: the corpus changed since the index was built (0 files added, 1 removed; "
        f"answers come from the index as it was): {UPDATE}"
        f"poleqa: the text of b_xylofutur.md changed since it was indexed: {UPDATE}"
        f"poleqa: c_aqua.md is no longer in corpus: {UPDATE}"
    )
    # once per file in a run; --json keeps its keys, the note among the notes
    lines = run("ask", "--jsonl", "-", "--index", "index", stdin=f"{ANSWERED}\n{ANSWERED}\n")
    out = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [o["notes"] for o in out] == [[CHANGED[7:-1], GONE[7:-1]], []]
    assert list(out[0]) == KEYS
    # another corpus folder than the index's, even one holding a copy of one of its files: no
    # file is said changed or gone, nor a build advised that `poleqa index` would refuse
    (fake_index.parent / "other").mkdir()
    (fake_index.parent / "other" / "b_xylofutur.md").write_text(text, encoding="utf-8")
    result = run("ask", ANSWERED, "--index", "index", "--corpus", "other", "--json")
    assert (json.loads(result.stdout)["notes"], result.stderr) == (
        [],
        f"poleqa: the index in index was built from {corpus.resolve()}, not other: answers "
        "come from its documents as indexed (to ask other's, index it in a folder of its own: "
        "`poleqa index --corpus other --index FOLDER`, or in this one with --replace).\n",
    )
    # without --corpus, the folder the index was read from, not ./corpus: another folder
    # there said the cited files had gone, and advised a build the index refuses
    (corpus / "c_aqua.md").write_text(DOCS["c_aqua.md"], encoding="utf-8")
    (corpus / "b_xylofutur.md").write_text(DOCS["b_xylofutur.md"], encoding="utf-8")
    elsewhere = fake_index.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "corpus").mkdir()
    (elsewhere / "corpus" / "a_other.md").write_text("# Autre\n\nAutre texte.\n", "utf-8")
    os.chdir(elsewhere)  # the fixture's monkeypatch puts the first folder back
    (corpus / "c_aqua.md").unlink()
    result = run("ask", ANSWERED, "--index", str(fake_index), "--json")
    assert json.loads(result.stdout)["notes"] == [GONE[7:-1]]  # the index's folder's file
    assert f"\npoleqa: c_aqua.md is no longer in {corpus.resolve()}: " in result.stderr


def test_a_cited_file_whose_metadata_no_longer_reads_is_not_said_changed(
    fake_index: Path,
) -> None:
    # `poleqa index` keeps its indexed version: the advice to run it changed nothing
    sidecar = fake_index.parent / "corpus" / "b_xylofutur.md.meta.json"
    sidecar.write_text('{"date": "2014-02-30"}', encoding="utf-8")
    result = run("ask", ANSWERED, "--index", "index", "--k", "2", "--json")
    (note,) = json.loads(result.stdout)["notes"]
    assert note.startswith("Le fichier b_xylofutur.md ne se lit plus (")
    assert note.endswith(") : le passage cité est celui de la version indexée.")
    assert "poleqa: b_xylofutur.md cannot be read now (" in result.stderr


def test_ask_says_once_that_files_were_added_since_indexing(fake_index: Path) -> None:
    # a document added and not indexed was missing from the answers without a word
    corpus = fake_index.parent / "corpus"
    assert run("ask", ANSWERED, "--index", "index").stderr == ""
    (corpus / "d_nouveau.md").write_text("# Nouveau\n\nLe pôle Zéphyr compte 42 membres.\n")
    lines = run("ask", "--jsonl", "-", "--index", "index", stdin=f"{ANSWERED}\n{ANSWERED}\n")
    assert lines.stderr == (
        "poleqa: the corpus changed since the index was built (1 file added, 0 removed; "
        f"answers come from the index as it was): {UPDATE}"
    )
    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    assert run("ask", ANSWERED, "--index", "index").stderr == ""


def test_without_corpus_another_folder_in_the_recorded_ones_place_says_nothing(
    fake_index: Path,
) -> None:
    # the index's folder gone, ./corpus (the default) holding a file of the same name: its
    # text was compared with the index's, and a build advised that `poleqa index` refuses
    (fake_index.parent / "corpus").rename(fake_index.parent / "moved")
    here = fake_index.parent / "elsewhere"
    (here / "corpus").mkdir(parents=True)
    (here / "corpus" / "b_xylofutur.md").write_text("# Autre\n\nUn autre texte.\n", "utf-8")
    os.chdir(here)  # the fixture's monkeypatch puts the first folder back
    result = run("ask", ANSWERED, "--index", str(fake_index), "--json")
    assert (json.loads(result.stdout)["notes"], result.stderr) == ([], "")
