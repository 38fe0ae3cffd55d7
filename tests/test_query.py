"""The question as analysed: markup, Unicode forms and undecodable bytes, and which words point
back at an earlier question (questions written for the test, about made-up pôles)."""

from __future__ import annotations

import unicodedata

import pytest
from support import FakeEmbedder

from poleqa.query import analyse, plain_question, validate_question
from poleqa.query.followup import resolve_follow_up
from poleqa.types import Turn

PREVIOUS = (Turn("Combien de membres compte le pôle Brisevent en 2019 ?"),)


@pytest.mark.parametrize(
    ("asked", "plain"),
    [
        # comparisons are not markup
        ("Quels pôles ont < 50 membres et > 10 salariés ?",
         "Quels pôles ont < 50 membres et > 10 salariés ?"),
        ("Pôles avec CA<1M€ et effectif>100 ?", "Pôles avec CA<1M€ et effectif>100 ?"),
        # tags, comments and entities ended by « ; » are
        ("<b>Combien</b> de pôles <!-- note --> ?", "Combien de pôles ?"),
        ("Qui dirige Brisevent &amp; Cie ?", "Qui dirige Brisevent & Cie ?"),
        ("Le pôle Brisevent&ltd ?", "Le pôle Brisevent&ltd ?"),  # no « ; »: not an entity
        # a script's or a style's code is no word of the question
        ("<script>alert(1)</script>Combien de pôles ?", "Combien de pôles ?"),
        ("<STYLE type='x'>p{}</style >Combien de pôles ?", "Combien de pôles ?"),
        # Markdown: single emphasis, a link whose address holds parentheses
        ("*Quand* la politique a-t-elle été _lancée_ ?",
         "Quand la politique a-t-elle été lancée ?"),
        ("Quand a-t-elle été [lancée](javascript:alert(4)) ?", "Quand a-t-elle été lancée ?"),
        ("Combien font 2 * 3 et le_pôle ?", "Combien font 2 * 3 et le_pôle ?"),
        ("**Combien** de *pôles* ?", "Combien de pôles ?"),
        # invisible characters: a zero-width space, a soft hyphen, a BOM, a direction mark
        ("Combien de pô\u200bles ?", "Combien de pôles ?"),
        ("Quelle compé\xadtitivité ?", "Quelle compétitivité ?"),
        ("\ufeff\u200fQui préside Brisevent ?", "Qui préside Brisevent ?"),
    ],
)  # fmt: skip
def test_plain_question(asked: str, plain: str) -> None:
    assert plain_question(asked) == plain


def test_a_decomposed_question_is_read_as_the_composed_one() -> None:
    question = "Où se situe le siège du pôle Écomérie en Île-de-France ?"
    decomposed = unicodedata.normalize("NFD", question)
    assert decomposed != question
    fake = FakeEmbedder()
    a, b = analyse(question, fake), analyse(decomposed, fake)
    assert (b.resolved, b.lexical, b.years) == (a.resolved, a.lexical, a.years)
    # and as a previous question: « Et en Bretagne ? » replaces the region, not half of it
    turn = (Turn(unicodedata.normalize("NFD", "Combien de pôles en Île-de-France ?")),)
    assert analyse("Et en Bretagne ?", fake, turn).resolved == "Combien de pôles en Bretagne ?"


@pytest.mark.parametrize(
    "question",
    ["Combien de pôles à Zürich ?", "What is Île-de-France's 2023 budget?",
     "Qui préside « Pôle Μικρό » ?", "Combien de pôles ? 有", "Qui est Ελευθέριος Βενιζέλος ?",
     "Ｃｏｍｂｉｅｎ de pôles ?", "2023 ?"],
)  # fmt: skip
def test_questions_mostly_in_latin_letters_are_read(question: str) -> None:
    assert validate_question(question, 2000) == question


def test_undecodable_bytes_become_replacement_characters() -> None:
    # what `poleqa ask` receives from a terminal that is not UTF-8 (os.fsdecode)
    assert validate_question("Combien de p\udcf4les ?", 100) == "Combien de p\ufffdles ?"
    assert analyse("Combien de p\udcf4les ?", FakeEmbedder()).text.encode("utf-8")


@pytest.mark.parametrize(
    "question",
    [
        "Quels sont les pôles labellisés en 2023 ?",
        "Qui finance la politique des pôles ?",
        "Quelle est la durée d'une phase ?",
        # complex inversion: the pronoun after the verb repeats the question's own subject
        "Combien les régions versent-elles aux pôles ?",
        "Quand la politique des pôles a-t-elle été lancée ?",
        "Combien de membres un pôle compte-t-il en moyenne ?",
        # « on » and impersonal « il » stand for nothing
        "Combien de pôles compte-t-on ?",
        "Peut-on cumuler les aides ?",
        "Combien y a-t-il de pôles ?",
        "S'agit-il d'une association ?",
        # « le pôle » picking among pôles
        "Quel est le pôle le plus ancien ?",
        "Quel est le pôle qui compte le plus de membres ?",
        # « pour » and « à » before a noun: articles (a complete question read as a follow-up
        # took the previous question's names, and another answer)
        "Combien de pôles ont été labellisés pour la période 2023-2026 ?",
        "Quelle aide pour les PME ?",
        "Combien de membres à la fin de 2019 ?",
        pytest.param(
            "Quand la politique des pôles a été lancée ?",
            marks=pytest.mark.xfail(
                strict=True,
                reason="« la » after « Quand » and before a noun reads as an object pronoun "
                "(« Qui le finance d'abord ? » looks alike)",
            ),
        ),
    ],
)
def test_articles_do_not_make_a_new_question_a_follow_up(question: str) -> None:
    assert resolve_follow_up(question, PREVIOUS) == question


@pytest.mark.parametrize(
    "question",
    ["Qui le finance ?", "Qui les préside ?", "Comment la contacter ?", "Qui l'a créé ?",
     "Quel est son budget ?", "Who funds it?", "Quand a-t-il été créé ?",
     "Combien d'adhérents compte-t-il ?", "Comment le pôle est-il financé ?",
     "Comment les régions le financent-elles ?", "Combien son budget a-t-il augmenté ?",
     "Qui dirige le pôle depuis 2019 ?", "Quand le pôle devient-il mondial ?",
     "Qui le finance d'abord ?", "Quel est le budget du pôle ?",
     "Que faut-il faire pour la labelliser ?", "Qui est prêt à le soutenir ?"],
)  # fmt: skip
def test_pronouns_complete_a_follow_up(question: str) -> None:
    assert resolve_follow_up(question, PREVIOUS) == question.rstrip(" ?") + " (Brisevent) ?"


def test_a_follow_up_naming_another_pole_keeps_what_else_it_says() -> None:
    budget = (Turn("Quel est le budget du pôle Brisevent ?"),)
    # a name and a year: both taken
    assert resolve_follow_up("Et Thalassor en 2019 ?", budget) == (
        "Quel est le budget du pôle Thalassor en 2019 ?"
    )
    assert resolve_follow_up("Et le pôle Thalassor ?", budget) == (
        "Quel est le budget du pôle Thalassor ?"
    )
    # another thing asked about another pôle: left as asked, not made a budget question
    assert resolve_follow_up("Et le président de Thalassor ?", budget) == (
        "Et le président de Thalassor ?"
    )


def test_the_year_as_l_an_is_a_time_phrase() -> None:
    assert resolve_follow_up("Et l'an 2020 ?", PREVIOUS) == (
        "Combien de membres compte le pôle Brisevent en l'an 2020 ?"
    )


@pytest.mark.parametrize(
    ("question", "years"),
    [
        ("Combien de pôles comptent plus de 20000 membres ?", ()),
        ("Quel pôle est installé au 19100 avenue de Brisevent ?", ()),
        ("Quelle part, 2019,5 %, revient aux PME ?", ()),
        ("Combien de membres en 2019 et en 2021 ?", (2019, 2021)),
        ("Quel budget pour 2019-2020 ?", (2019, 2020)),
    ],
)
def test_years_named_in_a_question(question: str, years: tuple[int, ...]) -> None:
    assert analyse(question, FakeEmbedder()).years == years
