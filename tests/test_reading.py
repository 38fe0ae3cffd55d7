"""The reading stage without the trained weights: the judge, the answerer's composition, threshold
choice (windows, spans and the weights file: tests/test_reading_windows.py; SQuAD files:
tests/test_squad.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import ALPHA_PASSAGE as PASSAGE
from support import FakeEmbedder

from poleqa.cli import cli
from poleqa.errors import ReaderError
from poleqa.linear import Linear
from poleqa.query import Query, analyse
from poleqa.reading import JUDGE_FILE, shipped_reader
from poleqa.reading.answerer import ReadingAnswerer
from poleqa.reading.calibrate import Scored, choose_threshold
from poleqa.reading.evidence import Evidence, EvidenceGatherer
from poleqa.reading.judge import FEATURES, Judge, feature_rows
from poleqa.reading.scorer.model import model_sha256
from poleqa.reading.sentence import trimmed_end, whole_words
from poleqa.reading.span_model import resolve_precision
from poleqa.reading.trained import TrainedReader
from poleqa.reading.windows import SpanScore
from poleqa.types import Chunk, DocumentInfo, ExtractedAnswer, Hit

# -- judge and answerer, with a reader whose spans are given ----------------------------------

INFO = DocumentInfo(source="alpha.md", title="Le pôle Alpha", date="2020-05-01")
CHUNK = Chunk(0, "alpha.md", 100, 100 + len(PASSAGE), PASSAGE)


def _hit(rank: int = 1, score: float = 0.9) -> Hit:
    return Hit(CHUNK, INFO, score, rank)


class _GivenSpans:
    """A SpanReader returning fixed spans (text, score, no-answer score) in CHUNK."""

    def __init__(self, *spans: tuple[str, float, float]) -> None:
        self.spans = spans

    def read(self, query, hits):
        out = []
        for hit, (text, score, null) in zip(hits, self.spans, strict=False):
            start = CHUNK.start + PASSAGE.index(text)
            out.append(ExtractedAnswer(hit, start, start + len(text), score, null))
        return out


class _NoEvidence:
    """No second opinion: a sentence scorer that abstains."""

    def gather(self, query: Query, hits: Sequence[Hit]) -> Evidence:
        return Evidence(0.0, None)


def _judge(threshold: float) -> Judge:
    n = len(FEATURES)
    weights = tuple(1.0 if f == "margin" else 0.0 for f in FEATURES)
    return Judge(Linear(weights, 0.0, (0.0,) * n, (1.0,) * n), threshold, {})


def test_feature_rows_name_the_year_asked() -> None:
    q = analyse("Combien de membres compte le pôle Alpha en 2020 ?", FakeEmbedder())
    spans = _GivenSpans(("210 membres", 6.0, 1.0), ("Lyon", 2.0, 1.5)).read(q, [_hit(), _hit(2)])
    rows = feature_rows(q, spans, _NoEvidence().gather(q, []))
    assert rows.shape == (2, len(FEATURES))
    col = {f: i for i, f in enumerate(FEATURES)}
    assert rows[0, col["margin"]] == 5.0 and rows[0, col["lead"]] == 4.5
    assert rows[1, col["lead"]] == -4.5 and rows[1, col["inv_rank"]] == 0.5
    assert rows[0, col["year_found"]] == 1.0 and rows[0, col["year_missing"]] == 0.0
    q2 = analyse("Combien de membres compte le pôle Alpha en 2031 ?", FakeEmbedder())
    assert feature_rows(q2, spans, _NoEvidence().gather(q2, []))[0, col["year_missing"]] == 1.0


def test_feature_rows_carry_the_scorers_verdict() -> None:
    q = analyse("Combien de membres compte le pôle Alpha ?", FakeEmbedder())
    spans = _GivenSpans(("210 membres", 6.0, 1.0), ("Lyon", 2.0, 1.5)).read(q, [_hit(), _hit(2)])
    sentence = CHUNK.start + PASSAGE.index("Il compte")
    # the scorer answered with the sentence « Il compte 210 membres en 2020. » of alpha.md
    evidence = Evidence(0.7, ("alpha.md", sentence, sentence + 30))
    rows = feature_rows(q, spans, evidence)
    col = {f: i for i, f in enumerate(FEATURES)}
    assert rows[:, col["scorer_confidence"]].tolist() == [0.7, 0.7]
    assert rows[:, col["scorer_agrees"]].tolist() == [1.0, 0.0]  # « Lyon » is not in it


def test_the_shipped_judge_matches_the_shipped_sentence_scorer() -> None:
    # refitting data/answering.json changes the scorer's confidences, which the judge weighs:
    # the judge must be refit with it (DEVELOPERS.md), or the default reader refuses to load
    body = json.loads((shipped_reader() / JUDGE_FILE).read_text("utf-8"))
    assert tuple(body["features"]) == FEATURES
    assert body["meta"]["scorer_sha256"] == model_sha256()


def test_the_scorer_agrees_only_on_an_overlapping_sentence_of_the_same_document() -> None:
    q = analyse("Combien de membres compte le pôle Alpha ?", FakeEmbedder())
    (span,) = _GivenSpans(("210 membres", 6.0, 1.0)).read(q, [_hit()])
    at = span.start
    assert Evidence(0.5, ("alpha.md", at - 3, at + 1)).scorer_agrees(span)
    assert not Evidence(0.5, ("alpha.md", span.end, span.end + 9)).scorer_agrees(span)
    assert not Evidence(0.5, ("beta.md", at, span.end)).scorer_agrees(span)
    assert not Evidence(0.5, None).scorer_agrees(span)


def test_the_gatherer_reports_the_scorers_sentence_or_none_when_it_abstains() -> None:
    # any Answerer gives the second opinion; a span reader with a fixed judge stands in here
    q = analyse("Combien de membres compte le pôle Alpha ?", FakeEmbedder())
    spans = _GivenSpans(("210 membres", 6.0, 1.0))
    answered = EvidenceGatherer(ReadingAnswerer(spans, _judge(0.5), _NoEvidence())).gather(
        q, [_hit()]
    )
    sentence = CHUNK.start + PASSAGE.index("Il compte")
    assert answered.scorer_sentence == ("alpha.md", sentence, sentence + 30)
    assert answered.scorer_confidence > 0.5
    refused = EvidenceGatherer(ReadingAnswerer(spans, _judge(1.1), _NoEvidence())).gather(
        q, [_hit()]
    )
    assert refused.scorer_sentence is None


def test_answer_is_the_sentence_holding_the_span_with_exact_offsets() -> None:
    q = analyse("Combien de membres compte le pôle Alpha ?", FakeEmbedder())
    answerer = ReadingAnswerer(_GivenSpans(("210 membres", 6.0, 1.0)), _judge(0.5), _NoEvidence())
    a = answerer.answer(q, [_hit()])
    assert not a.abstained
    assert a.text == "Il compte 210 membres en 2020."
    assert a.short_answer == "210 membres"
    c = a.citations[0]
    assert (c.start, c.end) == (CHUNK.start, CHUNK.end)
    assert PASSAGE[c.answer_start - CHUNK.start : c.answer_end - CHUNK.start] == a.text
    assert PASSAGE[c.short_start - CHUNK.start : c.short_end - CHUNK.start] == "210 membres"


def test_the_highlight_ends_before_the_punctuation_closing_its_clause() -> None:
    # the reader's last token may carry the full stop or comma after the answer (« 2005, »)
    q = analyse("En quelle année le pôle Alpha comptait-il 210 membres ?", FakeEmbedder())
    answerer = ReadingAnswerer(_GivenSpans(("2020.", 6.0, 1.0)), _judge(0.5), _NoEvidence())
    a = answerer.answer(q, [_hit()])
    c = a.citations[0]
    assert c.short_start is not None and c.short_end is not None
    highlighted = PASSAGE[c.short_start - CHUNK.start : c.short_end - CHUNK.start]
    assert a.short_answer == highlighted == "2020"
    assert a.text == "Il compte 210 membres en 2020."  # the sentence keeps its full stop


@pytest.mark.parametrize(
    ("span", "shown"),
    [
        ("2005,", "2005"),
        ("le 19 juin 2012.", "le 19 juin 2012"),
        ("830 000 € ;", "830 000 €"),
        ("(digital health).", "(digital health)"),
        ("Dupont S.A.", "Dupont S.A."),  # an abbreviation keeps its stop
        ("M.", "M."),
        ("Lyon, Grenoble, etc.", "Lyon, Grenoble, etc."),
        (".", ""),
    ],
)
def test_trimmed_end_drops_clause_punctuation_only(span: str, shown: str) -> None:
    assert span[: trimmed_end(span, 0, len(span))] == shown


@pytest.mark.parametrize(
    ("text", "span", "shown"),
    [
        ("labellisés pour 2023-2026 en mars", "-2026", "2023-2026"),  # a token boundary inside
        ("le pôle Infr@2050 rassemble", "Infr", "Infr@2050"),
        ("en Auvergne-Rhône-Alpes, 55 pôles", "Rhône", "Auvergne-Rhône-Alpes"),
        ("soutenir l'innovation des PME", "innovation", "innovation"),  # two words: l' and it
        ("en 2005. Puis", "2005.", "2005"),
    ],
)
def test_the_highlight_covers_whole_words(text: str, span: str, shown: str) -> None:
    start = text.index(span)
    s, e = whole_words(text, start, start + len(span))
    assert text[s : trimmed_end(text, s, e)] == shown


def test_an_empty_span_at_an_end_of_the_text_stays_empty() -> None:
    # the boundary before the text's first character read its last one (text[-1])
    text = "Minalogic compte 400 membres"
    assert whole_words(text, 0, 0) == (0, 0)
    assert whole_words(text, len(text), len(text)) == (len(text), len(text))


def test_an_answer_rated_more_likely_wrong_than_right_is_marked_uncertain() -> None:
    q = analyse("Combien de membres compte le pôle Alpha ?", FakeEmbedder())
    # the fixed judge's probability is sigmoid(margin): 0.99 for a margin of 5, 0.38 for -0.5
    sure = ReadingAnswerer(_GivenSpans(("210 membres", 6.0, 1.0)), _judge(0.1), _NoEvidence())
    doubtful = ReadingAnswerer(_GivenSpans(("210 membres", 1.0, 1.5)), _judge(0.1), _NoEvidence())
    a, b = sure.answer(q, [_hit()]), doubtful.answer(q, [_hit()])
    assert (a.abstained, a.uncertain, a.confidence) == (False, False, 0.9933)
    assert (b.abstained, b.uncertain, b.confidence) == (False, True, 0.3775)
    assert b.text == a.text == "Il compte 210 membres en 2020."


def test_abstains_below_the_threshold_and_notes_english() -> None:
    q = analyse("How many members does Alpha have?", FakeEmbedder())
    answerer = ReadingAnswerer(_GivenSpans(("210 membres", 1.0, 3.0)), _judge(0.5), _NoEvidence())
    a = answerer.answer(q, [_hit()])
    assert a.abstained and a.text is None and a.confidence < 0.5
    assert a.citations[0].info.source == "alpha.md"
    assert any("anglais" in n for n in a.notes)


class _Scores:
    """A span model: the first passage's span is « 210 membres », the others have none."""

    def read(self, questions, texts, firsts):
        at = texts[0].index("210 membres")
        best = SpanScore(0, at, at + len("210 membres"), 6.0, 1.0)
        return [best] + [SpanScore(i, 0, 0, float("-inf"), 1.0) for i in range(1, len(texts))]


def test_a_passage_without_any_span_is_left_out_not_infinitely_behind() -> None:
    # its -inf made the other passage's lead +inf: probability 1.0 whatever the judge; two
    # such passages made NaN, which passed the threshold and answered with empty text
    q = analyse("Combien de membres compte le pôle Alpha ?", FakeEmbedder())
    spans = TrainedReader(_Scores(), 4).read(q, [_hit(), _hit(2), _hit(3)])
    assert len(spans) == 1 and PASSAGE[spans[0].start - CHUNK.start :].startswith("210")
    rows = feature_rows(q, spans, _NoEvidence().gather(q, []))
    assert np.isfinite(rows).all()
    n = len(FEATURES)
    undecided = Judge(Linear((float("nan"),) * n, 0.0, (0.0,) * n, (1.0,) * n), 0.5, {})
    a = ReadingAnswerer(_GivenSpans(("210 membres", 6.0, 1.0)), undecided, _NoEvidence()).answer(
        q, [_hit()]
    )
    assert a.abstained and a.text is None


def test_judge_load_checks_features_and_settings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    judge = _judge(0.4)
    body = judge.to_json()
    body["meta"] = {"embedder": "e5", "read_passages": 4}
    path = tmp_path / "judge.json"
    path.write_text(json.dumps(body), "utf-8")
    assert Judge.load(path, {"embedder": "e5"}).threshold == 0.4
    with pytest.raises(ReaderError, match="fit under other settings"):
        Judge.load(path, {"read_passages": 3})
    # another embedder: it still serves, and says its calibration was made under another one
    with caplog.at_level(logging.WARNING, logger="poleqa.reading"):
        assert Judge.load(path, {"embedder": "fake"}).threshold == 0.4
    assert "was fit under {'embedder': 'e5'}" in caplog.text
    path.write_text(json.dumps({**body, "features": ["margin"]}), "utf-8")
    with pytest.raises(ReaderError, match="other features"):
        Judge.load(path, {})
    # fit on one feature fewer (another poleqa): said so, not « damaged »
    fewer = {"features": list(FEATURES[:-1]), "weights": body["weights"][:-1]}
    path.write_text(json.dumps({**body, **fewer}), "utf-8")
    with pytest.raises(ReaderError, match="other features"):
        Judge.load(path, {})
    # a hand-edited or truncated judge fails at load, not at the first question
    for damage in ({"weights": body["weights"][:-1]}, {"scale": [0.0] * len(FEATURES)},
                   {"threshold": float("nan")}):  # fmt: skip
        path.write_text(json.dumps({**body, **damage}), "utf-8")
        with pytest.raises(ReaderError, match=f"is damaged: it needs {len(FEATURES)} finite"):
            Judge.load(path, {})


def test_threshold_keeps_false_abstentions_under_the_cap() -> None:
    from poleqa.evaluation.questions import Question

    def scored(answerable: bool) -> Scored:
        q = Question("x", "q", ("a",) if answerable else (), (), answerable, "number", ())
        return Scored(q, "d", np.zeros((1, len(FEATURES))), np.array([answerable]))

    items = [scored(True)] * 8 + [scored(False)] * 2
    # answerable questions get 0.9 … 0.2, the unanswerable ones 0.25 and 0.1: at 0.3, one
    # answerable question (1/8) is lost and both unanswerable ones are won
    preds = [(p, True) for p in (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2)] + [
        (0.25, False),
        (0.1, False),
    ]
    t, stats = choose_threshold(items, preds, max_far=0.2)
    assert t == pytest.approx(0.3) and stats["abstain_accuracy"] == 1.0
    assert stats["false_abstain_rate"] == pytest.approx(1 / 8)
    t0, stats0 = choose_threshold(items, preds, max_far=0.0)
    assert stats0["false_abstain_rate"] == 0.0 and t0 <= 0.2


def test_figures_of_other_years_are_listed_by_year() -> None:
    old_text = "En 2019, la France comptait 56 pôles."
    new_text = "La France compte 55 pôles depuis mars 2023."
    old = Hit(
        Chunk(0, "old.md", 0, len(old_text), old_text),
        DocumentInfo("old.md", "Old", "2019-02-01"),
        0.8,
        2,
    )
    new = Hit(
        Chunk(1, "new.md", 0, len(new_text), new_text),
        DocumentInfo("new.md", "New", "2023-04-01"),
        0.9,
        1,
    )

    class _Reader:
        old_score = 5.0  # the judge's probability of the 2019 span: sigmoid(5) = 0.99

        def read(self, query, hits):
            return [
                ExtractedAnswer(h, h.chunk.text.index(t), h.chunk.text.index(t) + len(t), s, 0.0)
                for h, t, s in ((new, "55 pôles", 6.0), (old, "56 pôles", self.old_score))
            ]

    answerer = ReadingAnswerer(_Reader(), _judge(0.5), _NoEvidence())
    a = answerer.answer(analyse("Combien de pôles compte la France ?", FakeEmbedder()), [new, old])
    assert a.text == new_text
    assert a.notes[-1] == (
        "Selon la date des documents : document de 2019 : 56 pôles [2] ; "
        "document de 2023 : 55 pôles [1]"
    )
    # cut to one citation (`ask --k 1`), the note would cite a passage not shown: none
    question = analyse("Combien de pôles compte la France ?", FakeEmbedder())
    assert answerer.answer(question, [new, old], shown=2).notes == a.notes
    assert not any(n.startswith("Selon") for n in answerer.answer(question, [new, old], 1).notes)
    dated = analyse("Combien de pôles compte la France en 2019 ?", FakeEmbedder())
    assert not any(n.startswith("Selon") for n in answerer.answer(dated, [new, old]).notes)
    # a span the judge rates more likely wrong than right (0.27) is no year's figure, even
    # above a low answering threshold (it listed figures about something else)
    doubtful = _Reader()
    doubtful.old_score = -1.0
    low = ReadingAnswerer(doubtful, _judge(0.1), _NoEvidence())
    assert not any(n.startswith("Selon") for n in low.answer(question, [new, old]).notes)


def test_domain_questions_become_squad_training_data(tmp_path: Path) -> None:
    from support import write_corpus

    from poleqa.config import Settings
    from poleqa.evaluation.questions import Question
    from poleqa.reading.domain_data import to_squad

    corpus = write_corpus(tmp_path / "corpus")
    medicen = Question("a", "Qui préside Medicen ?", ("christian LAJOUX",), ("a_medicen.md",), True)
    unanswerable = Question(
        "b", "Combien de salariés compte Xylofutur ?", (), (), False, "unanswerable"
    )
    # negatives come only from the documents the set cites, never from another split's
    # documents in a shared corpus, though Xylofutur's passage would suit question b best
    alone = to_squad([medicen, unanswerable], corpus, Settings(), negatives=3)
    assert all(
        p["context"].startswith("Medicen Paris Region\n") for p in alone["data"][0]["paragraphs"]
    )
    xylofutur = Question("c", "Où siège Xylofutur ?", ("Bordeaux",), ("b_xylofutur.md",), True)
    data = to_squad([medicen, unanswerable, xylofutur], corpus, Settings(), negatives=1)
    paragraphs = data["data"][0]["paragraphs"][:3]
    (first, negative, second) = paragraphs
    context, qa = first["context"], first["qas"][0]
    assert context.startswith("Medicen Paris Region\n")  # read after its title, as served
    (answer,) = qa["answers"]
    assert (
        context[answer["answer_start"] :].startswith("Christian Lajoux") and not qa["is_impossible"]
    )
    assert answer["text"] == "Christian Lajoux"
    # the hard negative of an answerable question: a passage without its answer, no-answer label
    assert negative["qas"][0]["is_impossible"] and negative["qas"][0]["id"] == "a-neg1"
    assert "lajoux" not in negative["context"].casefold()
    assert second["context"].startswith("Xylofutur\n") and second["qas"][0]["is_impossible"]


def test_auto_precision_is_bf16_only_on_a_cpu_with_amx(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n")
    assert resolve_precision("auto", cpuinfo) == "bf16"
    cpuinfo.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")  # no AMX
    assert resolve_precision("auto", cpuinfo) == "fp32"
    assert resolve_precision("auto", tmp_path / "missing") == "fp32"  # not Linux
    assert resolve_precision("bf16", tmp_path / "missing") == "bf16"  # asked for: kept


def test_a_bad_reader_precision_is_refused_at_the_edge(tmp_path: Path) -> None:
    squad = tmp_path / "squad.json"
    squad.write_text('{"data": []}', "utf-8")
    result = CliRunner().invoke(
        cli, ["eval", "--squad", str(squad)], env={"POLEQA_READER_PRECISION": "fp8"}
    )
    assert result.exit_code == 2
    assert "Invalid value for 'POLEQA_READER_PRECISION' (--reader-precision)" in result.output
    assert "'fp8' is not one of 'auto', 'fp32', 'bf16'" in result.output
