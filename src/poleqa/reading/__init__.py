"""Reading: answerers by name, each turning retrieved passages into an Answer or an abstention.

- "trained": e5-small fine-tuned for extractive QA (reading/training.py) reads the passages, a
  judge learned on in-domain questions (reading/calibrate.py), with the sentence scorer's verdict
  among its features (reading/evidence.py), decides whether to answer;
- "sentences": the hand-built sentence scorer of poleqa.reading.scorer (before the trained reader).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from poleqa.config import TRAINED, Settings
from poleqa.errors import ReaderError
from poleqa.roles import Answerer

if TYPE_CHECKING:
    from poleqa.index import Index
    from poleqa.reading.span_model import SpanModel

JUDGE_FILE = "judge.json"
_models: dict[tuple[Path, Path, str, int], SpanModel] = {}
_models_lock = threading.Lock()


def shipped_reader() -> Path:
    """The folder of the reader weights and judge shipped inside the package."""
    return Path(str(resources.files("poleqa").joinpath("data/reader")))


def load_span_model(settings: Settings) -> SpanModel:
    """The trained span model, loaded once per process (its checksum and base checked)."""
    # torch and transformers load here, not at import: `poleqa --help` and the sentence scorer
    # do not pay for them.
    from poleqa.embedding.convert import ensure_st_folder
    from poleqa.reading.span_model import SpanModel, resolve_precision

    folder = settings.reader_dir or shipped_reader()
    base = ensure_st_folder(settings.cache_dir)
    # resolved first: "auto" and the precision it stands for on this CPU are one model
    precision = resolve_precision(settings.reader_precision)
    key = (base, folder, precision, settings.reader_threads)
    with _models_lock:
        if key not in _models:
            _models[key] = SpanModel.load(base, folder, precision, settings.reader_threads)
        return _models[key]


def judge_expectations(settings: Settings, model: SpanModel, embedder_id: str) -> dict:
    """What a judge must have been fit under to be valid for these settings."""
    # here, not at the top: the scorer's package loads its lexicon and numpy, which this
    # registry module (imported by every command) does not need until a reader is made
    from poleqa.ranking import ranker_for, ranker_id
    from poleqa.reading.scorer.model import model_sha256

    return {
        "reader_sha256": model.manifest.sha256,
        "scorer_sha256": model_sha256(),  # its confidence is one of the judge's features
        "embedder": embedder_id,
        "chunking": [settings.chunk_size, settings.chunk_overlap],
        "read_passages": settings.read_passages,
        # the passages read are the ranker's first ones: another order shifts the signals
        "ranker": ranker_id(ranker_for(settings, embedder_id)),
    }


def _trained(index: Index, settings: Settings) -> Answerer:
    from poleqa.reading.answerer import ReadingAnswerer
    from poleqa.reading.evidence import EvidenceGatherer
    from poleqa.reading.judge import Judge
    from poleqa.reading.trained import TrainedReader

    evidence = EvidenceGatherer(_sentences(index, settings))  # checks the sentence vectors first
    model = load_span_model(settings)
    folder = settings.reader_dir or shipped_reader()
    expect = judge_expectations(settings, model, index.manifest.embedder_id)
    judge = Judge.load(folder / JUDGE_FILE, expect)
    return ReadingAnswerer(TrainedReader(model, settings.read_passages), judge, evidence)


def _sentences(index: Index, settings: Settings) -> Answerer:
    from poleqa.reading.scorer import ExtractiveAnswerer

    index.require_sentence_vectors()  # an index built with --no-sentence-vectors has none
    return ExtractiveAnswerer(index)


READERS: dict[str, Callable[[Index, Settings], Answerer]] = {
    TRAINED: _trained,
    "sentences": _sentences,
}


def make_answerer(index: Index, settings: Settings) -> Answerer:
    """The answerer named by `settings.reader`, over `index`."""
    try:
        factory = READERS[settings.reader]
    except KeyError:
        raise ReaderError(
            f"Unknown reader {settings.reader!r}: choose one of {', '.join(READERS)}.",
            "Ce modèle de lecture n'existe pas.",
        ) from None
    return factory(index, settings)
