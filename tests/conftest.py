"""Shared fixtures: the web server and seed index (once a session), a small corpus and its index,
fake embedders by name and the CLI's folders."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import launched
from click.testing import CliRunner
from pgcluster import cluster  # noqa: F401 (a fixture: a throwaway PostgreSQL, per module)
from prebuilt import FIXTURES, Prebuilt
from support import PARAMS, FakeEmbedder, build_seed_index, use_fake_models, write_corpus
from webserver import Server, start_server

from poleqa.cli import cli
from poleqa.index import build_index

PREBUILT = pytest.StashKey[Prebuilt]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that read a prebuilt index run last: their builds get the whole session."""
    items.sort(key=lambda item: any(f in FIXTURES for f in getattr(item, "fixturenames", ())))


def pytest_collection_finish(session: pytest.Session) -> None:
    """The eval corpora the selected tests read start building now (tests/prebuilt.py)."""
    used = {f for item in session.items for f in getattr(item, "fixturenames", ())}
    wanted = {FIXTURES[f] for f in used if f in FIXTURES}
    if wanted and not session.config.option.collectonly:
        base = Path(tempfile.mkdtemp(prefix="poleqa-prebuilt-"))
        session.config.stash[PREBUILT] = Prebuilt(base, wanted)


def pytest_sessionfinish(session: pytest.Session) -> None:
    prebuilt = session.config.stash.get(PREBUILT, None)
    if prebuilt is not None:
        prebuilt.stop()
        shutil.rmtree(prebuilt.base, ignore_errors=True)


@pytest.fixture(scope="session")
def dev_index(request: pytest.FixtureRequest) -> Path:
    """eval/dev/corpus indexed by `poleqa index` (tests/prebuilt.py)."""
    return request.config.stash[PREBUILT].index("dev")


@pytest.fixture(scope="session")
def domain_index(request: pytest.FixtureRequest) -> Path:
    """eval/domain/corpus indexed by `poleqa index` (tests/prebuilt.py)."""
    return request.config.stash[PREBUILT].index("domain")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium (skips without it or without Playwright)."""
    yield from launched()


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    return start_server(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """(corpus, index, model cache): the shipped corpus indexed once with the real model."""
    return build_seed_index(tmp_path_factory)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def built(corpus: Path, tmp_path: Path) -> tuple[Path, Path, FakeEmbedder]:
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "index", emb, **PARAMS)
    return corpus, tmp_path / "index", emb


@pytest.fixture
def fake_models(monkeypatch) -> dict[str, FakeEmbedder]:
    """`--model NAME` gives a fake embedder named NAME (one instance per name)."""
    made: dict[str, FakeEmbedder] = {}

    def get_embedder(name: str, cache_dir: Path | None = None) -> FakeEmbedder:
        return made.setdefault(name, FakeEmbedder(name=name))

    use_fake_models(monkeypatch, get_embedder)
    return made


@pytest.fixture
def folders(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)
    for var in ("POLEQA_CORPUS", "POLEQA_INDEX", "POLEQA_MODEL", "POLEQA_READER"):
        monkeypatch.delenv(var, raising=False)
    write_corpus(tmp_path / "corpus")
    return Path("corpus"), Path("index")


@pytest.fixture
def fake_index(tmp_path: Path, monkeypatch) -> Path:
    """A small corpus indexed with the fake bag-of-stems embedder (also used by `ask`), in
    the working folder (`poleqa ask`, `chat`)."""
    monkeypatch.chdir(tmp_path)
    for var in ("POLEQA_CORPUS", "POLEQA_INDEX", "POLEQA_MODEL"):
        monkeypatch.delenv(var, raising=False)
    # The trained reader's judge was fit on the real embedder's scores: with a fake embedder,
    # the sentence scorer answers.
    monkeypatch.setenv("POLEQA_READER", "sentences")
    fake = FakeEmbedder()
    monkeypatch.setattr(
        "poleqa.embedding.get_embedder", lambda name, cache_dir=None: fake, raising=False
    )
    write_corpus(tmp_path / "corpus")
    built = CliRunner().invoke(cli, ["index", "--corpus", "corpus", "--index", "index"])
    assert built.exit_code == 0, built.output
    return tmp_path / "index"
