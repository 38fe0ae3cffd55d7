"""Follow-up questions resolved with the previous turn (exact strings)."""

from __future__ import annotations

import pytest

from poleqa.query.followup import resolve_follow_up
from poleqa.types import Turn

MEMBERS = (Turn("Combien de membres Finance Innovation comptait-il en 2012 ?", "230 membres"),)
AURA = (Turn("Combien de pôles de compétitivité compte la région Auvergne-Rhône-Alpes ?"),)


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("Et en 2013 ?", MEMBERS, "Combien de membres Finance Innovation comptait-il en 2013 ?"),
        ("And in 2020?", MEMBERS, "Combien de membres Finance Innovation comptait-il en 2020 ?"),
        ("Qui le préside ?", MEMBERS, "Qui le préside (Finance Innovation) ?"),
        ("Et pour Medicen ?", MEMBERS, "Combien de membres Medicen comptait-il en 2012 ?"),
        ("Et en Bretagne ?", AURA, "Combien de pôles de compétitivité compte la région Bretagne ?"),
        ("And in Centre?", AURA, "Combien de pôles de compétitivité compte la région Centre ?"),
        (
            "Et en 2013 ?",
            AURA,
            "Combien de pôles de compétitivité compte la région Auvergne-Rhône-Alpes en 2013 ?",
        ),
        # self-contained questions are left alone
        ("Combien de pôles compte la Bretagne ?", AURA, "Combien de pôles compte la Bretagne ?"),
        ("Et en 2013 ?", (), "Et en 2013 ?"),
    ],
)
def test_resolve_follow_up(question: str, history: tuple[Turn, ...], expected: str) -> None:
    assert resolve_follow_up(question, history) == expected
