"""Unit tests of the sentence scorer's evidence gaps: what a question asks that a sentence lacks."""

from __future__ import annotations

import pytest

from poleqa.reading.scorer.candidates import (
    type_spans,
    year_signal,
)
from poleqa.reading.scorer.gates import (
    event_signal,
    evidence_gaps,
    head_signal,
    role_signal,
    unit_signal,
)
from poleqa.reading.scorer.question import analyze
from poleqa.text import stems

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
