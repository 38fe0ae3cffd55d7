"""The shipped trained reader, offline: its checks on load, spans found in French paragraphs written
for this test, calls from many threads read together, exact offsets through the pipeline, and
`poleqa eval --squad` on tiny files."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from support import ARA, MODEL_CACHE, build_seed_index

from poleqa.cli import cli
from poleqa.config import Settings
from poleqa.embedding.convert import ensure_st_folder
from poleqa.errors import ReaderError
from poleqa.evaluation.squad import exact_match, f1
from poleqa.pipeline import CANDIDATE_HITS, Pipeline
from poleqa.reading import make_answerer, shipped_reader
from poleqa.reading.judge import FEATURES, feature_rows
from poleqa.reading.scorer import ExtractiveAnswerer
from poleqa.reading.span_model import ROUND, SpanModel, resolve_precision
from poleqa.reading.weights import WEIGHTS_FILE
from poleqa.reading.windows import SpanScore

pytestmark = pytest.mark.slow

VITALIS = (
    "Le pôle Vitalis a été fondé en 2007 à Rennes. Il rassemble aujourd'hui 240 adhérents, "
    "dont 180 entreprises. Son directeur général est Paul Martin."
)
HYDRA = (
    "Créé en 2011, le pôle Hydra accompagne les entreprises de l'eau en Occitanie. "
    "Son siège se trouve à Montpellier et sa présidente est Claire Dubois."
)


@pytest.fixture(scope="module")
def model() -> SpanModel:
    return SpanModel.load(ensure_st_folder(MODEL_CACHE), shipped_reader())


def test_the_shipped_reader_loads_offline_and_checks_itself(model, tmp_path: Path) -> None:
    base = ensure_st_folder(MODEL_CACHE)
    assert model.manifest.base == base.name and len(model.manifest.sha256) == 64
    broken = tmp_path / "reader"
    shutil.copytree(shipped_reader(), broken)
    data = bytearray((broken / WEIGHTS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ReaderError, match="do not match their manifest"):
        SpanModel.load(base, broken)


@pytest.mark.parametrize(
    ("question", "passage", "expected"),
    [
        ("Combien d'adhérents rassemble le pôle Vitalis ?", VITALIS, "240"),
        ("Qui est le directeur général du pôle Vitalis ?", VITALIS, "Paul Martin"),
        ("En quelle année le pôle Vitalis a-t-il été fondé ?", VITALIS, "2007"),
        ("Où se trouve le siège du pôle Hydra ?", HYDRA, "Montpellier"),
        ("Who chairs the Hydra cluster?", HYDRA, "Claire Dubois"),
    ],
)
def test_the_reader_finds_the_span(model, question: str, passage: str, expected: str) -> None:
    (span,) = model.read([question], [passage])
    assert expected in passage[span.start : span.end]
    assert span.score > span.null_score


def test_the_reader_prefers_no_answer_where_the_paragraph_lacks_it(model) -> None:
    question = "Quel est le budget annuel du pôle Vitalis ?"
    (absent,) = model.read([question], [VITALIS])
    (present,) = model.read(
        [question], [VITALIS + " Son budget annuel est de 1,2 million d'euros."]
    )
    # the no-answer option gains on the paragraph without the answer
    assert absent.score - absent.null_score < present.score - present.null_score


@pytest.mark.parametrize(("precision", "tolerance"), [("fp32", 1e-3), ("bf16", 0.25)])
def test_calls_from_many_threads_are_read_together_and_give_the_same_spans(
    model, monkeypatch, precision: str, tolerance: float
) -> None:
    reader = SpanModel(model.model, model.tokenizer, model.manifest, precision)
    pairs = [
        ("Combien d'adhérents rassemble le pôle Vitalis ?", VITALIS),
        ("Où se trouve le siège du pôle Hydra ?", HYDRA),
        ("Qui est le directeur général du pôle Vitalis ?", VITALIS),
        ("Who chairs the Hydra cluster?", HYDRA),
    ] * 3
    # the same question with another first character gets another span: a call given another
    # call's results would show
    firsts = [0 if (i // 4) % 2 == 0 else 110 for i in range(len(pairs))]
    alone = [reader.read([q], [p], [f])[0] for (q, p), f in zip(pairs, firsts, strict=True)]
    assert alone[0].start != alone[4].start
    batches: list[int] = []
    forward = reader.model.forward

    def counted(*args: object, **kwargs: torch.Tensor) -> object:
        batches.append(len(kwargs["input_ids"]))
        if len(batches) == 1:  # holds the model until every other call has queued behind it
            deadline = time.monotonic() + 30
            while reader._queue.qsize() + batches[0] < len(pairs) and time.monotonic() < deadline:
                time.sleep(0.005)
        return forward(*args, **kwargs)

    def read(i: int) -> SpanScore:
        return reader.read([pairs[i][0]], [pairs[i][1]], [firsts[i]])[0]

    monkeypatch.setattr(reader.model, "forward", counted)
    with ThreadPoolExecutor(len(pairs)) as pool:
        together = list(pool.map(read, range(len(pairs))))
    assert max(batches) > 1 and len(batches) < len(pairs)  # calls shared batches
    assert max(batches) <= ROUND  # one window a call here: no round held more than ROUND calls
    if precision == "bf16":  # its own bf16 copy: the caller's model is left in fp32
        assert next(reader.model.parameters()).dtype == torch.bfloat16
        assert next(model.model.parameters()).dtype == torch.float32
    for a, b in zip(alone, together, strict=True):
        assert (a.start, a.end) == (b.start, b.end)
        assert a.score == pytest.approx(b.score, abs=tolerance)
        assert a.null_score == pytest.approx(b.null_score, abs=tolerance)


def test_the_reader_reads_on_the_threads_it_was_given(model, monkeypatch) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as OMP_NUM_THREADS=1 (`poleqa serve --threads 1`) would
    reader = SpanModel(model.model, model.tokenizer, model.manifest, threads=2)
    seen: list[int] = []
    forward = reader.model.forward

    def counted(*args: object, **kwargs: torch.Tensor) -> object:
        seen.append(torch.get_num_threads())
        return forward(*args, **kwargs)

    monkeypatch.setattr(reader.model, "forward", counted)
    try:
        with ThreadPoolExecutor(1) as pool:  # a server thread, not the one that set 1
            pool.submit(reader.read, ["Où se trouve le siège du pôle Hydra ?"], [HYDRA]).result()
    finally:
        torch.set_num_threads(before)
    assert seen == [2]


def test_a_failed_batch_fails_every_call_it_held_and_the_next_call_reads(
    model, monkeypatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        time.sleep(0.05)
        raise RuntimeError("out of memory")

    monkeypatch.setattr(model.model, "forward", broken)
    question = "Où se trouve le siège du pôle Hydra ?"
    with ThreadPoolExecutor(6) as pool:
        calls = [pool.submit(model.read, [question], [HYDRA]) for _ in range(6)]
        for call in calls:
            with pytest.raises(ReaderError) as failed:  # poleqa's own: a failed prediction
                call.result(timeout=60)  # a call left waiting would time out here
            assert failed.value.message == (
                "The span model failed while reading (RuntimeError: out of memory)."
            )
            assert isinstance(failed.value.__cause__, RuntimeError)
    monkeypatch.undo()
    (span,) = model.read([question], [HYDRA])
    assert "Montpellier" in HYDRA[span.start : span.end]


def test_the_longest_question_allowed_is_read_like_any_other(tmp_path_factory) -> None:
    # the reader reads the question's first 64 tokens: a question of 2,000 characters (the most
    # `ask` takes) once crashed the tokenizer
    corpus, index, cache = build_seed_index(tmp_path_factory)
    settings = Settings(corpus_dir=corpus, index_dir=index, cache_dir=cache, reader="trained")
    pipeline = Pipeline(settings)
    asked = "Combien de pôles de compétitivité compte la région Auvergne-Rhône-Alpes ? "
    question = (asked * 40)[: settings.max_question_chars]
    a = pipeline.ask(question)
    assert a.citations and ARA in {c.info.source for c in a.citations}
    if not a.abstained:
        first = a.citations[0]
        doc = pipeline.document(first.info.source)
        assert doc.text[first.answer_start : first.answer_end] == a.text
    # every citation's score is its passage's retrieval score (citation 1's was the confidence)
    retrieved = {(h.info.source, h.chunk.start): h.score for h in pipeline.search(question, k=20)}
    assert all(c.score == round(retrieved[(c.info.source, c.start)], 4) for c in a.citations)


def test_the_judge_reads_the_sentence_scorers_verdict(tmp_path_factory) -> None:
    corpus, index_dir, cache = build_seed_index(tmp_path_factory)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir, cache_dir=cache)
    pipeline = Pipeline(settings)
    answerer = make_answerer(pipeline.index, settings)  # the default reader: the trained one
    assert isinstance(answerer.evidence.scorer, ExtractiveAnswerer)
    assert answerer.evidence.scorer.index is pipeline.index
    col = {f: i for i, f in enumerate(FEATURES)}
    agreed = 0
    for question in ("Combien de pôles de compétitivité compte la région Auvergne-Rhône-Alpes ?",
                     "Quelles sont les missions des pôles de compétitivité ?"):  # fmt: skip
        query = pipeline.query(question)
        hits = pipeline.retrieve(query, k=CANDIDATE_HITS)
        verdict = answerer.evidence.scorer.answer(query, hits)
        evidence = answerer.evidence.gather(query, hits)
        assert evidence.scorer_confidence == verdict.confidence
        if verdict.abstained:
            assert evidence.scorer_sentence is None
            continue
        source, start, end = evidence.scorer_sentence
        assert pipeline.document(source).text[start:end] == verdict.text
        spans = answerer.reader.read(query, hits)
        rows = feature_rows(query, spans, evidence)
        for span, row in zip(spans, rows, strict=True):
            overlaps = span.hit.chunk.source == source and span.start < end and start < span.end
            assert row[col["scorer_agrees"]] == float(overlaps)
            assert row[col["scorer_confidence"]] == verdict.confidence
            agreed += overlaps
    assert agreed  # on the region's count both readers answer from the same sentence


def test_eval_squad_on_a_tiny_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(MODEL_CACHE.parent))
    qas = [
        {"id": "a", "question": "Combien d'adhérents rassemble le pôle Vitalis ?",
         "answers": [{"text": "240 adhérents", "answer_start": VITALIS.index("240 adhérents")}]},
        {"id": "b", "question": "Qui est le directeur général du pôle Vitalis ?",
         "answers": [{"text": "Paul Martin", "answer_start": VITALIS.index("Paul Martin")}]},
        {"id": "c", "question": "Quel est le budget annuel du pôle Vitalis ?", "answers": [],
         "is_impossible": True},
        # its answer is not in the paragraph: scored, a right span would count as wrong
        {"id": "x", "question": "Où siège le pôle ?",
         "answers": [{"text": "Zanzibar", "answer_start": 3}]},
    ]  # fmt: skip
    data = {"data": [{"title": "Vitalis", "paragraphs": [{"context": VITALIS, "qas": qas}]}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["eval", "--squad", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(
        "poleqa: 1 question(s) left out, none of their answers in their paragraph: x\n"
    )
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == ["a", "b", "c"]
    report = json.loads((out / "report.json").read_text())
    # worked out from the three predictions with the SQuAD rules
    golds = [["240 adhérents"], ["Paul Martin"], []]
    ems = [exact_match(p["answer"], g) for p, g in zip(preds, golds, strict=True)]
    f1s = [f1(p["answer"], g) for p, g in zip(preds, golds, strict=True)]
    assert report["exact_match"] == pytest.approx(sum(ems) / 3)
    assert report["f1"] == pytest.approx(sum(f1s) / 3)
    assert report["no_answer_accuracy"] == ems[2]
    results = [json.loads(line) for line in (out / "squad_results.jsonl").read_text().splitlines()]
    assert [(r["id"], r["answer"], r["answers"]) for r in results] == [
        (p["id"], p["answer"], g) for p, g in zip(preds, golds, strict=True)
    ]
    assert [(r["exact_match"], r["f1"]) for r in results] == [
        (m, f) for m, f in zip(ems, f1s, strict=True)
    ]
    assert report["no_answer_allowed"] == 1.0  # the file holds an unanswerable question
    assert "exact_match: " in result.output
    assert "no_answer_allowed: 1\n" in result.output
    first = (out / "predictions.jsonl").read_text()
    again = CliRunner().invoke(cli, ["eval", "--squad", str(path), "--out", str(out)])
    assert f"The earlier run's reports were moved to {out / 'previous'}/." in again.output
    assert (out / "previous" / "predictions.jsonl").read_text() == first


def test_eval_squad_gives_a_span_for_every_question_of_a_squad11_file(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(MODEL_CACHE.parent))
    question = "Quel est le budget annuel du pôle Vitalis ?"  # the reader prefers no answer
    qas = [{"id": "c", "question": question, "answers": [{"text": "240", "answer_start": 0}]}]
    data = {"data": [{"title": "Vitalis", "paragraphs": [{"context": VITALIS, "qas": qas}]}]}
    path = tmp_path / "v11.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    answers = {}
    for mode in ("auto", "allow", "never"):
        out = tmp_path / mode
        result = CliRunner().invoke(
            cli, ["eval", "--squad", str(path), "--out", str(out), "--no-answer", mode]
        )
        assert result.exit_code == 0, result.output
        report = json.loads((out / "report.json").read_text())
        assert report["no_answer_allowed"] == float(mode == "allow")
        (line,) = (out / "predictions.jsonl").read_text("utf-8").splitlines()
        answers[mode] = json.loads(line)["answer"]
    precision = Settings().reader_precision  # the one `poleqa eval` reads with
    reader = SpanModel.load(ensure_st_folder(MODEL_CACHE), shipped_reader(), precision)
    assert reader.precision == resolve_precision(precision) in ("fp32", "bf16")  # auto: this CPU's
    (span,) = reader.read([question], [VITALIS])
    # allowed to, the reader says « no answer » here (the budget is not in the paragraph);
    # on a file without unanswerable questions it gives its best span all the same
    assert span.score - span.null_score < reader.manifest.null_threshold
    assert answers["allow"] == ""
    assert answers["auto"] == answers["never"] == VITALIS[span.start : span.end].strip() != ""
    # the whole file decides, not the questions --limit keeps: this one lists two questions,
    # the unanswerable one after the limit
    qas.append({"id": "d", "question": question, "answers": [], "is_impossible": True})
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    out = tmp_path / "limited"
    args = ["eval", "--squad", str(path), "--out", str(out), "--limit", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "report.json").read_text())["no_answer_allowed"] == 1.0
