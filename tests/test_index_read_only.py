"""A read-only index folder: read and served as it is, refused clearly when it must change."""

from __future__ import annotations

import errno
import html
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import DOCS, PARAMS, FakeEmbedder, use_fake_models, write_corpus

from poleqa.cli import cli
from poleqa.config import Settings
from poleqa.errors import IndexError_
from poleqa.index import Index, IndexReadOnlyError, build_index, index_status, store


def _permissions_ignored() -> bool:
    """True for root (or any process allowed to override permissions): chmod alone is not
    enough to make a folder read-only for it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ro"
        folder.mkdir(mode=0o555)
        try:
            (folder / "probe").touch()
        except PermissionError:
            return False
        finally:
            folder.chmod(0o755)
    return True


PERMISSIONS_IGNORED = _permissions_ignored()


def _denied(path: object) -> PermissionError:
    return PermissionError(errno.EACCES, "Permission denied", str(path))


def _is_under(path: object, folder: Path) -> bool:
    return Path(str(path)).absolute().is_relative_to(folder.absolute())


def _chmod_tree(folder: Path, writable: bool) -> None:
    for p in [folder, *folder.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755 if writable else 0o555)
        else:
            p.chmod(stat.S_IMODE(p.stat().st_mode) | 0o200 if writable else 0o444)


def make_read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`folder` read-only for real (chmod); root ignores permissions, so then every write under
    it is also refused the way the kernel refuses it to other users."""
    _chmod_tree(folder, writable=False)
    if not PERMISSIONS_IGNORED:
        return
    real_open, real_mkdir = Path.open, Path.mkdir

    def open_(self: Path, mode: str = "r", *args: object, **kwargs: object):
        if any(c in mode for c in "wax+") and _is_under(self, folder):
            raise _denied(self)
        return real_open(self, mode, *args, **kwargs)

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if _is_under(self, folder) and not self.is_dir():
            raise _denied(self)
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    monkeypatch.setattr(Path, "mkdir", mkdir)


@pytest.fixture
def built(tmp_path: Path) -> Iterator[tuple[Path, Path, FakeEmbedder]]:
    corpus = write_corpus(tmp_path / "corpus")
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "index", emb, **PARAMS)
    yield corpus, tmp_path / "index", emb
    _chmod_tree(tmp_path, writable=True)  # so that pytest can delete it


def listing(folder: Path) -> list[tuple[str, int]]:
    """Every path under `folder` (itself included) with its modification time."""
    paths = [folder, *folder.rglob("*")]
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_mtime_ns) for p in paths)


def test_an_up_to_date_read_only_index_is_read_and_left_alone(built, monkeypatch) -> None:
    corpus, index_dir, _ = built
    before = listing(index_dir)
    make_read_only(index_dir, monkeypatch)
    emb = FakeEmbedder()

    report = build_index(corpus, index_dir, emb, **PARAMS)  # what `poleqa serve` may run
    assert not report.written and report.unchanged == 3 and emb.embedded == []
    assert index_status(corpus, index_dir, emb.id, (120, 20)) == "current"
    index = Index.load(index_dir, emb.id)
    assert index.chunks[index.lexical_search("Lajoux", 1)[0][0]].source == "a_medicen.md"
    assert listing(index_dir) == before  # no lock, no probe, no clean-up left a trace


def test_an_index_to_update_in_a_read_only_folder_is_refused_before_embedding(
    built, monkeypatch
) -> None:
    corpus, index_dir, _ = built
    (corpus / "c_aqua.md").write_text(DOCS["c_aqua.md"] + " Ajout.", encoding="utf-8")
    (corpus / "b_xylofutur.md").unlink()
    make_read_only(index_dir, monkeypatch)
    emb = FakeEmbedder()

    with pytest.raises(IndexReadOnlyError) as caught:
        build_index(corpus, index_dir, emb, **PARAMS)
    assert caught.value.message == (
        f"The index folder {index_dir} is read-only: cannot write the updated index "
        "(0 documents added, 1 changed, 1 removed) there. Make the folder writable, "
        "or build the index into another folder with --index."
    )
    assert caught.value.message_fr == (
        f"Le dossier de l'index est en lecture seule : {index_dir}. L'index ne peut pas y être "
        "mis à jour ; rendez ce dossier accessible en écriture."
    )
    assert isinstance(caught.value, IndexError_) and emb.embedded == []
    assert "b_xylofutur.md" in Index.load(index_dir, emb.id).documents  # the old one, intact


def test_a_new_index_under_a_read_only_folder_is_refused(tmp_path: Path, monkeypatch) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    parent = tmp_path / "image"
    parent.mkdir()
    make_read_only(parent, monkeypatch)
    try:
        with pytest.raises(IndexReadOnlyError, match=r"read-only \(Permission denied\)"):
            build_index(corpus, parent / "index", FakeEmbedder(), **PARAMS)
    finally:
        _chmod_tree(parent, writable=True)
    assert not (parent / "index").exists()


def test_a_folder_refusing_writes_only_when_writing_is_a_read_only_error(
    built, monkeypatch
) -> None:
    """The probe passes but the new generation cannot be made (e.g. remounted meanwhile)."""
    corpus, index_dir, emb = built
    (corpus / "c_aqua.md").unlink()
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self.name.endswith(store.PARTIAL_SUFFIX):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(IndexReadOnlyError, match=r"read-only \(Read-only file system\)"):
        build_index(corpus, index_dir, emb, **PARAMS)
    monkeypatch.undo()
    assert "c_aqua.md" in Index.load(index_dir, emb.id).documents
    assert build_index(corpus, index_dir, emb, **PARAMS).removed == 1


def test_a_lock_file_of_another_user_is_a_read_only_error(built, monkeypatch) -> None:
    corpus, index_dir, emb = built
    (corpus / "c_aqua.md").unlink()
    real_open = Path.open

    def open_(self: Path, mode: str = "r", *args: object, **kwargs: object):
        if self.name == store.LOCK:
            raise _denied(self)
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    with pytest.raises(IndexReadOnlyError, match=r"cannot write its lock file \.lock there"):
        build_index(corpus, index_dir, emb, **PARAMS)


def test_a_generation_that_cannot_be_deleted_is_one_warning(built, monkeypatch, caplog) -> None:
    corpus, index_dir, emb = built
    stale = index_dir / "gen-20200101T000000-000000-1"
    (stale / "bm25").mkdir(parents=True)
    (stale / "bm25" / "data.npy").write_bytes(b"x")
    (stale / "bm25").chmod(0o555)  # its file cannot be deleted (unless permissions are ignored)
    real_rmdir = os.rmdir

    def rmdir(path: object, *args: object, **kwargs: object) -> None:
        if str(path) == str(stale):  # the folder itself, given by its full path
            raise _denied(path)
        real_rmdir(path, *args, **kwargs)

    if PERMISSIONS_IGNORED:
        monkeypatch.setattr(os, "rmdir", rmdir)
    (corpus / "c_aqua.md").unlink()
    caplog.set_level(logging.WARNING, logger="poleqa")
    try:
        report = build_index(corpus, index_dir, emb, **PARAMS)
    finally:
        if (stale / "bm25").exists():  # root did delete it
            (stale / "bm25").chmod(0o755)
    assert report.written and report.removed == 1
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("poleqa")]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"could not delete the unused index generation {stale} (")
    assert warnings[0].endswith("): the index works; delete that folder by hand to free the space")
    assert stale.exists() and "c_aqua.md" not in Index.load(index_dir, emb.id).documents


# -- the edges -----------------------------------------------------------------------------


@pytest.fixture
def fake_model(monkeypatch) -> FakeEmbedder:
    emb = FakeEmbedder()  # the model of the `built` index
    use_fake_models(monkeypatch, lambda name, cache_dir=None: emb)
    return emb


def test_cli_index_in_a_read_only_folder(tmp_path: Path, monkeypatch, fake_model) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("POLEQA_CORPUS", "POLEQA_INDEX", "POLEQA_MODEL"):
        monkeypatch.delenv(var, raising=False)
    write_corpus(tmp_path / "corpus")
    runner = CliRunner()
    assert runner.invoke(cli, ["index"], catch_exceptions=False).exit_code == 0
    make_read_only(tmp_path / "index", monkeypatch)
    try:
        result = runner.invoke(cli, ["index"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("Index up to date: 3 documents, ")
        (tmp_path / "corpus" / "c_aqua.md").unlink()
        result = runner.invoke(cli, ["index"], catch_exceptions=False)
    finally:
        _chmod_tree(tmp_path / "index", writable=True)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: The index folder index is read-only: cannot write the updated index "
        "(0 documents added, 0 changed, 1 removed) there. Make the folder writable, "
        "or build the index into another folder with --index.\n"
    )


def _settings(corpus: Path, index_dir: Path, **changes: str) -> Settings:
    """The settings of the `built` index (its chunking), the cache beside it."""
    return Settings(
        corpus_dir=corpus,
        index_dir=index_dir,
        cache_dir=index_dir.parent / "cache",
        chunk_size=PARAMS["chunk_size"],
        chunk_overlap=PARAMS["chunk_overlap"],
        **changes,
    )


def test_serving_and_reindexing_from_a_read_only_folder(
    built, monkeypatch, fake_model, caplog
) -> None:
    from poleqa.feedback import FeedbackStore
    from poleqa.pipeline import Pipeline
    from poleqa.web.staff import StaffApp

    corpus, index_dir, _ = built
    settings = _settings(corpus, index_dir)
    make_read_only(index_dir, monkeypatch)
    # The embedder given, the staff re-index builds in this process: the read-only folder this
    # test simulates for root (monkeypatched writes) would not reach the child process it uses.
    pipeline = Pipeline(settings, Pipeline(settings).embedder)
    assert pipeline.ensure_index() is None  # what `poleqa serve` does first
    assert pipeline.search("Qui préside Medicen ?", k=1)[0].chunk.source == "a_medicen.md"

    (corpus / "c_aqua.md").unlink()
    caplog.set_level(logging.WARNING, logger="poleqa")
    shown = StaffApp(pipeline, FeedbackStore(index_dir.parent / "data")).reindex()
    assert "pq-error" in shown
    assert f"Le dossier de l'index est en lecture seule : {index_dir}." in html.unescape(shown)
    # the operator's English line, with what to do, is in the server's log
    assert [r.getMessage() for r in caplog.records if r.name == "poleqa.web.staff"] == [
        f"re-indexing refused: The index folder {index_dir} is read-only: cannot write the "
        "updated index (0 documents added, 0 changed, 1 removed) there. Make the folder "
        "writable, or build the index into another folder with --index."
    ]
    assert "c_aqua.md" in {i.source for i in pipeline.sources()}  # still served


def test_serve_preparation_serves_a_stale_read_only_index_saying_so(
    built, monkeypatch, fake_model, capsys
) -> None:
    # a container image whose corpus moved on: serve warns once and answers from the index
    from poleqa.cli.serve_cmd import prepare_chat
    from poleqa.pipeline import Pipeline
    from poleqa.web.common import Readiness

    corpus, index_dir, _ = built
    # not the default model: nothing to convert
    settings = _settings(corpus, index_dir, model=fake_model.id, reader="sentences")
    (corpus / "c_aqua.md").unlink()
    make_read_only(index_dir, monkeypatch)
    pipeline = Pipeline(settings)
    prepare_chat(pipeline, Readiness())
    warnings = [line for line in capsys.readouterr().err.splitlines() if "Warning" in line]
    assert warnings == [
        f"Warning: The index folder {index_dir} is read-only: cannot write the updated index "
        "(0 documents added, 0 changed, 1 removed) there. Make the folder writable, or build "
        "the index into another folder with --index. Serving the index as it is."
    ]
    assert "c_aqua.md" in {i.source for i in pipeline.sources()}  # the index as it was
