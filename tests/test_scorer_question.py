"""Unit tests of the sentence scorer's question analysis, typed spans and short answers."""

from __future__ import annotations

import pytest

from poleqa.reading.scorer import (
    entities,
    short_answer,
)
from poleqa.reading.scorer.candidates import (
    idf_weights,
    name_stems,
    names_missing,
    type_spans,
)
from poleqa.reading.scorer.gates import (
    stem_present,
)
from poleqa.reading.scorer.question import analyze, expected_type
from poleqa.reading.scorer.short import gap_note
from poleqa.reading.sentence import answer_sentence, fit_span
from poleqa.sentences import embedding_text, split_sentences, unit_text
from poleqa.text import stems
from poleqa.types import Document, DocumentInfo


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


@pytest.mark.parametrize("at", [0, 300, 700, 1100])
def test_a_clause_longer_than_the_limit_is_quoted_around_its_short_answer(at: int) -> None:
    # no , ; : or dash to cut on (a PDF list joined into one block): the quote once kept the
    # clause's first 400 characters wherever the answer was
    words = "les pôles réunissent entreprises laboratoires et centres de formation".split()
    text = " ".join(words[k % len(words)] for k in range(200))
    answer = "56 pôles"
    cut = text.index(" ", at) + 1 if at else 0
    text = text[:cut] + answer + " " + text[cut:]
    s, e = answer_sentence(text, cut, cut + len(answer))
    assert e - s <= 400 and s <= cut and cut + len(answer) <= e
    assert s == 0 or text[s - 1] == " "  # whole words
    assert e == len(text) or text[e] == " "


def test_the_missing_years_note_is_french_for_one_year_or_several() -> None:
    one, two = analyze("Combien de membres en 2019 ?"), analyze("Combien entre 2019 et 2020 ?")
    assert gap_note(one, {"gap_year": 1.0}) == (
        "Aucun passage trouvé ne date cette information de 2019."
    )
    assert gap_note(two, {"gap_year": 1.0}) == (
        "Aucun passage trouvé ne date cette information ni de 2019 ni de 2020."
    )
