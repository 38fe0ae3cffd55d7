"""Follow-up questions ("Et en 2013 ?", "Qui le finance ?") resolved with the earlier turns."""

from __future__ import annotations

import re
from collections.abc import Sequence

from poleqa.types import Turn

_YEAR = re.compile(r"\b(?:1[89]|20)\d\d(?:\s*[-–]\s*(?:1[89]|20)\d\d)?\b")
_LEAD = re.compile(
    r"^\s*(?:et|mais|puis|aussi|and|but|what about|how about)\b[\s,]*", re.IGNORECASE
)
_PREP = re.compile(r"^(?:en|au|aux|à|a|dans|pour|pendant|in|for|at|on|during)\b\s*", re.IGNORECASE)
_CAP_SEQ = re.compile(
    r"[A-ZÀ-ÖØ-Þ][\w'’-]*(?:\s+(?:de|du|des|d'|la|le|et|of|the)?\s*[A-ZÀ-ÖØ-Þ][\w'’-]*)*"
)
# Pronouns that point back at something named earlier.
_ANAPHORA = re.compile(
    r"\b(?:il|elle|ils|elles|le|la|les|lui|leur|leurs|son|sa|ses|celui-ci|celle-ci|ce pôle|"
    r"cette structure|it|its|they|their|them|this cluster|that cluster)\b",
    re.IGNORECASE,
)
_QUESTION_OPENERS = re.compile(
    r"^(?:qui|que|quoi|quel|quelle|quels|quelles|combien|quand|où|comment|pourquoi|"
    r"who|what|which|when|where|how|why)\b",
    re.IGNORECASE,
)


def _names(text: str) -> list[str]:
    """Capitalised sequences of a question, its first word excepted (sentence capital)."""
    out = []
    for m in _CAP_SEQ.finditer(text):
        if m.start() == len(text) - len(text.lstrip()):
            # the opening word is capitalised anyway: keep what follows it, if capitalised
            rest = m.group().split(None, 1)
            if len(rest) == 2 and rest[1][:1].isupper():
                out.append(rest[1])
            continue
        out.append(m.group().strip())
    return out


def _strip_end(text: str) -> str:
    return text.strip().rstrip(" ?!.").strip()


def resolve_follow_up(question: str, history: Sequence[Turn] = ()) -> str:
    """The question made self-contained with the previous question, or unchanged.

    - "Et en 2013 ?" after "Combien de membres en 2020 ?" → "Combien de membres en 2013 ?"
      (the year replaced, or added when the previous question had none);
    - "Et en Bretagne ?" / "And in Centre?" → the previous question with its last name replaced;
    - "Qui le finance ?" (a pronoun, no name of its own) → "Qui le finance (Medicen) ?", the
      names of the previous question appended.
    """
    q = question.strip()
    if not history:
        return q
    previous = next((t.question for t in reversed(history) if t.question.strip()), "")
    if not previous:
        return q
    words = re.findall(r"\w+", q)
    led = bool(_LEAD.match(q))
    own_names = _names(q)
    rest = _PREP.sub("", _strip_end(_LEAD.sub("", q)))
    # 1. "Et en 2013 ?": only a year (or a range)
    if (led or len(words) <= 3) and _YEAR.fullmatch(rest or ""):
        if _YEAR.search(previous):
            return (
                _YEAR.sub(rest, previous, count=1)
                if len(_YEAR.findall(previous)) == 1
                else (_replace_last(previous, _YEAR, rest))
            )
        return f"{_strip_end(previous)} en {rest} ?"
    # 2. "Et en Bretagne ?" / "And for Medicen?": a name instead of the previous one
    if led and own_names and not _QUESTION_OPENERS.match(_LEAD.sub("", q)):
        prev_names = _names(previous)
        new = own_names[-1]
        if prev_names:
            old = prev_names[-1]
            i = previous.rfind(old)
            return previous[:i] + new + previous[i + len(old) :]
        return f"{_strip_end(previous)} ({rest}) ?"
    # 3. "Qui le finance ?": a pronoun and no name → the previous names appended
    if not own_names and (led or len(words) <= 6 or _ANAPHORA.search(q)):
        prev_names = _names(previous)
        if (prev_names and _ANAPHORA.search(q)) or (prev_names and led):
            context = ", ".join(dict.fromkeys(prev_names))
            return f"{_strip_end(q)} ({context}) ?"
    return q


def _replace_last(text: str, pattern: re.Pattern[str], new: str) -> str:
    matches = list(pattern.finditer(text))
    m = matches[-1]
    return text[: m.start()] + new + text[m.end() :]
