"""Swapped negatives: a question's year, number, name or noun replaced by one its passage lacks."""

from __future__ import annotations

import random

from poleqa.reading.squad import GoldSpan, QAExample
from poleqa.reading.swap import noun_swaps, swapped_negatives

CONTEXT = (
    "En 2019, le pôle Aquanord comptait 212 adhérents. Il est présidé par Marie Dupin "
    "depuis la phase IV."
)


def _ex(
    question: str, ident: str = "q1", answer: str | None = "212", context: str = CONTEXT
) -> QAExample:
    """An example on the context; its answer placed where the context holds it (None: none)."""
    answers = () if answer is None else (GoldSpan(answer, context.index(answer)),)
    return QAExample(ident, question, context, answers, "Aquanord")


def test_a_year_the_passage_holds_becomes_one_it_lacks() -> None:
    ex = _ex("Combien d'adhérents comptait le pôle en 2019 ?")
    (twin,) = swapped_negatives([ex], 1.0, random.Random(0))
    assert twin.id == "q1-sw" and twin.context == CONTEXT and twin.answers == ()
    assert twin.impossible and not twin.answerable
    year = twin.question.removeprefix("Combien d'adhérents comptait le pôle en ").removesuffix(" ?")
    assert year.isdigit() and len(year) == 4 and year not in CONTEXT
    assert 1 <= abs(int(year) - 2019) <= 10


def test_names_and_numerals_swap_within_their_kind() -> None:
    named = _ex("Qui préside le pôle Aquanord ?", "a")
    other = _ex("Qui préside Végépolys ?", "b", "Jean Roux", "Végépolys est présidé par Jean Roux.")
    phase = _ex("Qu'a fait le pôle pendant la phase IV ?", "c")
    earlier = _ex(
        "Qu'a fait le pôle pendant la phase III ?",
        "d",
        "il a grandi",
        "Pendant la phase III, il a grandi.",
    )
    made = swapped_negatives([named, other, phase, earlier], 1.0, random.Random(0))
    # each passage lacks exactly one other value of its question's kind: the swap takes it
    assert {t.id: t.question for t in made} == {
        "a-sw": "Qui préside le pôle Végépolys ?",
        "b-sw": "Qui préside Aquanord ?",
        "c-sw": "Qu'a fait le pôle pendant la phase III ?",
        "d-sw": "Qu'a fait le pôle pendant la phase IV ?",
    }


def test_nothing_is_made_without_a_mention_the_passage_holds() -> None:
    unpinned = _ex("Combien d'adhérents le pôle compte-t-il en 2021 ?")  # 2021: not in it
    part = _ex("Que valait le budget 20 ?")  # « 20 » is not a word of « 2019 »
    unanswerable = _ex("Qui présidait en 2019 ?", "u", None)
    assert swapped_negatives([unpinned, part, unanswerable], 1.0, random.Random(0)) == []


def test_share_zero_draws_nothing() -> None:
    rng = random.Random(5)
    state = rng.getstate()
    assert swapped_negatives([_ex("Combien en 2019 ?")], 0.0, rng) == []
    assert noun_swaps([_ex("Combien d'adhérents en 2019 ?")], 0.0, rng) == []
    assert rng.getstate() == state


def test_a_noun_the_passage_holds_becomes_one_of_the_same_slot_it_never_uses() -> None:
    members = _ex("Combien d'adhérents compte Aquanord ?", "a")
    staff = _ex("Combien d'employés a Végépolys ?", "b", "40", "Végépolys a 40 personnes.")
    made = noun_swaps([members, staff], 1.0, random.Random(0))
    # « employés » is not in its own passage, so nothing is swapped there
    assert [(t.id, t.question, t.context, t.answers) for t in made] == [
        ("a-ns", "Combien d'employés compte Aquanord ?", CONTEXT, ())
    ]
    budget = _ex("Quel est le budget d'Aquanord ?", "c", "3 M€", "Le budget d'Aquanord : 3 M€.")
    chair = _ex("Quel est le président de Végépolys ?", "d", "Jean Roux", "Jean Roux préside.")
    role = _ex("Who is the chairman of Aquanord?", "e", "Jean Roux", "Jean Roux is its chairman.")
    # « the chairman » has no other noun in its slot; « le budget » takes « le président »,
    # never « d'employés » (another slot: its elision and number would give the twin away)
    made = noun_swaps([budget, chair, role, staff], 1.0, random.Random(0))
    assert [t.question for t in made] == ["Quel est le président d'Aquanord ?"]


def test_nouns_follow_an_article_and_names_never_swap() -> None:
    named = _ex("Qui est le président de Végépolys ?", "a", None)  # unanswerable: never twinned
    capital = _ex("Combien de Aquanord ?", "b")  # a name after « de » is a name, not a noun
    assert noun_swaps([named, capital], 1.0, random.Random(0)) == []
