"""Shared test helpers: a fake embedder, small corpora, the real seed index, index snapshots."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from poleqa.config import Settings
from poleqa.index import Index, build_index
from poleqa.text import stems


class FakeEmbedder:
    """Bag of stems: each stem is a fixed random direction (seeded by its hash). Deterministic,
    instant, and similar texts get similar vectors; counts the texts it embeds."""

    def __init__(self, dim: int = 32, name: str = "fake-bow") -> None:
        self._dim = dim
        self._id = f"{name}/{dim}"
        self.embedded: list[str] = []

    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    def describe(self) -> dict:
        return {"id": self._id, "dim": self._dim, "backend": "fake", "weights_sha256": "none"}

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for tok in stems(text) or ["<empty>"]:
            seed = int.from_bytes(hashlib.sha256(tok.encode()).digest()[:4], "little")
            v += np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32)
        return v / (np.linalg.norm(v) or 1.0)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def embed_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:
        self.embedded += list(texts)
        out = np.stack([self._vec(t) for t in texts])
        if progress:
            progress(len(texts))
        return out


DOCS = {
    "a_medicen.md": (
        "# Medicen Paris Region\nSource: https://example.org/medicen\nDate: 2016-10-01\n\n"
        "Medicen Paris Region est un pôle de compétitivité dédié à la santé. "
        "Il comptait 276 adhérents à l'automne 2016. Son président est Christian Lajoux.\n\n"
        "Le pôle couvre Paris et les départements voisins. Les biothérapies sont une priorité."
    ),
    "b_xylofutur.md": (
        "# Xylofutur\nSource: https://example.org/xylofutur\nDate: 2019-05-02\n\n"
        "Xylofutur est le pôle de la filière forêt-bois-papier en Nouvelle-Aquitaine. "
        "Il réunit des scieries, des papetiers et des laboratoires. Le siège est à Bordeaux."
    ),
    "c_aqua.md": (
        "# Aqua-Valley\nSource: https://example.org/aqua\nDate: 2018-03-04\n\n"
        "Aqua-Valley est un pôle consacré à l'eau, basé à Montpellier. "
        "Il a fusionné avec Hydreos pour former un pôle national de l'eau."
    ),
}

# The keys of `poleqa ask --json` (serialise.answer_to_json), in order.
ANSWER_KEYS = [
    "question",
    "resolved_question",
    "language",
    "answer",
    "abstained",
    "confidence",
    "uncertain",
    "short_answer",
    "citations",
    "notes",
]
CITATION_KEYS = [
    "n",
    "source",
    "title",
    "date",
    "url",
    "start",
    "end",
    "passage",
    "score",
    "answer_start",
    "answer_end",
    "short_start",
    "short_end",
]
# A made-up passage for the reader's unit tests (windows, judge, answerer).
ALPHA_PASSAGE = (
    "Le pôle Alpha a été créé en 2005 à Lyon. Il compte 210 membres en 2020. "
    "Sa présidente est Marie Durand."
)
PARAMS = {"chunk_size": 120, "chunk_overlap": 20, "flat_max_vectors": 1000}


def use_fake_models(monkeypatch: Any, get_embedder: Callable[..., Any]) -> None:
    """`poleqa.embedding.get_embedder` replaced by `get_embedder` (fakes of this process). A
    build a server runs in a child process (`Pipeline.build(isolated=True)`) could not find
    them there: it runs here."""
    from poleqa import pipeline

    def here(settings: Any, replace: bool, progress: bool) -> Any:
        return pipeline.Pipeline(settings).build(progress=progress, replace=replace)

    monkeypatch.setattr("poleqa.embedding.get_embedder", get_embedder, raising=False)
    monkeypatch.setattr(pipeline, "_build_in_child", here)


def ctrl_c_at(monkeypatch: Any, module: Any, name: str) -> None:
    """Ctrl-C pressed as `module.name` runs; the CLI's os._exit, which would end pytest too,
    raising SystemExit instead."""
    import poleqa.cli as cli_module

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    def ended(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(module, name, interrupted)
    monkeypatch.setattr(cli_module.os, "_exit", ended)


def write_corpus(folder: Path, docs: dict[str, str] = DOCS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


REPO = Path(__file__).resolve().parents[1]
SEED_CORPUS = REPO / "corpus"
MODEL_CACHE = REPO / ".cache" / "poleqa"  # gitignored; the converted model is reused across runs
ARA = "2023-03-30_auvergne-rhone-alpes-poles-labellises.txt"
_SEED: dict[str, object] = {}


def real_embedder():
    if "embedder" not in _SEED:
        from poleqa.embedding import get_embedder

        _SEED["embedder"] = get_embedder("multilingual-e5-small", cache_dir=MODEL_CACHE)
    return _SEED["embedder"]


def build_seed_index(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(corpus, index, model cache): the shipped seed corpus indexed once per session with the
    real model (cached at module level: every test module asking for it shares one build)."""
    if "paths" not in _SEED:
        index_dir = tmp_path_factory.mktemp("seed") / "index"
        build_index(
            SEED_CORPUS,
            index_dir,
            real_embedder(),
            chunk_size=Settings().chunk_size,
            chunk_overlap=Settings().chunk_overlap,
            flat_max_vectors=50_000,
        )
        _SEED["paths"] = (SEED_CORPUS, index_dir, MODEL_CACHE)
    return _SEED["paths"]


def generations(index_dir: Path) -> list[str]:
    """The generation folders an index holds (one after each completed build)."""
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


def snapshot(index: Index) -> tuple:
    """Everything an index serves, comparable with ==."""
    return (
        sorted(index.documents),
        [(c.source, c.start, c.end) for c in index.chunks],
        [(s.source, s.start, s.end) for s in index.sentences],
        np.asarray(index.chunk_vectors).tobytes(),
        index.sentence_vectors.tobytes(),
    )


# Made-up pôles, for answers tested end to end (tests/test_real_answers.py, DEVELOPERS.md).
WRITTEN_DOCS = {
    "agrivalor.md": (
        "# Agrivalor Centre, pôle de la valorisation des céréales\n"
        "Source: https://example.org/agrivalor\nDate: 2021-04-01\n\n"
        "Agrivalor Centre est un pôle de compétitivité dédié à la valorisation des céréales et "
        "des coproduits agricoles. Labellisé en 2005, il a son siège à Chartres. Son directeur "
        "général est Marc Delorme, nommé en janvier 2020.\n\n"
        "Le pôle accompagne des projets de recherche collaborative entre coopératives, "
        "industriels de l'amidonnerie et laboratoires publics."
    ),
    "lumen-2019.md": (
        "# Lumen Atlantique : bilan d'activité 2019\n"
        "Source: https://example.org/lumen/2019\nDate: 2019-11-15\n\n"
        "Le pôle Lumen Atlantique, consacré à la photonique et aux technologies de la lumière, "
        "est installé à Saint-Nazaire. En 2019, le pôle comptait 142 adhérents, dont 98 PME.\n\n"
        "Sa présidente, Hélène Vasseur, a présenté le bilan lors de l'assemblée générale."
    ),
    "lumen-2023.md": (
        "# Lumen Atlantique : bilan d'activité 2023\n"
        "Source: https://example.org/lumen/2023\nDate: 2023-10-02\n\n"
        "En 2023, le pôle Lumen Atlantique comptait 187 adhérents. Il a ouvert une antenne à "
        "Brest en 2022 pour se rapprocher des laboratoires d'optique marine."
    ),
}


def build_written_index(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus, index): WRITTEN_DOCS indexed once per session with the real model."""
    if "written" not in _SEED:
        root = tmp_path_factory.mktemp("written")
        corpus = root / "corpus"
        corpus.mkdir()
        for name, text in WRITTEN_DOCS.items():
            (corpus / name).write_text(text, encoding="utf-8")
        settings = Settings()
        build_index(
            corpus,
            root / "index",
            real_embedder(),
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            flat_max_vectors=settings.flat_max_vectors,
        )
        _SEED["written"] = (corpus, root / "index")
    return _SEED["written"]


def run_poleqa(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The installed `poleqa` command as a real process, without the caller's POLEQA_*
    settings, on the model cache of the other tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLEQA_")}
    env["OMP_NUM_THREADS"] = "1"
    env["XDG_CACHE_HOME"] = str(REPO / ".cache")
    return subprocess.run(
        [str(Path(sys.executable).parent / "poleqa"), *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
