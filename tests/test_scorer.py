"""Unit tests of the sentence scorer's answering: abstention, notes, dating, its model's checks."""

from __future__ import annotations

import dataclasses
import logging
from types import SimpleNamespace

import numpy as np
import pytest
from support import ANSWER_KEYS, CITATION_KEYS

from poleqa.config import Settings
from poleqa.embedding import E5_SMALL_ID
from poleqa.errors import ReaderError
from poleqa.query import analyse
from poleqa.reading.scorer import (
    ExtractiveAnswerer,
    check_model,
    default_model,
    entities,
)
from poleqa.reading.scorer.candidates import (
    Candidate,
    type_spans,
)
from poleqa.reading.scorer.dating import dating_text, most_recent
from poleqa.reading.scorer.extend import label_extended
from poleqa.reading.scorer.model import named_first
from poleqa.reading.scorer.question import analyze
from poleqa.sentences import split_sentences
from poleqa.serialise import ABSTAIN_TEXT, answer_to_json
from poleqa.types import Chunk, Document, DocumentInfo, Hit, Sentence

DEFAULT = Settings()  # the chunking the shipped scorer model is fit under

# Cases are made up for these tests: eval/ and corpus/ measure the scorer, so none copies them.


# -- the answerer on a tiny in-memory index -------------------------------------------------


class _FakeEmbedder:
    id = "fake"
    dim = 2

    def embed_queries(self, texts):
        return np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (len(texts), 1))

    def embed_passages(self, texts, progress=None):
        return self.embed_queries(texts)


class _TinyIndex:
    # built with the embedder and chunking the shipped model was fit under
    manifest = SimpleNamespace(
        embedder_id=E5_SMALL_ID, chunk_size=DEFAULT.chunk_size, chunk_overlap=DEFAULT.chunk_overlap
    )

    def __init__(self) -> None:
        text = "Le pôle Alpha compte 210 membres en 2020. Il est situé à Lyon."
        self.doc = Document(DocumentInfo(source="a.txt", title="Alpha", date="2021-01-01"), text)
        self.documents = {"a.txt": self.doc}
        spans = split_sentences(text)
        self.sentences = [Sentence(i, "a.txt", s, e) for i, (s, e) in enumerate(spans)]
        self.sentence_vectors = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
        self.chunks = [Chunk(0, "a.txt", 0, len(text), text)]

    def document(self, source):
        return self.doc

    def info(self, source):
        return self.doc.info

    def sentences_in(self, source, start, end):
        return [s for s in self.sentences if s.end > start and s.start < end]


def _query(question: str):
    return analyse(question, _FakeEmbedder())


def _hits(index: _TinyIndex) -> list[Hit]:
    return [Hit(index.chunks[0], index.doc.info, 0.9, 1, 0.9, 3.0)]


def test_answer_and_abstention_mechanics() -> None:

    index = _TinyIndex()
    model = dict(default_model())
    answerer = ExtractiveAnswerer(index, model={**model, "threshold": 0.0})
    a = answerer.answer(_query("Combien de membres compte le pôle Alpha en 2020 ?"), _hits(index))
    assert not a.abstained
    assert a.text == "Le pôle Alpha compte 210 membres en 2020."
    assert a.short_answer == "210 membres"
    c = a.citations[0]
    assert index.doc.text[c.answer_start : c.answer_end] == a.text
    assert index.doc.text[c.short_start : c.short_end] == "210 membres"
    never = ExtractiveAnswerer(index, model={**model, "threshold": 1.01})
    b = never.answer(_query("Combien de membres compte le pôle Alpha en 2020 ?"), _hits(index))
    assert b.abstained and b.text is None and b.short_answer is None
    assert [c.info.source for c in b.citations] == ["a.txt"]
    assert 0.0 <= b.confidence <= 1.0
    assert ABSTAIN_TEXT.startswith("Je n'ai pas trouvé")


def test_english_question_gets_french_note() -> None:
    index = _TinyIndex()
    answerer = ExtractiveAnswerer(index)
    a = answerer.answer(_query("How many members does the Alpha cluster have?"), _hits(index))
    assert a.language == "en"
    assert any("anglais" in n for n in a.notes)


def test_answer_to_json_schema() -> None:
    index = _TinyIndex()
    a = ExtractiveAnswerer(index).answer(_query("Où est situé le pôle ?"), _hits(index))
    out = answer_to_json(a)
    assert list(out) == ANSWER_KEYS
    assert list(out["citations"][0]) == CITATION_KEYS


def test_disagreeing_figures_give_the_most_recent_with_a_note() -> None:

    class _TwoDocs:
        def __init__(self) -> None:
            self.infos = {
                "old.txt": DocumentInfo(source="old.txt", title="Bilan 2013", date="2013-01-01"),
                "new.txt": DocumentInfo(source="new.txt", title="Bilan 2019", date="2019-01-01"),
            }

        def info(self, source):
            return self.infos[source]

    q = analyze("Combien d'entreprises le réseau Granit Numérique fédère-t-il ?")
    feats = {"lex_ctx": 1.0}

    def cand(source: str, text: str, score: float) -> Candidate:
        spans = tuple(type_spans(q, text))
        return Candidate(Sentence(0, source, 0, len(text)), text, text, score, feats, score, spans)

    old = cand("old.txt", "Le réseau Granit Numérique fédère 340 entreprises.", 5.0)
    new = cand("new.txt", "Le réseau Granit Numérique fédère 415 entreprises.", 4.8)
    chosen, notes = most_recent(_TwoDocs(), default_model(), q, old, [old, new])
    assert chosen is new
    assert notes[0] == "Les sources ne donnent pas le même chiffre : voici le plus récent."
    assert notes[1].startswith("Autre chiffre (2013) dans « Bilan 2013 » : 340 entreprises")
    # a question that names its year keeps its own figure
    q2 = analyze("Combien d'entreprises le réseau Granit Numérique fédérait-il en 2013 ?")
    assert most_recent(_TwoDocs(), default_model(), q2, old, [old, new]) == (old, ())


# -- abstention signals and short-answer choice ---------------------------------------------


def test_answer_confidence_shrinks_when_the_document_lacks_the_name() -> None:

    model = default_model()
    assert model.get("name_scale") is True
    index = _TinyIndex()
    other = Document(DocumentInfo(source="b.txt", title="Beta"), "Le pôle Beta est à Rennes.")
    third = Document(DocumentInfo(source="c.txt", title="Gamma"), "Le pôle Gamma est à Lille.")
    index.documents = {"a.txt": index.doc, "b.txt": other, "c.txt": third}
    answerer = ExtractiveAnswerer(index, model={**model, "threshold": 0.0})
    a = answerer.answer(_query("Combien de membres compte le pôle Alpha en 2020 ?"), _hits(index))
    b = answerer.answer(_query("Combien de membres compte le pôle Gamma en 2020 ?"), _hits(index))
    assert not a.abstained and a.confidence > 0.0
    assert b.confidence == 0.0  # the only passage found is about Alpha, not Gamma


class _TextIndex(_TinyIndex):
    """One document of any text, split into units as the index does."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.doc = Document(DocumentInfo(source="a.txt", title="Alpha"), text)
        self.documents = {"a.txt": self.doc}
        spans = split_sentences(text)
        self.sentences = [Sentence(i, "a.txt", s, e) for i, (s, e) in enumerate(spans)]

    def candidate(self, q, unit: str):
        s = next(x for x in self.sentences if self.doc.text[x.start : x.end] == unit)
        spans = tuple(type_spans(q, unit))
        return Candidate(s, unit, unit, 1.0, {}, 1.0, spans)


@pytest.mark.parametrize(
    ("text", "question", "label", "short", "other"),
    [
        (
            "Actualités\n\nContact\n\nLéa MORVAN\n\nlea.morvan@lumivalle.example\n",
            "Who is the contact person for the Lumivalle open day?",
            "Contact",
            "Léa MORVAN",
            "Combien de personnes faut-il contacter ?",
        ),
        (
            "# Le pôle Brumaris\n\nDirection :\n\nYann Le Goasdoué\n\nTél. 01 23 45 67 89\n",
            "Qui dirige le pôle Brumaris ?",
            "Direction :",
            "Yann Le Goasdoué",
            "Combien de salariés le pôle Brumaris emploie-t-il ?",
        ),
        (
            "Chiffres clés\n\nAdhérents\n\n215 entreprises\n\nSalariés\n\n14\n",
            "Combien d'adhérents compte le pôle ?",
            "Adhérents",
            "215 entreprises",
            "Qui est le président du pôle ?",
        ),
    ],
)
def test_a_label_answers_with_the_unit_it_introduces(
    text: str, question: str, label: str, short: str, other: str
) -> None:
    index = _TextIndex(text)
    q = analyze(question)
    a = ExtractiveAnswerer(index)._answer_from(q, index.candidate(q, label), _hits(index), 0.9, ())
    assert a.text == f"{label}\n\n{short}"
    assert a.short_answer == short
    # a label whose next unit holds nothing of the kind asked for stays as it was
    q2 = analyze(other)
    best2 = index.candidate(q2, label)
    assert label_extended(index, q2, best2) is best2


def test_a_sentence_ending_on_a_colon_answers_a_list_question_with_its_items() -> None:
    text = (
        "Le pôle fédère trois filières :\n- la chimie ;\n- les matériaux ;\n- le textile.\n\n"
        "Il a été créé en 2005."
    )
    index = _TextIndex(text)
    q = analyze("Quelles filières le pôle fédère-t-il ?")
    best = index.candidate(q, "Le pôle fédère trois filières :")
    got = label_extended(index, q, best)
    assert (
        got.text
        == "Le pôle fédère trois filières :\n- la chimie ;\n- les matériaux ;\n- le textile."
    )
    # not a list question: the sentence alone
    q2 = analyze("Combien de filières le pôle fédère-t-il ?")
    assert label_extended(
        index, q2, index.candidate(q2, "Le pôle fédère trois filières :")
    ).text == ("Le pôle fédère trois filières :")


def test_a_surname_in_capitals_is_a_person_within_one_line() -> None:

    assert [s.text for s in entities.names("Contact\n\nLéa MORVAN")] == ["Contact", "Léa MORVAN"]
    q = analyze("Qui est le contact ?")
    assert [s.text for s in type_spans(q, "Contact\n\nLéa MORVAN")] == ["Léa MORVAN"]
    press = type_spans(q, "Presse\nPaul KERANDEL\n06 12 34 56 78")
    assert [s.text for s in press] == ["Paul KERANDEL"]
    assert [s.text for s in type_spans(q, "avec Paul KERANDEL et Inès Barrière")] == [
        "Paul KERANDEL",
        "Inès Barrière",
    ]


def test_a_gap_makes_the_answerer_abstain_whatever_the_threshold() -> None:

    model = default_model()
    assert set(model["gates"]) == {
        "gap_year",
        "gap_type",
        "gap_unit",
        "gap_head",
        "gap_role",
        "gap_event",
    }
    index = _TinyIndex()  # "Le pôle Alpha compte 210 membres en 2020." dated 2021
    answerer = ExtractiveAnswerer(index, model={**model, "threshold": 0.0})
    a = answerer.answer(_query("Combien de membres compte le pôle Alpha en 2020 ?"), _hits(index))
    b = answerer.answer(_query("Combien de membres compte le pôle Alpha en 2019 ?"), _hits(index))
    assert not a.abstained
    assert b.abstained and b.text is None and b.confidence == 0.0
    assert b.notes == ("Aucun passage trouvé ne date cette information de 2019.",)


def test_a_sentence_is_dated_by_its_paragraph_and_document() -> None:
    text = (
        "# T\n\n3. **Lumivalle (2011).** Le pôle s'élargit. Odile Marchetti en est la présidente."
    )
    doc = Document(DocumentInfo(source="a.md", title="T", date="2024-05-31"), text)
    start = text.index("Odile")
    before = Sentence(0, "a.md", text.index("Le pôle"), start - 1)
    dating = dating_text(doc, Sentence(1, "a.md", start, len(text)), before)
    assert "Lumivalle (2011)" in dating and "Le pôle s'élargit." in dating
    assert dating.endswith("2024-05-31")


def test_a_winner_naming_no_one_gives_way_to_a_close_sentence_that_does() -> None:

    def cand(i: int, score: float, **gaps: float) -> Candidate:
        return Candidate(Sentence(i, "a.md", i, i + 1), "t", "t", 1.0, dict(gaps), score)

    model = default_model()
    assert model["type_fallback"] > 0
    lead = cand(0, 30.0, gap_type=1.0, gap_role=1.0)  # "**Lumivalle (2011).** Le pôle s'élargit."
    named = cand(1, 30.0 - model["type_fallback"] / 2)  # "Odile Marchetti en est la présidente."
    far = cand(2, 30.0 - 2 * model["type_fallback"])
    assert [c.sentence.id for c in named_first([lead, named, far], model)] == [1, 0, 2]
    assert [c.sentence.id for c in named_first([lead, far], model)] == [0, 2]
    # another gate (the year asked is missing) is not about naming: no fallback
    dated = cand(3, 30.0, gap_type=1.0, gap_year=1.0)
    assert [c.sentence.id for c in named_first([dated, named], model)] == [3, 1]


# -- the shipped model's checks, and scoring as a pure function ---------------------------------


def test_the_shipped_model_records_what_it_was_fit_on_and_under() -> None:
    model = default_model()
    assert model["embedder"] == E5_SMALL_ID
    assert model["chunking"] == [DEFAULT.chunk_size, DEFAULT.chunk_overlap]
    assert set(model["select"]) - {"bias"} <= set(model["features"]["select"])
    assert set(model["abstain"]) - {"bias"} <= set(model["features"]["abstain"])


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            SimpleNamespace(
                embedder_id="other-model/384",
                chunk_size=DEFAULT.chunk_size,
                chunk_overlap=DEFAULT.chunk_overlap,
            ),
            "'embedder': 'multilingual-e5-small-q4@",
        ),
        (
            SimpleNamespace(embedder_id=E5_SMALL_ID, chunk_size=1000, chunk_overlap=50),
            f"'chunking': [{DEFAULT.chunk_size}, {DEFAULT.chunk_overlap}]",
        ),
    ],
)
def test_a_model_fit_under_another_embedder_or_chunking_serves_with_a_warning(
    manifest: SimpleNamespace, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    index = _TinyIndex()
    index.manifest = manifest
    with caplog.at_level(logging.WARNING, logger="poleqa.reading"):
        ExtractiveAnswerer(index)
    (record,) = caplog.records
    assert record.getMessage().startswith("data/answering.json was fit under {")
    assert message in record.getMessage()
    assert "refit it with bench/dev_harness.py --dump and bench/fit_answering.py" in (
        record.getMessage()
    )


def test_a_model_fit_on_other_features_is_refused() -> None:
    model = default_model()
    renamed = {**model, "features": {**model["features"], "select": ["cos", "lexical"]}}
    with pytest.raises(ReaderError, match="was fit on other features"):
        check_model(renamed)
    with pytest.raises(ReaderError, match="was fit on other features"):
        ExtractiveAnswerer(_TinyIndex(), model={k: v for k, v in model.items() if k != "features"})
    unknown = {**model, "select": {**model["select"], "lexical": 1.0}}
    with pytest.raises(ReaderError, match=r"weighs unknown select features \['lexical'\]"):
        check_model(unknown)


def test_scoring_is_pure_and_is_what_the_answer_is_decided_on() -> None:
    index = _TinyIndex()
    answerer = ExtractiveAnswerer(index, model={**default_model(), "threshold": 0.0})
    query = _query("Combien de membres compte le pôle Alpha en 2020 ?")
    first = answerer.score(query, _hits(index))
    assert answerer.score(query, _hits(index)) == first  # nothing kept from one call to the next
    assert not hasattr(answerer, "record") and not hasattr(answerer, "last_candidates")
    best = first.candidates[0]
    assert [c.score for c in first.candidates] == sorted(
        (c.score for c in first.candidates), reverse=True
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        best.score = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        best.features["cos"] = 0.0  # type: ignore[index]
    assert first.verdict is not None and not first.verdict.abstains(answerer.model)
    a = answerer.answer(query, _hits(index))
    assert a.text == best.text and a.confidence == round(first.verdict.confidence, 4)
    assert answerer.score(query, []).candidates == ()
