"""Unit tests of question analysis, typed spans, short answers, sentence splitting, abstention."""

from __future__ import annotations

import dataclasses
import logging
from types import SimpleNamespace

import numpy as np
import pytest

from poleqa.config import Settings
from poleqa.embedding import E5_SMALL_ID
from poleqa.errors import ReaderError
from poleqa.query import analyse
from poleqa.reading.scorer import (
    ExtractiveAnswerer,
    check_model,
    default_model,
    entities,
    short_answer,
)
from poleqa.reading.scorer.candidates import (
    Candidate,
    idf_weights,
    name_stems,
    names_missing,
    type_spans,
    year_signal,
)
from poleqa.reading.scorer.dating import dating_text, most_recent
from poleqa.reading.scorer.extend import label_extended
from poleqa.reading.scorer.gates import (
    event_signal,
    evidence_gaps,
    head_signal,
    role_signal,
    stem_present,
    unit_signal,
)
from poleqa.reading.scorer.model import named_first
from poleqa.reading.scorer.question import analyze, expected_type
from poleqa.reading.sentence import fit_span
from poleqa.sentences import embedding_text, split_sentences, unit_text
from poleqa.serialise import ABSTAIN_TEXT, answer_to_json
from poleqa.text import stems
from poleqa.types import Chunk, Document, DocumentInfo, Hit, Sentence

DEFAULT = Settings()  # the chunking the shipped scorer model is fit under


@pytest.mark.parametrize(
    ("question", "qtype"),
    [
        ("Combien d'adhérents comptait Medicen en 2016 ?", "number"),
        ("Quel est le montant total du plan France 2030 ?", "number"),
        ("Quelle part des dossiers était conduite par les laboratoires ?", "number"),
        ("À quelle date le pôle a-t-il été labellisé ?", "date"),
        ("En quelle année la convention a-t-elle été créée ?", "date"),
        ("Quand le pôle Optitec a-t-il été intégré au pôle SCS ?", "date"),
        ("Qui préside le pôle depuis avril 2015 ?", "person"),
        ("Pourquoi le pôle s'est-il étendu vers Toulouse ?", "why"),
        ("Qu'est-ce que Railenium ?", "definition"),
        ("Que signifie le sigle SRDEII ?", "definition"),
        ("Quels sont les quatre axes d'action du programme ?", "list"),
        ("Quelle marque ombrelle le pôle anime-t-il ?", "name"),
        ("How many members did the cluster have in 2020?", "number"),
        ("Who chairs the cluster?", "person"),
        ("Since when has the office been in Montpellier?", "date"),
        ("In which cities do the staff work?", "place"),
        ("Why did the clusters merge?", "why"),
    ],
)
def test_expected_type(question: str, qtype: str) -> None:
    assert expected_type(question) == qtype


def test_analysis_years_numbers_language() -> None:
    q = analyze("Combien de pôles la phase IV comptait-elle en 2019, contre 71 en 2013 ?")
    assert q.language == "fr"
    assert q.years == (2019, 2013)
    assert q.numbers == ("71",)
    assert "pol" in q.stems
    en = analyze("Who chairs Atlanpole Biotherapies?")
    assert en.language == "en"
    assert en.proper == ("atlanpole", "biotherapies")
    assert {"presid", "pre"} & set(en.stems)  # glossary: chairs → préside président


def test_typed_spans() -> None:
    text = "En septembre 2020, le pôle comptait 210 membres et 2,88 milliards d'euros levés."
    assert [s.text for s in entities.numbers(text)] == ["210 membres", "2,88 milliards d'euros"]
    assert [s.text for s in entities.dates(text)] == ["septembre 2020"]
    assert [s.text for s in entities.dates("Le label date du 12 juillet 2005.")] == [
        "12 juillet 2005"
    ]
    assert [s.text for s in entities.persons("Le président Christian Lajoux a parlé.")] == [
        "Christian Lajoux"
    ]
    assert [s.text for s in entities.numbers("plus de 60 % du budget")] == ["plus de 60 %"]


def test_year_of_question_is_not_the_answer() -> None:
    q = analyze("Combien de membres le pôle comptait-il en 2020 ?")
    text = "En 2020, le pôle comptait 210 membres."
    spans = type_spans(q, text)
    assert [s.text for s in spans] == ["210 membres"]
    assert text[slice(*short_answer(q, text, spans))] == "210 membres"


def test_short_answer_date_and_person() -> None:
    q = analyze("À quelle date le pôle Aqua-Valley est-il né ?")
    text = "Le pôle Aqua-Valley est né le 28 juin 2017 à Montpellier."
    span = short_answer(q, text, type_spans(q, text))
    assert text[span[0] : span[1]] == "28 juin 2017"
    q = analyze("Qui présidait le pôle Valorial en 2007 ?")
    text = "En 2007, le pôle Valorial était présidé par Michel Houdebine."
    span = short_answer(q, text, type_spans(q, text))
    assert text[span[0] : span[1]] == "Michel Houdebine"


def test_short_answer_table_row_value() -> None:
    q = analyze("Qui est le président ?")
    text = "| Président | Christian Lajoux (en poste depuis avril 2015) |"
    span = short_answer(q, text, [])
    assert text[span[0] : span[1]] == "Christian Lajoux (en poste depuis avril 2015)"


def test_fit_span_keeps_short_answer_verbatim() -> None:
    text = ("Un long préambule, " * 30) + "le pôle compte 480 membres, " + ("et la suite, " * 30)
    i = text.index("480 membres")
    s, e = fit_span(text, 0, len(text), (i, i + 11), 400)
    assert e - s <= 400
    assert s <= i and i + 11 <= e
    assert text[s:e] in text


def test_split_sentences_offsets_and_units() -> None:
    text = (
        "# Titre\n\nM. Dupont est arrivé en janv. 2020. Il préside le pôle.\n"
        "- premier point ;\n- second point.\n\n| Rubrique | Donnée |\n|---|---|\n"
        "| Adhérents | 276 |\n## Suite\nUn texte coupé\nsur deux lignes. Fin."
    )
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "# Titre",
        "M. Dupont est arrivé en janv. 2020.",
        "Il préside le pôle.",
        "- premier point ;",
        "- second point.",
        "| Rubrique | Donnée |",
        "| Adhérents | 276 |",
        "## Suite",
        "Un texte coupé\nsur deux lignes.",
        "Fin.",
    ]
    row = next(s for s in spans if text[s[0] : s[1]] == "| Adhérents | 276 |")
    assert unit_text(text, *row) == "Adhérents : 276"
    doc = Document(DocumentInfo(source="a.md", title="Fiche"), text)
    assert embedding_text(doc, *row) == "Fiche — Titre — Adhérents : 276"


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
    assert list(out) == [
        "question",
        "answer",
        "abstained",
        "confidence",
        "short_answer",
        "citations",
        "notes",
    ]
    assert list(out["citations"][0]) == [
        "n",
        "source",
        "title",
        "date",
        "url",
        "start",
        "end",
        "passage",
        "score",
    ]


def test_disagreeing_figures_give_the_most_recent_with_a_note() -> None:

    class _TwoDocs:
        def __init__(self) -> None:
            self.infos = {
                "old.txt": DocumentInfo(source="old.txt", title="Phase III", date="2013-01-01"),
                "new.txt": DocumentInfo(source="new.txt", title="Phase IV", date="2019-01-01"),
            }

        def info(self, source):
            return self.infos[source]

    q = analyze("Combien de pôles de compétitivité compte la France ?")
    feats = {"lex_ctx": 1.0}

    def cand(source: str, text: str, score: float) -> Candidate:
        spans = tuple(type_spans(q, text))
        return Candidate(Sentence(0, source, 0, len(text)), text, text, score, feats, score, spans)

    old = cand("old.txt", "La France compte 71 pôles de compétitivité.", 5.0)
    new = cand("new.txt", "La France compte 55 pôles de compétitivité.", 4.8)
    chosen, notes = most_recent(_TwoDocs(), default_model(), q, old, [old, new])
    assert chosen is new
    assert notes[0] == "Les sources ne donnent pas le même chiffre : voici le plus récent."
    assert notes[1].startswith("Autre chiffre (2013) dans « Phase III » : 71 pôles")
    # a question that names its year keeps its own figure
    q2 = analyze("Combien de pôles de compétitivité compte la France en 2013 ?")
    assert most_recent(_TwoDocs(), default_model(), q2, old, [old, new]) == (old, ())


# -- abstention signals and short-answer choice ---------------------------------------------


def test_names_of_the_question_missing_from_a_document() -> None:

    q = analyze("Combien de pôles de compétitivité compte la région Bretagne ?")
    # "bretagn" is in 1 of 10 documents (a distinctive name), "pôle" in all of them
    df = {"pol": 10, "competit": 10, "bretagn": 1, "region": 6}
    weights = idf_weights(q, df, 10)
    names = name_stems(q, weights, 10)
    assert names == ("bretagn",)
    aura = frozenset(stems("La Région Auvergne-Rhône-Alpes compte 13 pôles de compétitivité."))
    assert names_missing(names, aura) == 1.0
    assert names_missing(names, aura | frozenset(stems("Bretagne"))) == 0.0
    assert stem_present("toulousain", frozenset({"toulousaine"}))
    assert not stem_present("scs", frozenset({"scss"}))
    # a glossary word of an English question ("State" → État) is not a name
    assert analyze("How many clusters did the State label in 2023?").proper == ()
    assert analyze("How many employees work in the Aqua-Valley team?").proper == ("aqua-valley",)


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


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        (
            "Combien d'adhérents compte le pôle S2E2 ?",
            "4 pôles ont leur siège en région Centre, dont S2E2 (énergie, 130 adhérents).",
            "130 adhérents",
        ),
        # a sum of money is asked: the amount, not the other number
        (
            "Quelle somme l'État a-t-il consacrée sur deux ans aux grappes ?",
            "Au terme des deux vagues, 126 grappes ont été retenues et l'État leur consacre "
            "24 millions d'euros.",
            "24 millions d'euros",
        ),
        # a place follows a locative preposition ("à Orléans"), not the pole's name
        (
            "Dans quelle ville le contrat de performance du pôle DREAM sera-t-il signé ?",
            "Deux contrats seront signés le 21 janvier à Chartres pour le pôle Cosmetic Valley "
            "et le 22 janvier à Orléans pour le pôle DREAM.",
            "Orléans",
        ),
        (
            "Par quel cluster le pôle Infr@2050 est-il porté ?",
            "Le pôle Infr@2050, dédié au secteur du BTP, est porté par le cluster INDURA.",
            "INDURA",
        ),
        (
            "Quelle part du chiffre d'affaires national du décolletage revient au territoire ?",
            "1er territoire mécanicien (65 % du chiffre d'affaires national du décolletage)",
            "65 %",
        ),
    ],
)
def test_short_answer_is_the_item_asked_for(question: str, text: str, expected: str) -> None:
    q = analyze(question)
    span = short_answer(q, text, type_spans(q, text))
    assert span is not None and text[span[0] : span[1]] == expected


def test_a_name_of_the_question_is_not_the_person_asked_for() -> None:
    q = analyze("Qui dirige le pôle Minalogic ?")
    assert type_spans(q, "• Minalogic Auvergne-Rhône-Alpes (numérique et électronique)") == []
    spans = type_spans(q, "Le pôle Minalogic est dirigé par Jean Dupont.")
    assert [s.text for s in spans] == ["Jean Dupont"]


# -- labels and list introductions answer with what they introduce ------------------------------


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


def test_a_label_answers_with_the_unit_it_introduces() -> None:
    index = _TextIndex("Actualités\n\nContact\n\nSophie DUEZ\n\nsophie.duez@polymeris.fr\n")
    answerer = ExtractiveAnswerer(index)
    q = analyze("Who is the contact person for the clusters' 20th anniversary?")
    best = index.candidate(q, "Contact")
    a = answerer._answer_from(q, best, _hits(index), 0.9, ())
    assert a.text == "Contact\n\nSophie DUEZ"
    assert a.short_answer == "Sophie DUEZ"
    # a label whose next unit holds nothing of the kind asked for (a number) stays as it was
    q2 = analyze("Combien de personnes faut-il contacter ?")
    best2 = index.candidate(q2, "Contact")
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

    assert [s.text for s in entities.names("Contact\n\nSophie DUEZ")] == ["Contact", "Sophie DUEZ"]
    q = analyze("Qui est le contact ?")
    assert [s.text for s in type_spans(q, "Contact\n\nSophie DUEZ")] == ["Sophie DUEZ"]
    assert [s.text for s in type_spans(q, "avec Jean DUPONT et Marie Curie")] == [
        "Jean DUPONT",
        "Marie Curie",
    ]


# -- evidence gaps: what the question demands and the best sentence plainly lacks -----------


def _gaps(question: str, sentence: str, around: str = "") -> dict[str, float]:

    q = analyze(question)
    spans = type_spans(q, sentence)
    year = year_signal(q, sentence)
    if year == 0.0 and q.years:
        year = 0.5 * max(0.0, year_signal(q, around))
    have = frozenset(stems(f"{sentence} {around}"))
    unit = unit_signal(q, sentence, spans)
    return evidence_gaps(
        q,
        sentence,
        spans,
        year,
        unit,
        head_signal(q, have),
        role_signal(q, have),
        event_signal(q, have),
    )


@pytest.mark.parametrize(
    ("question", "sentence", "around", "gap"),
    [
        # the year asked is in neither the sentence nor what dates it
        (
            "Combien d'adhérents le pôle compte-t-il en 2023 ?",
            "Le pôle compte 100 adhérents.",
            "",
            "gap_year",
        ),
        (
            "Combien de projets a-t-il labellisés en 2023 ?",
            "En 2024, 25 projets labellisés.",
            "",
            "gap_year",
        ),
        # "depuis 2005" would hold in 2020, but the figure is dated mi-2015
        (
            "Combien de projets a-t-il labellisés en 2020 ?",
            "| Projets labellisés | 181 |",
            "| Indicateur (depuis 2005) | Valeur à mi-2015 |",
            "gap_year",
        ),
        # a number, a date or a person asked, none in the sentence
        ("Qui a succédé à Hervé Floch ?", "Hervé Floch dirige le nouvel ensemble.", "", "gap_type"),
        (
            "Combien de projets le pôle a-t-il financés ?",
            "Le pôle finance des projets.",
            "",
            "gap_type",
        ),
        # every number counts something else than what is asked
        (
            "Combien d'adhérents le pôle compte-t-il ?",
            "48 animateurs et experts accompagnent les adhérents.",
            "",
            "gap_unit",
        ),
        # the thing whose quantity is asked is nowhere around
        (
            "Quel était le budget de fonctionnement du pôle ?",
            "| Investissement total associé | 2,87 milliards d'euros |",
            "",
            "gap_head",
        ),
        # ... or the word that qualifies it ("annuel": not the budget of some projects)
        (
            "Quel est le budget annuel de fonctionnement du pôle Xylofutur ?",
            "| Budget total de ces projets | 360 millions d'euros |",
            "",
            "gap_head",
        ),
        (
            "Quel est le montant de la cotisation annuelle d'une grande entreprise ?",
            "Avec 320 adhérents, le pôle annonce 12 projets.",
            "",
            "gap_head",
        ),
        # "quand" asks about an event the sentence never names (it names the opening)
        (
            "Quand le centre de R&D de Tate & Lyle a-t-il fermé ?",
            "| septembre 2008 | ouverture d'un centre de R&D de Tate & Lyle à la Haute Borne |",
            "",
            "gap_event",
        ),
        # what holds the quantity asked ("l'équipe") is not the regional industry
        (
            "Combien de salariés compte l'équipe de Clubster NSL ?",
            "La filière régionale pesait environ 1 000 entreprises et 30 800 salariés.",
            "",
            "gap_head",
        ),
        (
            "Combien de grappes d'entreprises bretonnes ont été retenues en 2010 ?",
            "| 4 mai 2010 | 42 grappes d'entreprises retenues sur 112 dossiers |",
            "",
            "gap_head",
        ),
        # "qui" names a role the sentence never names
        (
            "Qui est le trésorier de CARA ?",
            "Son délégué général, Thomas Prieur, indique que CARA accompagne 300 entreprises.",
            "",
            "gap_role",
        ),
        (
            "Qui a fondé l'entreprise Rol Pin ?",
            "Marc Vincent est directeur général de l'entreprise Rol Pin.",
            "",
            "gap_role",
        ),
    ],
)
def test_an_evidence_gap_is_found(question: str, sentence: str, around: str, gap: str) -> None:
    assert _gaps(question, sentence, around)[gap] == 1.0


@pytest.mark.parametrize(
    ("question", "sentence", "around"),
    [
        # the year dates the sentence through its context or the document's date
        (
            "Combien d'adhérents le pôle compte-t-il en 2023 ?",
            "Le pôle compte 100 adhérents.",
            "2023-03-30",
        ),
        # "depuis 2005" opens a period, "France 2030" is a name: neither dates the answer
        (
            "Quel montant de subventions les projets labellisés depuis 2005 ont-ils obtenu ?",
            "| Subventions obtenues | 507 millions d'euros |",
            "",
        ),
        (
            "Quel est le montant total du plan France 2030 ?",
            "Le plan d'investissement est doté de 54 milliards d'euros.",
            "",
        ),
        # a role answers "qui" without a name; a date without its year answers "quel jour"
        ("Qui préside les comités de coordination ?", "Ils sont présidés par le préfet.", ""),
        (
            "Quel jour l'État a-t-il annoncé la labellisation ?",
            "Le 27 mars, l'État a annoncé la labellisation de 55 pôles.",
            "",
        ),
        # synonyms count the same things; the words after a number say what it counts
        ("Combien d'adhérents compte le pôle ?", "Le pôle revendique 210 membres.", ""),
        (
            "Combien de spécialistes bénévoles épaulent les membres ?",
            "48 animateurs et experts bénévoles accompagnent les adhérents.",
            "",
        ),
        (
            "How many competitiveness clusters did the State label?",
            "L'État a labellisé 55 pôles de compétitivité.",
            "",
        ),
        (
            "Quel est le chiffre d'affaires cumulé des membres ?",
            "Ses 600 membres réalisent un chiffre d'affaires cumulé de 5 milliards d'euros.",
            "",
        ),
        # the role in another form of the word; the year at the start of the list item
        (
            "Qui dirigeait iD4CAR en 2009 ?",
            "Bernadette Rovire en est la directrice générale.",
            "2. **iD4CAR (2009).** Le pôle intègre la petite série.",
        ),
        ("Who chairs the cluster?", "Le pôle est présidé par Franck Grimaud.", ""),
        # the event in another word of its family
        (
            "À quelle date l'appel à projets a-t-il été lancé ?",
            "| 29 octobre 2009 | lancement de l'appel à projets par le ministre |",
            "",
        ),
        (
            "En quelle année la convention d'affaires a-t-elle été créée ?",
            "La convention d'affaires, dont la création remonte à 2012, réunit 300 acheteurs.",
            "",
        ),
    ],
)
def test_no_evidence_gap_when_the_sentence_answers(
    question: str, sentence: str, around: str
) -> None:
    assert not any(_gaps(question, sentence, around).values())


@pytest.mark.parametrize(
    ("question", "head"),
    [
        ("Quel est le budget annuel de fonctionnement du pôle Xylofutur ?", ("budget", "annuel")),
        ("Quel est le montant de la cotisation annuelle d'une PME ?", ("cotis", "annuel")),
        ("Combien de spécialistes bénévoles épaulent les membres ?", ("special", "benevol")),
        # a name or a conjugated verb after the noun is not part of it
        ("Combien de projets Valorial a-t-il approuvés ?", ("projet",)),
        ("Quel projet associait la PME Mahytec et La Poste ?", ("projet",)),
        ("Combien de projets environ ont été labellisés ?", ("projet",)),
        # with its complement and qualifier, but not a name ("d'Auvergne-Rhône-Alpes")
        (
            "Combien de grappes d'entreprises bretonnes ont été retenues ?",
            ("grapp", "entrepris", "breton"),
        ),
        ("Combien de pôles d'Auvergne-Rhône-Alpes ont été renouvelés ?", ("pol",)),
        ("How many competitiveness clusters did the State label?", ("pol", "competitivit")),
    ],
)
def test_the_noun_a_question_asks_for(question: str, head: tuple[str, ...]) -> None:
    assert analyze(question).head == head


def test_the_event_a_date_question_asks_about() -> None:
    assert analyze("Quand le centre de R&D a-t-il fermé ?").event == ("ferm",)
    # nouns ending like participles are not events; neither is the auxiliary "été"
    q = "À quelle date la fusion de Cancer-Bio-Santé a-t-elle été validée en assemblée générale ?"
    assert analyze(q).event == ("valide",)
    assert analyze("Combien de pôles ont été labellisés ?").event == ()


def test_what_holds_the_quantity_asked() -> None:
    assert analyze("Combien de salariés compte l'équipe de Clubster NSL ?").owner == ("equip",)
    assert analyze("Combien d'adhérents compte la Cosmetic Valley ?").owner == ()
    assert analyze("How many employees work in the team?").owner == ()


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
    text = "# T\n\n2. **iD4CAR (2009).** Le pôle change. Bernadette Rovire en est la directrice."
    doc = Document(DocumentInfo(source="a.md", title="T", date="2025-06-30"), text)
    start = text.index("Bernadette")
    before = Sentence(0, "a.md", text.index("Le pôle"), start - 1)
    dating = dating_text(doc, Sentence(1, "a.md", start, len(text)), before)
    assert "iD4CAR (2009)" in dating and "Le pôle change." in dating
    assert dating.endswith("2025-06-30")


def test_a_winner_naming_no_one_gives_way_to_a_close_sentence_that_does() -> None:

    def cand(i: int, score: float, **gaps: float) -> Candidate:
        return Candidate(Sentence(i, "a.md", i, i + 1), "t", "t", 1.0, dict(gaps), score)

    model = default_model()
    assert model["type_fallback"] > 0
    lead = cand(0, 30.0, gap_type=1.0, gap_role=1.0)  # "**iD4CAR (2009).** Le pôle intègre …"
    named = cand(1, 30.0 - model["type_fallback"] / 2)  # "Bernadette Rovire en est la directrice"
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
