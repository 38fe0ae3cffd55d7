"""Follow-up questions resolved with the previous turn (exact strings)."""

from __future__ import annotations

import pytest

from poleqa.query.followup import resolve_follow_up
from poleqa.types import Turn

# Questions written for these tests, about a made-up pôle and made-up regions.
MEMBERS = (Turn("Combien de membres le pôle Vallée Cobalt comptait-il en 2012 ?", "140 membres"),)
REGION = (Turn("Quels pôles de compétitivité sont implantés dans la région Haute-Sorlande ?"),)


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("Et en 2013 ?", MEMBERS, "Combien de membres le pôle Vallée Cobalt comptait-il en 2013 ?"),
        ("And in 2020?", MEMBERS, "Combien de membres le pôle Vallée Cobalt comptait-il en 2020 ?"),
        ("Qui le préside ?", MEMBERS, "Qui le préside (Vallée Cobalt) ?"),
        (
            "Et pour Thalassor ?",
            MEMBERS,
            "Combien de membres le pôle Thalassor comptait-il en 2012 ?",
        ),
        (
            "Et en Morvanie ?",
            REGION,
            "Quels pôles de compétitivité sont implantés dans la région Morvanie ?",
        ),
        (
            "And in Ostrevie?",
            REGION,
            "Quels pôles de compétitivité sont implantés dans la région Ostrevie ?",
        ),
        (
            "Et en 2013 ?",
            REGION,
            "Quels pôles de compétitivité sont implantés dans la région Haute-Sorlande en 2013 ?",
        ),
        # a place asked after a pôle keeps its preposition: the pôle in that place is meant
        (
            "Et en Morvanie ?",
            MEMBERS,
            "Combien de membres le pôle en Morvanie comptait-il en 2012 ?",
        ),
        (
            "Et dans la Haute-Sorlande en 2013 ?",
            MEMBERS,
            "Combien de membres le pôle dans la Haute-Sorlande comptait-il en 2013 ?",
        ),
        # … only there, and only after « en » or « dans »: elsewhere the name is swapped as it is
        ("Et pour Thalassor ?", (Turn("Qui préside Vallée Cobalt ?"),), "Qui préside Thalassor ?"),
        (
            "Et à Thalassor ?",
            (Turn("Combien compte Vallée Cobalt ?"),),
            "Combien compte Thalassor ?",
        ),
        (
            "Et au pôle Thalassor ?",
            (Turn("Qui préside le pôle Vallée Cobalt ?"),),
            "Qui préside le pôle Thalassor ?",
        ),
        ("Et en Morvanie ?", (Turn("Quels pôles de Sorlande ?"),), "Quels pôles de Morvanie ?"),
        (
            "Et en Morvanie ?",
            (Turn("Quel est le budget de Vallée Cobalt ?"),),
            "Quel est le budget de Morvanie ?",
        ),
        (
            "And in Ostrevie?",
            (Turn("Who chairs the Vallée Cobalt cluster?"),),
            "Who chairs the Ostrevie cluster?",
        ),
        # a name holding two small words is one name (« Pays de la Loire »)
        (
            "Et en Ostrevie ?",
            (Turn("Combien de pôles en Pays de la Morvanie ?"),),
            "Combien de pôles en Ostrevie ?",
        ),
        # « celui de », « celle de »: the same thing, of another pôle
        (
            "Et celui de Thalassor ?",
            (Turn("Quand sera signé le contrat de performance du pôle Vallée Cobalt ?"),),
            "Quand sera signé le contrat de performance du pôle Thalassor ?",
        ),
        (
            "Et celle de Thalassor ?",
            (Turn("Quelle est la devise de Vallée Cobalt ?"),),
            "Quelle est la devise de Thalassor ?",
        ),
        # the article before the swapped name agrees with the new one
        (
            "Et pour la région Morvanie ?",
            (Turn("Quelle est la capitale de l'Ostrevie ?"),),
            "Quelle est la capitale de la région Morvanie ?",
        ),
        (
            "Et pour le Sorlande ?",
            (Turn("Quel est le budget de l'Ostrevie ?"),),
            "Quel est le budget du Sorlande ?",
        ),
        (
            "Et les Monts Sorlandais ?",
            (Turn("Qui finance l'Ostrevie ?"),),
            "Qui finance les Monts Sorlandais ?",
        ),
        (
            "Et Thalassor ?",
            (Turn("Combien compte l'Azur Robotique ?"),),
            "Combien compte Thalassor ?",
        ),
        (
            "Et pour Thalassor ?",
            (Turn("Quel est le budget d'Ostrevie ?"),),
            "Quel est le budget de Thalassor ?",
        ),
        (
            "Et pour la Morvanie ?",
            (Turn("Quel est le budget d'Ostrevie ?"),),
            "Quel est le budget de la Morvanie ?",
        ),
        (
            "Et pour le Sorlande ?",
            (Turn("Quel est le budget d'Ostrevie ?"),),
            "Quel est le budget du Sorlande ?",
        ),
        # « Et » then an article and a name: the name is swapped in (it was appended after
        # « Et la Morvanie », the question naming both)
        (
            "Et la Morvanie ?",
            (Turn("Combien de pôles compte l'Ostrevie ?"),),
            "Combien de pôles compte la Morvanie ?",
        ),
        (
            "Et le Sorlande ?",
            (Turn("Quels sont les pôles de l'Ostrevie ?"),),
            "Quels sont les pôles du Sorlande ?",
        ),
        # an elided article (« Et l'Ostrevie ? » was left as typed)
        (
            "Et l'Ostrevie ?",
            (Turn("Combien de pôles compte la Morvanie ?"),),
            "Combien de pôles compte l'Ostrevie ?",
        ),
        # a new question led by « Et si », or « qu'est-ce que le… », points back at nothing
        ("Et si un pôle perd son label ?", (Turn("Qui préside Thalassor ?"),), None),
        ("Qu'est-ce que le label ?", (Turn("Qui préside Thalassor ?"),), None),
        # only another question word: the previous question asked with it, in its language
        (
            "Et pourquoi ?",
            (Turn("Quand le pôle Thalassor a-t-il été rebaptisé ?"),),
            "Pourquoi le pôle Thalassor a-t-il été rebaptisé ?",
        ),
        (
            "Et  depuis   quand ?",
            (Turn("  Où est implanté le pôle Thalassor ?"),),
            "Depuis quand est implanté le pôle Thalassor ?",
        ),
        (
            "And when?",
            (Turn("Comment Thalassor est-il financé ?"),),
            "Quand Thalassor est-il financé ?",
        ),
        ("Et pourquoi ?", (Turn("When was Thalassor founded?"),), "Why was Thalassor founded?"),
        # … not after a question opening otherwise, nor with more words
        ("Et pourquoi ?", (Turn("Combien de membres compte Thalassor ?"),), None),
        ("And why?", (Turn("How many members does Thalassor have?"),), None),
        ("Et pourquoi donc ?", (Turn("Quand Thalassor a-t-il été créé ?"),), None),
        # … nor after « how » asking something else than a manner, nor « où en est… »
        ("And where?", (Turn("How often does the Thalassor board meet?"),), None),
        ("And why?", (Turn("How come Thalassor left?"),), None),
        ("Et pourquoi ?", (Turn("Où en est le projet Thalassor ?"),), None),
        ("And why?", (Turn("How did Thalassor grow?"),), "Why did Thalassor grow?"),
        # « Et comment ! » exclaims (« you bet »)
        ("Et comment !", (Turn("Quand Thalassor a-t-il été créé ?"),), None),
        # an English question without a time phrase gets one, punctuated in English
        (
            "And in 2019?",
            (Turn("Who chairs the Cobalt cluster?"),),
            "Who chairs the Cobalt cluster in 2019?",
        ),
        # « du », « des », « de » before the name: « de » stays, elided or contracted
        ("Et Ostrevie ?", (Turn("Quels pôles du Grand Sorlande ?"),), "Quels pôles d'Ostrevie ?"),
        ("Et Morvanie ?", (Turn("Quels pôles du Grand Sorlande ?"),), "Quels pôles de Morvanie ?"),
        (
            "Et les Monts Sorlandais ?",
            (Turn("Quels pôles du Grand Sorlande ?"),),
            "Quels pôles des Monts Sorlandais ?",
        ),
        (
            "Et Ostrevie ?",
            (Turn("Quel est le rôle de Thalassor ?"),),
            "Quel est le rôle d'Ostrevie ?",
        ),
        # a place with its preposition: the follow-up's replaces it whole
        (
            "Et en Morvanie ?",
            (Turn("Combien de pôles dans les Monts Sorlandais ?"),),
            "Combien de pôles en Morvanie ?",
        ),
        (
            "Et dans le Grand Sorlande ?",
            (Turn("Combien de pôles en Ostrevie ?"),),
            "Combien de pôles dans le Grand Sorlande ?",
        ),
        (
            "Et pour la région Morvanie ?",
            (Turn("Combien de pôles en Ostrevie ?"),),
            "Combien de pôles dans la région Morvanie ?",
        ),
        # a year that is part of a name stays (« France 2030 »): the year asked is added
        (
            "Et en 2023 ?",
            (Turn("Quel est le rôle des pôles dans Cobalt 2030 ?"),),
            "Quel est le rôle des pôles dans Cobalt 2030 en 2023 ?",
        ),
        # h and y are consonants here (« la Haute-Sorlande », not « l'Haute-Sorlande »)
        (
            "Et Haute-Sorlande ?",
            (Turn("Combien de pôles compte la Morvanie ?"),),
            "Combien de pôles compte la Haute-Sorlande ?",
        ),
        (
            "Et Ostrevie ?",
            (Turn("Quel est le budget de la Morvanie ?"),),
            "Quel est le budget de l'Ostrevie ?",
        ),
        # a question opening as the previous one did, then only a place, a name or a time
        (
            "Combien en Morvanie ?",
            (Turn("Combien de pôles compte la Haute-Sorlande ?"),),
            "Combien de pôles compte la Morvanie ?",
        ),
        (
            "Combien en 2013 ?",
            (Turn("Combien de pôles compte la Haute-Sorlande ?"),),
            "Combien de pôles compte la Haute-Sorlande en 2013 ?",
        ),
        ("Qui pour Thalassor ?", (Turn("Qui préside Vallée Cobalt ?"),), "Qui préside Thalassor ?"),
        # … not one saying more, nor one opening otherwise
        ("Combien de pôles en Morvanie ?", (Turn("Combien de pôles compte la Ostrevie ?"),), None),
        ("Combien en Morvanie ?", (Turn("Quels pôles compte la Ostrevie ?"),), None),
        ("Combien de pôles de Morvanie ?", (Turn("Combien de membres compte Thalassor ?"),), None),
        ("Quel pôle de Morvanie ?", (Turn("Quel est le budget de Thalassor ?"),), None),
        ("Combien au total ?", (Turn("Combien de pôles compte la Morvanie ?"),), None),
        ("Combien en moyenne ?", (Turn("Combien de pôles compte la Morvanie ?"),), None),
        ("Quelle région de Morvanie ?", (Turn("Quelle est la date de Thalassor ?"),), None),
        # self-contained questions are left alone
        (
            "Quels pôles sont implantés en Morvanie ?",
            REGION,
            "Quels pôles sont implantés en Morvanie ?",
        ),
        ("Et en 2013 ?", (), "Et en 2013 ?"),
    ],
)
def test_resolve_follow_up(question: str, history: tuple[Turn, ...], expected: str | None) -> None:
    assert resolve_follow_up(question, history) == (question if expected is None else expected)


# About a made-up pôle too: the time phrase of the previous question is replaced whole,
# whatever its wording; nothing else of it changes.
SINCE = "Combien d'entreprises le pôle Azur Robotique fédère-t-il depuis 2004 ?"
ON_DAY = "Quel budget le pôle Azur Robotique avait-il au 1er janvier 2004 ?"
BETWEEN = "Combien de projets le pôle Azur Robotique a-t-il financés entre 2004 et 2006 ?"
FROM_TO = "Combien de projets ont été financés de 2004 à 2006 en Occitanie ?"
NAMED = "Que sont devenus les pôles de 2004 ?"
TWO_DATES = "Combien de pôles labellisés en 2005 existaient encore en 2010 ?"
ENGLISH = "How many members did the Azur Robotics cluster have in 2004?"


@pytest.mark.parametrize(
    ("previous", "question", "expected"),
    [
        (
            SINCE,
            "Et en 2023 ?",
            "Combien d'entreprises le pôle Azur Robotique fédère-t-il en 2023 ?",
        ),
        (
            SINCE,
            "And in 2023?",
            "Combien d'entreprises le pôle Azur Robotique fédère-t-il en 2023 ?",
        ),
        (
            SINCE,
            "Et 2023 ?",
            "Combien d'entreprises le pôle Azur Robotique fédère-t-il depuis 2023 ?",
        ),
        (
            SINCE,
            "Et entre 2010 et 2012 ?",
            "Combien d'entreprises le pôle Azur Robotique fédère-t-il entre 2010 et 2012 ?",
        ),
        (ON_DAY, "Et en 2023 ?", "Quel budget le pôle Azur Robotique avait-il en 2023 ?"),
        (ON_DAY, "Et 2023 ?", "Quel budget le pôle Azur Robotique avait-il au 1er janvier 2023 ?"),
        (ON_DAY, "Et fin 2023 ?", "Quel budget le pôle Azur Robotique avait-il fin 2023 ?"),
        (
            ON_DAY,
            "Et le 30 juin 2023 ?",
            "Quel budget le pôle Azur Robotique avait-il le 30 juin 2023 ?",
        ),
        (BETWEEN, "Et en 2023 ?", BETWEEN.replace("entre 2004 et 2006", "en 2023")),
        (BETWEEN, "Et 2023 ?", BETWEEN.replace("entre 2004 et 2006", "en 2023")),
        (BETWEEN, "Et de 2010 à 2015 ?", BETWEEN.replace("2004 et 2006", "2010 et 2015")),
        (FROM_TO, "Et en 2023 ?", "Combien de projets ont été financés en 2023 en Occitanie ?"),
        (NAMED, "Et en 2023 ?", "Que sont devenus les pôles de 2023 ?"),
        (TWO_DATES, "Et en 2023 ?", TWO_DATES.replace("en 2010", "en 2023")),
        (ENGLISH, "And in 2023?", ENGLISH.replace("2004", "2023")),
        (ENGLISH, "Et en 2023 ?", ENGLISH.replace("2004", "2023")),
        (ENGLISH, "And since 2015?", ENGLISH.replace("in 2004", "since 2015")),
        # a question without a time phrase gets the one asked, worded in French
        (REGION[0].question, "Et depuis 2020 ?", REGION[0].question[:-2] + " depuis 2020 ?"),
        (REGION[0].question, "And since 2020?", REGION[0].question[:-2] + " depuis 2020 ?"),
    ],
)
def test_a_year_follow_up_replaces_the_whole_time_phrase(
    previous: str, question: str, expected: str
) -> None:
    assert resolve_follow_up(question, (Turn(previous),)) == expected


def test_only_the_last_turn_with_a_question_is_completed() -> None:
    history = (Turn(SINCE, "120 entreprises"), Turn(ON_DAY, "3 millions d'euros"))
    assert resolve_follow_up("Et en 2023 ?", history) == ON_DAY.replace(
        "au 1er janvier 2004", "en 2023"
    )
