"""`poleqa index` (build or update the index) and `poleqa search` (show the passages retrieved)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from poleqa.cli.first_run import ensure_model
from poleqa.cli.freshness import corpus_in_advice, corpus_named
from poleqa.cli.options import (
    bad_value,
    corpus_option,
    filter_options,
    filters_from,
    index_option,
    model_option,
    passage_order_option,
    rerank_from,
    settings_from,
)
from poleqa.config import Settings
from poleqa.errors import CorpusError
from poleqa.names import shown_name, shown_text
from poleqa.types import Hit

if TYPE_CHECKING:
    from poleqa.index.builder import BuildReport  # late at run time: numpy and FAISS


@click.command("index")
@corpus_option
@index_option
@model_option
@click.option(
    "--chunk-size",
    type=click.IntRange(min=100, max=20_000),
    help="Chunk size in characters.  [default: the index's, else 500]",
)
@click.option(
    "--chunk-overlap",
    type=click.IntRange(min=0),
    help="Overlap between consecutive chunks, in characters.  [default: the index's, else 80]",
)
@click.option(
    "--max-document-chars",
    type=click.IntRange(min=1),
    help="Skip documents longer than this many characters of text.  [default: 2000000]",
)
@click.option(
    "--reader",
    "old_reader",
    hidden=True,
    help="Ignored: both readers read the sentence vectors now (kept so old scripts still run).",
)
@click.option(
    "--sentence-vectors/--no-sentence-vectors",
    default=None,
    help="Embed every sentence too (about twice the embedding work; both readers read them: "
    "without them the index serves search only).  [default: --sentence-vectors]",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Replace an index built from another corpus folder with this one's documents "
    "(refused without it: that index's documents would be lost).",
)
def index(
    corpus_dir: Path | None,
    index_dir: Path | None,
    model: str | None,
    chunk_size: int | None,
    chunk_overlap: int | None,
    max_document_chars: int | None,
    old_reader: str | None,
    sentence_vectors: bool | None,
    replace: bool,
) -> None:
    """Index the corpus: only new or changed documents are embedded again.

    The new index replaces the old one at once when it is complete; an interrupted run
    leaves the previous index as it was. Switching --sentence-vectors adds or drops the
    sentence vectors without embedding the chunks again. The chunking the index was built
    with is kept unless --chunk-size or --chunk-overlap changes it (then every document is
    embedded again). An index built from another corpus folder is left as it is, unless
    --replace is given.
    """
    if old_reader is not None:
        click.echo(
            "Note: `poleqa index --reader` is ignored; both readers read the sentence vectors "
            "(--no-sentence-vectors builds an index for search only).",
            err=True,
        )
    settings = settings_from(
        corpus_dir=corpus_dir,
        index_dir=index_dir,
        model=model,
        max_document_chars=max_document_chars,
        sentence_vectors=sentence_vectors,
    )
    if not settings.corpus_dir.is_dir():  # before loading the model: fail fast
        raise CorpusError(f"Corpus folder not found: {settings.corpus_dir}")
    settings = _chunking(settings, chunk_size, chunk_overlap)
    # Late: they load numpy and FAISS (see poleqa.cli).
    from poleqa.index.origin import check_corpus
    from poleqa.pipeline import Pipeline

    if not replace:  # before loading the model too: a wrong --corpus is said at once
        check_corpus(settings.index_dir, settings.corpus_dir)
    ensure_model(settings, reads=False)  # the first run's model set-up, said, not silent
    report = Pipeline(settings).build(progress=True, replace=replace)
    for line in left_out_lines(report):
        click.echo(line, err=True)
    for line in summary_lines(report, settings.index_dir):
        click.echo(line)


def _chunking(settings: Settings, size: int | None, overlap: int | None) -> Settings:
    """`settings` with the chunking to build with: the index's own, each of --chunk-size and
    --chunk-overlap changing its part (a plain `poleqa index` undid a custom chunking with
    the default's, embedding everything again unasked). A change is said: it re-embeds all."""
    from poleqa.index import recorded_chunking  # late: numpy and FAISS (see poleqa.cli)

    recorded = recorded_chunking(settings.index_dir)
    size_was, overlap_was = recorded or (settings.chunk_size, settings.chunk_overlap)
    chunking = (size or size_was, overlap_was if overlap is None else overlap)
    if chunking[1] >= chunking[0]:
        kept = "" if overlap is not None else " the index was built with"
        raise bad_value(
            "chunk_overlap" if overlap is not None else "chunk_size",
            f"the overlap{kept} ({chunking[1]}) must be smaller than the chunk size "
            f"({chunking[0]})",
        )
    if recorded is not None and chunking != recorded:
        click.echo(
            f"Note: the index in {settings.index_dir} was built with chunks of {size_was} "
            f"characters overlapping by {overlap_was}; now {chunking[0]} and {chunking[1]}: "
            "every document is chunked and embedded again.",
            err=True,
        )
    return settings.with_(chunk_size=chunking[0], chunk_overlap=chunking[1])


def left_out_lines(report: BuildReport) -> list[str]:
    """The files a build skipped, with why, and its notes on the documents it read; names
    escaped, in the reasons too (« same file as a\nb.txt »): one line per file."""
    started_over = []
    if report.started_over:  # rebuilt whole without a word, it looked like a first build
        why = report.started_over.split(": run `poleqa index", 1)[0].rstrip(".")  # being run
        started_over = [shown_name(f"Note: {why}: it was built again from the documents.")]
    return (
        started_over
        + [shown_name(f"skipped {s.source}: {s.reason}") for s in report.skipped]
        + [shown_name(f"Note: {n.source} {n.message}.") for n in report.notes]
    )


def summary_lines(report: BuildReport, index_dir: Path) -> list[str]:
    """What `poleqa index` prints once the build is done (English, singular for one)."""
    what = "Index up to date" if not report.written else "Indexed"
    vectors = "" if report.sentence_vectors else " (without vectors)"
    return [
        f"{what}: {_count(report.documents, 'document')}, {_count(report.chunks, 'chunk')}, "
        f"{_count(report.sentences, 'sentence')}{vectors} in {index_dir} "
        f"({report.index_kind} index).",
        f"added {report.added}, changed {report.changed}, removed {report.removed}, "
        f"unchanged {report.unchanged}, skipped {len(report.skipped)}; "
        f"embedded {_count(report.embedded_chunks, 'chunk')} and "
        f"{_count(report.embedded_sentences, 'sentence')} in {report.seconds:.1f} s.",
    ]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@click.command("search")
@click.argument("query")
@index_option
@corpus_option
@model_option
@passage_order_option
@click.option(
    "--k", type=click.IntRange(1, 100), default=5, show_default=True, help="Passages to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {query, hits: [...]}.")
@filter_options
def search(
    query: str,
    index_dir: Path | None,
    corpus_dir: Path | None,
    model: str | None,
    passage_order: str | None,
    k: int,
    as_json: bool,
    sources: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
) -> None:
    """Show the passages retrieved for QUERY (hybrid dense + BM25), with their scores.

    --corpus only names the folder in the advice to rebuild the index, when it must be.
    """
    settings = settings_from(
        index_dir=index_dir,
        corpus_dir=corpus_dir,
        model=model,
        rerank=rerank_from(passage_order),
    )
    from poleqa.pipeline import Pipeline  # late: it loads numpy and FAISS (see poleqa.cli)
    from poleqa.retrieval import check_filters

    ensure_model(settings, reads=False)
    pipeline = Pipeline(settings)
    with corpus_in_advice(settings.index_dir, settings.corpus_dir, corpus_named()):
        infos = pipeline.sources()
        filters = check_filters(
            filters_from(sources, date_from, date_to), (d.source for d in infos)
        )
        hits = pipeline.search(query, k, filters)
    if as_json:
        click.echo(json.dumps(hits_to_json(query, hits), ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("No passage found.")
    for hit in hits:
        click.echo(shown_text(_format_hit(hit)))  # the document's text: no control acted on
    undated = filters.undated_left_out(infos)
    if undated:
        click.echo(f"Note: {undated} document(s) without a date left out by the date filter.")


def hits_to_json(query: str, hits: list[Hit]) -> dict[str, object]:
    return {
        "query": query,
        "hits": [
            {
                "source": h.chunk.source,
                "title": h.info.title,
                "date": h.info.date,
                "start": h.chunk.start,
                "end": h.chunk.end,
                "text": h.chunk.text,
                "score": round(float(h.score), 6),
            }
            for h in hits
        ],
    }


def _format_hit(hit: Hit, width: int = 300) -> str:
    scores = [f"score {hit.score:.3f}"]
    if hit.dense_score is not None:
        scores.append(f"dense {hit.dense_score:.3f}")
    if hit.lexical_score is not None:
        scores.append(f"bm25 {hit.lexical_score:.2f}")
    date = f" ({hit.info.date})" if hit.info.date else ""
    text = re.sub(r"\s+", " ", hit.chunk.text).strip()
    if len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    return (
        f"{hit.rank}. {hit.info.title}{date}\n"
        f"   {shown_name(hit.chunk.source)} [{hit.chunk.start}:{hit.chunk.end}]  "
        f"{', '.join(scores)}\n"
        f"   {text}\n"
    )


commands = [index, search]
