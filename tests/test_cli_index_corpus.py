"""An index built from another corpus folder: `poleqa index` refuses to replace it unless
--replace; eval, serve's start and the staff's re-index refuse to update it."""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support import DOCS, FakeEmbedder, generations, write_corpus

from poleqa.cli import cli
from poleqa.config import Settings
from poleqa.errors import IndexOtherCorpusError
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
def fake_models(
    fake_models: dict[str, FakeEmbedder], monkeypatch: pytest.MonkeyPatch
) -> dict[str, FakeEmbedder]:
    """conftest's fake embedders, « fake-a » the default model."""
    monkeypatch.setenv("POLEQA_MODEL", "fake-a")
    # The trained reader's judge was fit on the real embedder's scores: the scorer answers.
    monkeypatch.setenv("POLEQA_READER", "sentences")
    return fake_models


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


# -- the other paths that build: eval, serve's start, the staff's « Réindexer » ------------------

REFUSED_BUILD = (
    "The index in index was built from the corpus folder {built}, not {given}, and indexing "
    "would replace its documents: run `poleqa index --corpus other --index index --replace` to "
    "replace them, or choose another index folder with --index."
)
REFUSED_FR = (
    "L'index index a été construit à partir du dossier {built}, pas de {given} : la "
    "réindexation remplacerait ses documents, il est donc laissé tel quel (pour le remplacer : "
    "`poleqa index --corpus other --index index --replace`)."
)


def _manifest_bytes() -> bytes:
    """The manifest of ./index as it is on disk (the generation CURRENT names)."""
    return (read_current(Path("index")) / "manifest.json").read_bytes()


def _refusals(root: Path) -> tuple[str, str]:
    """The English and French refusals of ./index (built from corpus/) for other/."""
    built, given = root.resolve() / "corpus", root.resolve() / "other"
    return REFUSED_BUILD.format(built=built, given=given), REFUSED_FR.format(
        built=built, given=given
    )


def _question_set(path: Path, question: str, answer: str, source: str) -> Path:
    record = {"id": "q1", "question": question, "answers": [answer], "sources": [source]}
    path.write_text(json.dumps({**record, "answerable": True}) + "\n", encoding="utf-8")
    return path


def test_eval_refuses_to_update_an_index_of_another_folder(two_corpora: Path, fake_models):
    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    manifest, current = _manifest_bytes(), read_current(Path("index"))
    vegepolys = _question_set(Path("v.jsonl"), "Où est Vegepolys ?", "Angers", "d_vegepolys.md")
    result = run("eval", str(vegepolys), "--corpus", "other", "--index", "index", "--out", "out")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {_refusals(two_corpora)[0]}\n"
    assert _manifest_bytes() == manifest and read_current(Path("index")) == current
    assert generations(Path("index")) == [current.name] and not Path("out").exists()

    # a copy of the folder indexed: the index is current, read as it is (nothing rebuilt)
    shutil.copytree(two_corpora / "corpus", two_corpora / "copy")
    xylofutur = _question_set(Path("x.jsonl"), ASKED, "Bordeaux", "b_xylofutur.md")
    result = run("eval", str(xylofutur), "--corpus", "copy", "--index", "index", "--out", "out")
    assert result.exit_code == 0, result.output
    assert "answer accuracy 1.000" in result.stdout
    assert _manifest_bytes() == manifest

    # eval's own index (OUT/index, no --index) is rebuilt for whichever corpus it is given
    for corpus, questions in (("corpus", xylofutur), ("other", vegepolys)):
        result = run("eval", str(questions), "--corpus", corpus, "--out", "own")
        assert result.exit_code == 0, result.output
        indexed = Index.load(Path("own/index"), "fake-a/32").documents
        assert sorted(indexed) == sorted(p.name for p in (two_corpora / corpus).iterdir())


def test_serve_refuses_to_update_an_index_of_another_folder(two_corpora: Path, fake_models):
    from poleqa.cli.serve_cmd import prepare_chat
    from poleqa.web.common import Readiness

    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    manifest = _manifest_bytes()
    settings = Settings(corpus_dir=Path("other"), index_dir=Path("index"), model="fake-a")
    with pytest.raises(IndexOtherCorpusError) as refused:
        prepare_chat(Pipeline(settings.with_(reader="sentences")), Readiness())
    assert refused.value.message == _refusals(two_corpora)[0]
    assert _manifest_bytes() == manifest and len(generations(Path("index"))) == 1


def test_the_staff_reindex_refuses_an_index_of_another_folder(
    two_corpora: Path, fake_models, caplog
) -> None:
    from poleqa.feedback import FeedbackStore
    from poleqa.web import render
    from poleqa.web.staff import StaffApp

    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    manifest = _manifest_bytes()
    settings = Settings(corpus_dir=Path("other"), index_dir=Path("index"), reader="sentences")
    # the embedder given, the re-index builds in this process (a child would load a real model)
    pipeline = Pipeline(settings, embedder=FakeEmbedder(name="fake-a"))
    english, french = _refusals(two_corpora)
    caplog.set_level(logging.WARNING, logger="poleqa")
    assert StaffApp(pipeline, FeedbackStore(two_corpora / "data")).reindex() == (
        render.message_html(french)
    )
    assert [r.getMessage() for r in caplog.records if r.name == "poleqa.web.staff"] == [
        f"re-indexing refused: {english}"
    ]
    assert _manifest_bytes() == manifest and len(generations(Path("index"))) == 1
    # read as it is: the index keeps serving its own documents
    assert sorted(i.source for i in pipeline.sources()) == sorted(DOCS)


def test_a_build_refuses_before_embedding_unless_told_to_replace(two_corpora: Path) -> None:
    emb = FakeEmbedder()
    settings = Settings(corpus_dir=Path("corpus"), index_dir=Path("index"), reader="sentences")
    assert Pipeline(settings, embedder=emb).build().written
    manifest, other = _manifest_bytes(), settings.with_(corpus_dir=Path("other"))
    emb.embedded.clear()
    with pytest.raises(IndexOtherCorpusError) as refused:
        Pipeline(other, embedder=emb).build()
    assert emb.embedded == [] and _manifest_bytes() == manifest
    # the child process of a server's re-index hands both messages back
    again = pickle.loads(pickle.dumps(refused.value))
    assert (again.message, again.message_fr) == _refusals(two_corpora)
    report = Pipeline(other, embedder=emb).build(replace=True)
    assert (report.added, report.removed) == (1, 3)
    assert Index.load(Path("index")).manifest.corpus_dir == str(two_corpora.resolve() / "other")


def test_serve_answers_from_a_stale_index_while_its_update_is_built(
    two_corpora: Path, fake_models, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a document added: the chat said « Préparation » for the whole build (3.5 minutes for
    # 547 passages), the index built before unused
    import threading

    from poleqa.cli import serve_cmd
    from poleqa.web.common import Readiness

    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    before = read_current(Path("index"))
    (two_corpora / "corpus" / "ajout.md").write_text(
        "# Ajout\n\nLe pôle Ajoutia compte 77 membres.\n", "utf-8"
    )
    settings = Settings(corpus_dir=Path("corpus"), index_dir=Path("index"), model="fake-a")
    pipeline = Pipeline(settings.with_(reader="sentences"))
    released, building = threading.Event(), threading.Event()
    update = serve_cmd._update_index

    def held(*args: object) -> None:  # the update waits until the test has looked
        building.set()
        assert released.wait(30)
        update(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(serve_cmd, "_update_index", held)
    readiness = Readiness(ready=False)
    serve_cmd.prepare_chat(pipeline, readiness)  # returns: the chat may answer
    assert building.wait(30)
    assert pipeline.index.path == before  # the index built before answers meanwhile
    assert "ajout.md" not in pipeline.index.documents
    released.set()
    deadline = time.monotonic() + 30
    while "ajout.md" not in pipeline.index.documents:  # then the update replaces it
        assert time.monotonic() < deadline, "the update was not swapped in"
        time.sleep(0.05)
    assert pipeline.index_status() == "current"
