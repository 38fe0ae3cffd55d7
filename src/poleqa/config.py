"""Settings passed down from the edges (CLI, app); library code never reads the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_MODEL = "multilingual-e5-small"
TRAINED = "trained"  # the trained reader's name in poleqa.reading.READERS (the default)
MAX_QUESTION_CHARS = 2000
# ~2 MB of text, some 2,500 chunks: far above any policy document, low enough that one stray
# dump (a log, a database export) cannot swamp the index or the build time.
MAX_DOCUMENT_CHARS = 2_000_000


def default_cache_dir() -> Path:
    """Where converted models live; only called at the edges (it looks at XDG_CACHE_HOME)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "poleqa"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with defaults chosen by measurement (see docs/quality.md)."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")  # feedback and other user data
    # Where feedback goes (POLEQA_FEEDBACK_URL): None is data_dir/feedback.jsonl; else
    # sqlite:///abs/path.db or postgresql://user:pass@host/db (poleqa.feedback, deployment.md)
    feedback_url: str | None = None
    cache_dir: Path = Path(".cache/poleqa")
    model: str = DEFAULT_MODEL
    # Embeds questions only; must give the same vectors as `model` (same embedder id). The web
    # chat uses "onnx" here, on one thread a question: it answers the most users (bench/).
    query_model: str | None = None
    query_threads: int = 0  # ONNX Runtime threads of the query model; 0: one per physical core
    # 500/80 read faster and answer better with the trained reader than 800/120 (docs/reader.md)
    chunk_size: int = 500
    chunk_overlap: int = 80
    k: int = 5
    flat_max_vectors: int = 50_000  # above this, an approximate (HNSW) FAISS index is built
    max_question_chars: int = MAX_QUESTION_CHARS
    max_document_chars: int = MAX_DOCUMENT_CHARS  # longer documents are skipped by the index
    # poleqa.reading.READERS: "trained" (the fine-tuned reader and its learned judge; chosen on
    # the in-domain dev split, docs/reader.md) or "sentences" (the hand-built sentence scorer)
    reader: str = TRAINED
    reader_dir: Path | None = None  # trained reader weights and judge; None: the shipped ones
    read_passages: int = 4  # retrieved passages the trained reader reads (docs/reader.md)
    # Whether the learned passage ranker (poleqa.ranking) reorders the first fused passages
    # before anything reads them: the reader then reads the answer's passage more often
    # (docs/reader.md, « A learned passage order »); False keeps the fused order.
    rerank: bool = True
    # auto, fp32, bf16, bf16-mixed or int8 (bench/bench_reader.py); auto is bf16 on a CPU with
    # AMX, where it reads 3.5x as fast as fp32, and fp32 elsewhere, where bf16 is the slower
    reader_precision: str = "auto"
    # torch threads of the trained reader; 0 leaves torch's default. `poleqa serve` gives it
    # every core: it reads the waiting questions together, one batch at a time.
    reader_threads: int = 0
    # Whether `poleqa index` embeds every sentence too (about twice the chunks' embedding time).
    # Both readers read them (the trained reader's judge through reading/evidence.py); without
    # them an index serves search only.
    sentence_vectors: bool = True

    def with_(self, **changes: object) -> Settings:
        """A copy with the given fields changed; `None` values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
