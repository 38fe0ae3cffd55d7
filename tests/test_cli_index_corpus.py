"""`poleqa index` into an index built from another corpus folder: refused unless --replace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support import FakeEmbedder, generations, write_corpus

from poleqa.cli import cli
from poleqa.config import Settings
from poleqa.index import Index
from poleqa.index.store import read_current
from poleqa.pipeline import Pipeline

ASKED = "Où est le siège de Xylofutur ?"  # support.DOCS: « Le siège est à Bordeaux. »
OTHER_DOCS = {
    "d_vegepolys.md": (
        "# Vegepolys Valley\nSource: https://example.org/vegepolys\nDate: 2020-01-15\n\n"
        "Vegepolys Valley est le pôle du végétal spécialisé, installé à Angers. "
        "Il compte 450 adhérents."
    ),
}
REFUSED = (
    "Error: The index in index was built from the corpus folder {built}, not {given}, and "
    "indexing would replace its documents: run the command again with --replace to replace "
    "them, or choose another index folder with --index.\n"
)


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeEmbedder]:
    """`--model NAME` gives a fake embedder named NAME; the models loaded, by name."""
    made: dict[str, FakeEmbedder] = {}

    def get_embedder(name: str, cache_dir: Path | None = None) -> FakeEmbedder:
        return made.setdefault(name, FakeEmbedder(name=name))

    monkeypatch.setattr("poleqa.embedding.get_embedder", get_embedder, raising=False)
    monkeypatch.setenv("POLEQA_MODEL", "fake-a")
    # The trained reader's judge was fit on the real embedder's scores: the scorer answers.
    monkeypatch.setenv("POLEQA_READER", "sentences")
    return made


@pytest.fixture
def two_corpora(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path as the working folder, holding corpus/ (support.DOCS) and other/ (OTHER_DOCS)."""
    monkeypatch.chdir(tmp_path)
    for var in ("POLEQA_CORPUS", "POLEQA_INDEX", "POLEQA_INDEX_REPLACE"):
        monkeypatch.delenv(var, raising=False)
    write_corpus(tmp_path / "corpus")
    write_corpus(tmp_path / "other", OTHER_DOCS)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def answers() -> tuple[dict, dict]:
    """What `poleqa search` and `poleqa ask` give for ASKED on ./index, as JSON."""
    search = run("search", ASKED, "--index", "index", "--json", "--k", "3")
    ask = run("ask", ASKED, "--index", "index", "--json")
    assert search.exit_code == ask.exit_code == 0, search.output + ask.output
    return json.loads(search.stdout), json.loads(ask.stdout)


def test_another_corpus_is_refused_and_the_index_kept(two_corpora: Path, fake_models) -> None:
    built = run("index", "--corpus", "corpus", "--index", "index")
    assert built.exit_code == 0, built.output
    before = answers()
    assert before[1]["answer"] == "Le siège est à Bordeaux."
    assert before[1]["citations"][0]["source"] == "b_xylofutur.md"
    current = read_current(Path("index"))
    fake_models.clear()

    result = run("index", "--corpus", "other", "--index", "index", "--model", "fake-b")
    assert result.exit_code == 1
    assert result.stderr == REFUSED.format(
        built=two_corpora.resolve() / "corpus", given=two_corpora.resolve() / "other"
    )
    assert result.stdout == ""
    assert fake_models == {}  # refused before the model was loaded
    assert read_current(Path("index")) == current and len(generations(Path("index"))) == 1
    index = Index.load(Path("index"), "fake-a/32")
    assert sorted(index.documents) == ["a_medicen.md", "b_xylofutur.md", "c_aqua.md"]
    assert answers() == before


def test_replace_replaces_the_index_with_the_other_corpus(two_corpora: Path, fake_models) -> None:
    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    result = run("index", "--corpus", "other", "--index", "index", "--replace")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Indexed: 1 document, ")
    assert "added 1, changed 0, removed 3, unchanged 0, skipped 0;" in result.stdout
    index = Index.load(Path("index"), "fake-a/32")
    assert sorted(index.documents) == ["d_vegepolys.md"]
    assert index.manifest.corpus_dir == str(two_corpora.resolve() / "other")
    assert index.manifest.corpus_from_index == "../other"
    hits = run("search", "Où est installé Vegepolys ?", "--index", "index", "--json")
    assert json.loads(hits.stdout)["hits"][0]["source"] == "d_vegepolys.md"

    # the replaced index is now the other folder's: updated without --replace, and guarded
    again = run("index", "--corpus", "other", "--index", "index")
    assert again.exit_code == 0 and again.stdout.startswith("Index up to date: 1 document, ")
    back = run("index", "--corpus", "corpus", "--index", "index")
    assert back.exit_code == 1
    assert back.stderr == REFUSED.format(
        built=two_corpora.resolve() / "other", given=two_corpora.resolve() / "corpus"
    )


def test_replace_with_a_copy_of_the_corpus_records_the_copy(two_corpora: Path, fake_models):
    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    shutil.copytree(two_corpora / "corpus", two_corpora / "copy")
    result = run("index", "--corpus", "copy", "--index", "index")
    assert result.exit_code == 1
    assert result.stderr == REFUSED.format(
        built=two_corpora.resolve() / "corpus", given=two_corpora.resolve() / "copy"
    )
    # the same documents: nothing embedded, but written, for the index now records the copy
    result = run("index", "--corpus", "copy", "--index", "index", "--replace")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Indexed: 3 documents, ")
    assert "unchanged 3, skipped 0; embedded 0 chunks and 0 sentences" in result.stdout
    assert Index.load(Path("index")).manifest.corpus_dir == str(two_corpora.resolve() / "copy")
    result = run("index", "--corpus", "copy", "--index", "index")
    assert result.exit_code == 0 and result.stdout.startswith("Index up to date: 3 documents")


def test_the_same_corpus_named_otherwise_updates_the_index(two_corpora: Path, fake_models) -> None:
    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    manifest = Index.load(Path("index")).manifest
    assert manifest.corpus_dir == str(two_corpora.resolve() / "corpus")
    assert manifest.corpus_from_index == "../corpus"
    (two_corpora / "link").symlink_to(two_corpora / "corpus", target_is_directory=True)
    absolute = str(two_corpora / "corpus")
    for corpus in ("corpus", "./corpus/", absolute, absolute + "/", "link", "other/../corpus"):
        result = run("index", "--corpus", corpus, "--index", "index")
        assert result.exit_code == 0, (corpus, result.output)
        assert result.stdout.startswith("Index up to date: 3 documents, "), corpus
    (two_corpora / "corpus" / "d_vegepolys.md").write_text(OTHER_DOCS["d_vegepolys.md"], "utf-8")
    result = run("index", "--corpus", "link", "--index", str(two_corpora / "index") + "/")
    assert result.exit_code == 0, result.output
    assert "added 1, changed 0, removed 0, unchanged 3, skipped 0;" in result.stdout
    assert answers()[1]["answer"] == "Le siège est à Bordeaux."


def test_a_project_moved_whole_updates_its_index(two_corpora: Path, fake_models, monkeypatch):
    project = two_corpora / "project"
    project.mkdir()
    shutil.move(two_corpora / "corpus", project / "corpus")
    assert run("index", "--corpus", "project/corpus", "--index", "project/index").exit_code == 0
    moved = two_corpora / "moved"
    project.rename(moved)  # the old folder is gone: the index still sits beside its corpus
    monkeypatch.chdir(moved)
    result = run("index", "--corpus", "corpus", "--index", "index")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Index up to date: 3 documents, ")
    result = run("index", "--corpus", "../other", "--index", "index")
    assert result.exit_code == 1
    assert result.stderr == REFUSED.format(
        built=project.resolve() / "corpus", given=two_corpora.resolve() / "other"
    )


def test_an_index_from_before_the_corpus_was_recorded_still_works(two_corpora: Path, fake_models):
    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    path = read_current(Path("index")) / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["corpus_dir"], data["corpus_from_index"]  # as an older poleqa wrote it
    path.write_text(json.dumps(data), encoding="utf-8")
    index = Index.load(Path("index"), "fake-a/32")
    assert index.manifest.corpus_dir is None and len(index.documents) == 3
    assert answers()[1]["answer"] == "Le siège est à Bordeaux."
    result = run("index", "--corpus", "corpus", "--index", "index")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Index up to date: 3 documents, ")  # nothing rewritten
    assert read_current(Path("index")) == index.path
    # it cannot tell which folder it was read from: another one updates it, as before
    result = run("index", "--corpus", "other", "--index", "index")
    assert result.exit_code == 0, result.output
    assert "added 1, changed 0, removed 3, unchanged 0, skipped 0;" in result.stdout
    assert Index.load(Path("index")).manifest.corpus_dir == str(two_corpora.resolve() / "other")


def test_the_servers_rebuild_of_its_corpus_is_not_refused(two_corpora: Path) -> None:
    # serve's start and the staff area's « Réindexer » build through Pipeline.build, with
    # the corpus the server was given: the same folder, whatever form it was given in
    emb = FakeEmbedder()
    settings = Settings(corpus_dir=Path("corpus"), index_dir=Path("index"), reader="sentences")
    assert Pipeline(settings, embedder=emb).build().written
    (two_corpora / "corpus" / "d_vegepolys.md").write_text(OTHER_DOCS["d_vegepolys.md"], "utf-8")
    again = settings.with_(corpus_dir=two_corpora / "corpus")
    report = Pipeline(again, embedder=emb).build()
    assert (report.added, report.unchanged, report.removed) == (1, 3, 0)
    assert Index.load(Path("index")).manifest.corpus_dir == str(two_corpora.resolve() / "corpus")
