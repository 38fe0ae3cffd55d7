"""End to end with the real model and the shipped reader, on documents written for the test (made-up
pôles, so that no eval set is copied): `poleqa ask` as a process, figures by year, abstention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import MODEL_CACHE, build_written_index, run_poleqa

from poleqa.config import Settings
from poleqa.pipeline import Pipeline
from poleqa.query import analyse
from poleqa.reading import load_span_model
from poleqa.reading.trained import TrainedReader
from poleqa.types import Chunk, DocumentInfo, Hit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus, index): support.WRITTEN_DOCS indexed with the real model."""
    return build_written_index(tmp_path_factory)


@pytest.fixture(scope="module")
def pipeline(written: tuple[Path, Path]) -> Pipeline:
    corpus, index = written
    return Pipeline(Settings(corpus_dir=corpus, index_dir=index, cache_dir=MODEL_CACHE))


def _check_offsets(corpus: Path, answer: dict) -> None:
    """Every citation's passage is its document's text at its offsets; so are the answer and its
    short answer, inside citation [1]."""
    for c in answer["citations"]:
        text = (corpus / c["source"]).read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == c["passage"]
    first = answer["citations"][0]
    text = (corpus / first["source"]).read_text(encoding="utf-8")
    assert first["start"] <= first["answer_start"] < first["answer_end"] <= first["end"]
    assert text[first["answer_start"] : first["answer_end"]] == answer["answer"]
    assert text[first["short_start"] : first["short_end"]] == answer["short_answer"]


def test_ask_process_answers_with_the_span_and_its_offsets(written: tuple[Path, Path]) -> None:
    corpus, index = written
    proc = run_poleqa("ask", "Où se trouve le siège du pôle Agrivalor Centre ?", "--index",
                   str(index), "--json", cwd=index.parent)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["abstained"] is False
    assert answer["short_answer"] == "Chartres"
    assert answer["citations"][0]["source"] == "agrivalor.md"
    _check_offsets(corpus, answer)


def test_ask_jsonl_process_answers_each_line(written: tuple[Path, Path]) -> None:
    corpus, index = written
    questions = "\n".join(
        [
            "Qui est le directeur général d'Agrivalor Centre ?",
            "Qui a remporté le Tour de France 1985 ?",
            "???",
        ]
    )
    proc = run_poleqa(
        "ask", "--jsonl", "-", "--index", str(index), cwd=index.parent, stdin=questions
    )
    assert proc.returncode == 0, proc.stderr
    director, outside, bad = (json.loads(line) for line in proc.stdout.splitlines())
    assert director["short_answer"] == "Marc Delorme"
    _check_offsets(corpus, director)
    assert outside["abstained"] is True and outside["answer"] is None
    assert outside["citations"]  # the closest passages, with nothing marked in them
    assert {(c["answer_start"], c["short_start"]) for c in outside["citations"]} == {(None, None)}
    assert bad == {"question": "???", "error": "The question holds no words, only punctuation."}


def test_no_year_asked_gives_the_latest_figure_and_the_others_by_year(pipeline: Pipeline) -> None:
    a = pipeline.ask("Combien d'adhérents compte le pôle Lumen Atlantique ?")
    assert not a.abstained
    assert "187" in a.short_answer and a.citations[0].info.source == "lumen-2023.md"
    by_year = [n for n in a.notes if n.startswith("Selon la date des documents : ")]
    assert len(by_year) == 1, a.notes
    n2019 = next(c.n for c in a.citations if c.info.source == "lumen-2019.md")
    # « Selon la date des documents : document de 2019 : 142 adhérents [2] ; document de
    # 2023 : 187 adhérents [1] » (span as read)
    first, second = by_year[0].removeprefix("Selon la date des documents : ").split(" ; ")
    assert (
        first.startswith("document de 2019 : ") and "142" in first and first.endswith(f"[{n2019}]")
    )
    assert second.startswith("document de 2023 : ") and "187" in second and second.endswith("[1]")


def test_a_year_asked_gives_that_years_figure(pipeline: Pipeline) -> None:
    a = pipeline.ask("Combien d'adhérents comptait le pôle Lumen Atlantique en 2019 ?")
    assert not a.abstained
    assert "142" in a.short_answer and a.citations[0].info.source == "lumen-2019.md"
    assert not any(n.startswith("Selon la date des documents") for n in a.notes)
    first = a.citations[0]  # the sentence and the short answer at their document offsets
    doc = pipeline.document(first.info.source)
    assert doc.text[first.answer_start : first.answer_end] == a.text
    assert doc.text[first.short_start : first.short_end] == a.short_answer


def test_english_question_answered_in_french(pipeline: Pipeline) -> None:
    a = pipeline.ask("Where is the headquarters of the Agrivalor Centre cluster?")
    assert not a.abstained
    assert a.short_answer == "Chartres" and a.citations[0].info.source == "agrivalor.md"
    assert a.language == "en" and any("anglais" in n for n in a.notes)


def test_a_fact_the_documents_lack_is_not_answered(pipeline: Pipeline) -> None:
    # Not every such question: docs/quality.md « Known weaknesses » lists three these documents
    # get wrong (a place asked about elsewhere, a role the documents do not name, a count of
    # something else).
    for question in (
        "Quelle est la recette de la tarte Tatin ?",
        "Qui a remporté le Tour de France 1985 ?",
        "Où se trouve la tour Eiffel ?",
        "Quel est le budget annuel du pôle Agrivalor Centre ?",  # a pôle named, a fact not
    ):
        a = pipeline.ask(question)
        assert a.abstained and a.text is None, (question, a.text)
        assert a.citations  # the closest passages are still shown


def test_a_name_that_opens_a_passage_is_read_whole(pipeline: Pipeline) -> None:
    # The reader reads « title\npassage »; the tokenizer joins the newline to the passage's
    # first word, whose token was refused: « Minalogic » came out as « logic ».
    text = "Hélène Varenne préside le pôle Lumen Atlantique depuis mars 2021."
    chunk = Chunk(0, "lumen.md", 0, len(text), text)
    hit = Hit(chunk, DocumentInfo(source="lumen.md", title="Le pôle Lumen Atlantique"), 1.0, 1)
    query = analyse("Qui préside le pôle Lumen Atlantique ?", pipeline.embedder)
    reader = TrainedReader(load_span_model(pipeline.settings), 1)
    (span,) = reader.read(query, [hit])
    assert text[span.start : span.end] == "Hélène Varenne"
