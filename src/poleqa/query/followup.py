"""Follow-up questions ("Et en 2013 ?", "Qui le finance ?") resolved with the earlier turns."""

from __future__ import annotations

import re
from collections.abc import Sequence

from poleqa.query.timephrase import TIME, strip_end, with_time
from poleqa.types import Turn

# The small words the name-matching pattern lets into a name, at its start.
_SMALL_WORDS = re.compile(r"^(?:(?:de|du|des|la|le|et|of|the)\s+|d['’]\s*)+", re.IGNORECASE)
# « Et si un pôle perd son label ? », « Et quand… », « Et comment… »: a new question, not a
# follow-up of the previous one.
_NEW_QUESTION = re.compile(r"^\s*(?:et|and)\s+(?:si|s['’]|if|quand|comment|pourquoi)\b", re.I)
# « Et pourquoi ? », « And when? »: only another question word, asked of the previous question
# when that one opens with a question word of the same kind (« Quand le pôle a-t-il été
# rebaptisé ? » → « Pourquoi le pôle a-t-il été rebaptisé ? »); the same word in each language.
_WH_WORDS = {
    "quand": "when",
    "depuis quand": "since when",
    "comment": "how",
    "pourquoi": "why",
    "où": "where",
    "à quelle date": "when",
    "en quelle année": "in which year",
}
_WH = "|".join(
    w.replace(" ", r"\s+") for w in sorted({*_WH_WORDS, *_WH_WORDS.values()}, key=len, reverse=True)
)
# A question mark or none: « Et comment ! » is an exclamation (« you bet »), not a question.
_ONLY_WH = re.compile(rf"^\s*(?:et|and|mais|but)\s+(?P<wh>{_WH})\s*[?.]*\s*$", re.IGNORECASE)
# The question word opens a clause of its own: English « how » only before its auxiliary (« how
# many », « how often », « how far », « how come » ask something else than a manner); « où en
# est… » asks how far along, not where.
_OPENING_WH = re.compile(
    rf"^(?!how\b(?!\s+(?:do|does|did|is|are|was|were|can|could|will|would|has|have|had)\b))"
    rf"(?!où\s+en\b)(?:{_WH})\b",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"^\s*(?:et|mais|puis|aussi|and|but|what about|how about)\b[\s,]*", re.IGNORECASE
)
_PREP = re.compile(r"^(?:en|au|aux|à|a|dans|pour|pendant|in|for|at|on|during)\b\s*", re.IGNORECASE)
# A name: capitalised words joined by up to two small words (« Pays de la Loire », « Côte d'Azur »).
_CAP_SEQ = re.compile(
    r"[A-ZÀ-ÖØ-Þ][\w'’-]*"
    r"(?:\s+(?:(?:de|du|des|la|le|et|of|the)\s+){0,2}(?:d'\s*)?[A-ZÀ-ÖØ-Þ][\w'’-]*)*"
)
# Pronouns that point back at something named earlier, and « le pôle » (« du pôle », « au
# pôle ») ending its phrase: at the question's end, before its verb's inverted pronoun or a
# preposition (« Comment le pôle est-il financé ? », « Qui dirige le pôle depuis 2019 ? »), not
# when it picks among pôles (« Quel est le pôle le plus ancien ? », « … le pôle qui … »).
_PRONOUN = re.compile(
    r"\b(?:(?:il|elle|ils|elles|lui|leur|leurs|son|sa|ses|celui-ci|celle-ci|ce pôle|"
    r"cette structure|it|its|they|their|them|this cluster|that cluster)\b"
    r"|(?:le|du|au) pôle(?=\s*[?!.]*\s*$|\s+[^\W\d_]+-(?:t-)?(?:il|elle)\b"
    r"|\s+(?:depuis|en|dans|à|aux?|pour|avec|sur|entre|après|avant|par|pendant)\b))",
    re.IGNORECASE,
)
# « le, la, les, l' » are articles too (« Qui finance la politique des pôles ? » names nothing
# earlier): they count only as object pronouns, right after a question word or a subject and
# not before « de, du, des, d' ».
_OBJECT = re.compile(
    r"\b(?:qui|que|qu'|comment|pourquoi|où|quand|combien|il|elle|on|ne|n')\s*"
    r"(?:les?|la|l')(?!\s*(?:de|du|des|d')\b)(?=\s*\w)"
    # after « pour » and « à », only before an infinitive (« pour la financer »): before a
    # noun they are articles (« pour la période 2023-2026 », « à la Région »)
    r"|\b(?:pour|à)\s*(?:les?|la|l')\s*(?:[^\W\d_]*(?<!i)(?:er|ir|oir)|[^\W\d_]*ifier|faire|être)\b",
    re.IGNORECASE,
)
# « il » in « y a-t-il », « faut-il », « s'agit-il » stands for nothing (impersonal verbs), nor
# does « on » (« Combien de pôles compte-t-on ? »).
# « Qu'est-ce que le label ? », « Est-ce que la Région… »: « le », « la » there are articles.
_EST_CE_QUE = re.compile(r"\b(?:qu['’])?est-ce\s+qu(?:e\b|['’])", re.IGNORECASE)
_IMPERSONAL = re.compile(r"(?:\by a|\bfaut|\bagit)-(?:t-)?il\b|-(?:t-)?on\b", re.IGNORECASE)
# Complex inversion (« Quand la politique des pôles a-t-elle été lancée ? », « Combien les
# régions versent-elles ? »): the pronoun after the verb repeats the question's own subject,
# a noun phrase with its determiner before that verb, so neither points back.
_INVERTED = re.compile(r"(?<=\w)-(?:t-)?(?:il|elle|ils|elles)\b", re.IGNORECASE)
# An object pronoun right before the verb carrying the inverted pronoun (an article would be
# followed by its noun, not by that verb).
_CLITIC = re.compile(r"(?:\b(?:le|la|les)\s+|\bl['’])[^\W\d_]+$", re.IGNORECASE)
_SUBJECT = re.compile(
    r"\b(?:le|la|les|l['’]|un|une|des|du|ce|cet|cette|ces|son|sa|ses|leurs?)\s*[^\W\d_]+\s+",
    re.IGNORECASE,
)
# What may stand beside the name in « Et le pôle Thalassor ? », « And the Ostrevie region? »,
# « Et celui de Thalassor ? » (the demonstrative stands for what the previous question asked).
_FILLER = re.compile(
    r"^(?:(?:(?:le|la|les|du|de|des|the|of|pôle|pôles|région|region|cluster|"
    r"celui|celle|ceux|celles)\b|[ld]['’])\s*)*",  # no \b after an apostrophe: « l' » ends it
    re.IGNORECASE,
)
# « Et en Bretagne ? » after a question about a pôle named right after « pôle » (« Qui préside le
# pôle Minalogic ? ») asks about the pôle in that place: the place keeps its preposition (« le
# pôle en Bretagne », not « le pôle Bretagne »). Only « en » and « dans », which introduce places
# and never a pôle's name (« Et à Minalogic ? », « Et au pôle Medicen ? » name pôles).
_PLACE = re.compile(r"^(?:en|dans)\b", re.IGNORECASE)
# A place with its preposition, in the previous question (« dans les », « en », « à ») and in
# the follow-up: the follow-up's replaces it whole (« dans les Normandie » otherwise).
_AT_PLACE = re.compile(
    r"(?:(?<=\s)|^)(?:en|dans|à|au|aux)\s+(?:(?:le|la|les)\s+|l['’])?", re.IGNORECASE
)
_AT = re.compile(r"^(?:en|dans|à|au|aux)\b", re.IGNORECASE)
_AFTER_POLE = re.compile(r"\bpôles?\s+$", re.IGNORECASE)
# The article right before a name (« de l'Italie », « compte la Bretagne »), and one opening
# the follow-up's own noun phrase (« Et pour la région Centre ? »).
_ARTICLE_BEFORE = re.compile(r"(?:(?<=\s)|^)(?:(?:le|la|du|des|de)\s+|[ld]['’])$", re.IGNORECASE)
_ARTICLE_FIRST = re.compile(r"^(?:le|la|les)\s+\S|^l['’]\s*\S", re.IGNORECASE)
# Not h nor y: « la Haute-Savoie », « les Hauts-de-France », « les Yvelines ».
_VOWELS = frozenset("aeiouàâäéèêëîïôöùûü")
_CONTRACTION = re.compile(r"\b(?P<prep>de|à) (?P<art>le|les)\b", re.IGNORECASE)
_CONTRACTIONS = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"}
# What an elided question says after its opener: a place or a name after its preposition,
# nothing else (« Combien en Bretagne ? »; not « Combien de pôles de Bretagne ? »).
_ELIDED_PLACE = re.compile(  # the name keeps its capital: « Combien en moyenne ? » asks anew
    rf"\s*,?\s*(?i:en|dans|à|au|aux|pour|chez)\s+(?:(?i:le|la|les)\s+|(?i:l)['’]\s*)?"
    rf"{_CAP_SEQ.pattern}"
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
            # after its small words (« Et la Bretagne » names « Bretagne »)
            rest = m.group().split(None, 1)
            name = _SMALL_WORDS.sub("", rest[1]) if len(rest) == 2 else ""
            if name[:1].isupper():
                out.append(name)
            continue
        out.append(m.group().strip())
    return out


def _points_back(question: str) -> bool:
    """Whether a pronoun of the question points at something named earlier."""
    question = _IMPERSONAL.sub("", _EST_CE_QUE.sub(" ", question))
    inverted = _INVERTED.search(question)
    if inverted is None:
        return bool(_PRONOUN.search(question) or _OBJECT.search(question))
    verb = question.rfind(" ", 0, inverted.start()) + 1  # the verb carrying the pronoun
    if _SUBJECT.search(question, 0, verb) is None:
        return True  # « Quand a-t-il été créé ? »: the inverted pronoun is the subject
    if _CLITIC.search(question, 0, inverted.start()):
        return True  # « Comment les régions le financent-elles ? »: « le » is the object
    # the subject's determiner is an article, and the pronoun after the verb repeats it
    return any(
        not inverted.start() <= m.start() < inverted.end() for m in _PRONOUN.finditer(question)
    )


def resolve_follow_up(question: str, history: Sequence[Turn] = ()) -> str:
    """The question made self-contained with the previous question, or unchanged.

    - "Et en 2013 ?" after "Combien de membres depuis 2020 ?" → "Combien de membres en 2013 ?"
      (the previous question's time phrase replaced, or the new one added when it had none);
    - "Et en Bretagne ?" / "And in Centre?" → the previous question with its last name replaced
      (by « en Bretagne » when that name followed « pôle »);
    - "Qui le finance ?" (a pronoun, no name of its own) → "Qui le finance (Medicen) ?", the
      names of the previous question appended.
    """
    q = question.strip()
    if not history:
        return q
    previous = next((t.question for t in reversed(history) if t.question.strip()), "")
    if not previous:
        return q
    only_wh = _ONLY_WH.match(q)
    if only_wh is not None:
        return _asked_otherwise(previous, only_wh["wh"]) or q
    if _NEW_QUESTION.match(q):
        return q
    elided = _elided(q, previous)
    if elided is not None:  # « Combien en Bretagne ? »: « Et en Bretagne ? » said otherwise
        resolved = resolve_follow_up(elided, history)
        return q if resolved == elided else resolved
    words = re.findall(r"\w+", q)
    led = bool(_LEAD.match(q))
    own_names = _names(q)
    rest = _PREP.sub("", strip_end(_LEAD.sub("", q)))
    # 1. "Et en 2013 ?", "Et depuis 2010 ?", "Et entre 2010 et 2012 ?": only a time phrase
    asked = TIME.fullmatch(strip_end(_LEAD.sub("", q)))
    if asked is not None:
        return with_time(previous, asked)
    # 2. "Et en Bretagne ?" / "And for Medicen in 2019?": a name instead of the previous one,
    # when the follow-up says nothing more (« Et le président de Systematic ? » asks another
    # thing: left as asked)
    if led and own_names and not _QUESTION_OPENERS.match(_LEAD.sub("", q)):
        new = own_names[-1]
        tail = _FILLER.sub("", " ".join(rest.replace(new, " ", 1).split()))
        asked = TIME.fullmatch(tail) if tail else None
        if tail and asked is None:
            return q
        prev_names = _names(previous)
        if prev_names:
            swapped = _swapped(previous, prev_names[-1], strip_end(_LEAD.sub("", q)), new, rest)
        else:
            swapped = f"{strip_end(previous)} ({new}) ?"
        return with_time(swapped, asked) if asked else swapped
    # 3. "Qui le finance ?": a pronoun and no name → the previous names appended
    if not own_names and (led or len(words) <= 6 or _points_back(q)):
        prev_names = _names(previous)
        if prev_names and (led or _points_back(q)):
            context = ", ".join(dict.fromkeys(prev_names))
            return f"{strip_end(q)} ({context}) ?"
    return q


def _asked_otherwise(previous: str, wh: str) -> str | None:
    """`previous` with its opening question word replaced by `wh`, in `previous`'s language,
    or None when it does not open with one (« Combien de pôles… » + « Et pourquoi ? »)."""
    previous = previous.strip()
    opening = _OPENING_WH.match(previous)
    if opening is None:
        return None
    wh = " ".join(wh.lower().split())
    english = " ".join(opening.group().lower().split()) in _WH_WORDS.values()
    if english and wh in _WH_WORDS:
        wh = _WH_WORDS[wh]
    elif not english and wh not in _WH_WORDS:
        wh = next(fr for fr, en in _WH_WORDS.items() if en == wh)
    return wh[:1].upper() + wh[1:] + previous[opening.end() :]


def _elided(q: str, previous: str) -> str | None:
    """« Et … » for a question that opens as the previous one did and then says only a place or
    a name after its preposition, or a time (« Combien en Bretagne ? » after « Combien de pôles
    compte la Normandie ? », « Combien en 2019 ? »), else None."""
    opener = _QUESTION_OPENERS.match(q)
    body = strip_end(q[opener.end() :]) if opener else ""
    if not _ELIDED_PLACE.fullmatch(body) and not TIME.fullmatch(body):
        return None
    again = re.match(rf"{re.escape(opener.group())}\b", previous.strip(), re.IGNORECASE)
    return f"Et{q[opener.end() :]}" if again else None


def _swapped(previous: str, old: str, said: str, new: str, rest: str) -> str:
    """`previous` about `new` (the follow-up `said`, `rest` without its lead and preposition)
    instead of its last name `old`, the words around made to agree."""
    i = previous.rfind(old)
    before, after = previous[:i], previous[i + len(old) :]
    place = " ".join(said[: said.find(new) + len(new)].split())  # « en Bretagne »
    phrase = " ".join(rest[: rest.find(new) + len(new)].split())  # « la région Centre »
    if "pôle" not in place.lower():
        if _PLACE.match(said) and _AFTER_POLE.search(before):
            return before + place + after  # « le pôle en Bretagne »: the pôle of that place
        at = _AT_PLACE.search(previous, 0, i)
        if at is not None and at.end() == i and _AT.match(said):
            # « dans les Hauts-de-France » + « Et en Normandie ? » → « en Normandie »
            return previous[: at.start()] + place + after
        if at is not None and at.end() == i and _ARTICLE_FIRST.match(phrase):
            # « en Bretagne » + « Et pour la région Centre ? » → « dans la région Centre »
            return previous[: at.start()] + "dans " + phrase + after
    return _swap_name(before, after, new, phrase)


def _swap_name(before: str, after: str, new: str, phrase: str) -> str:
    """`new` between `before` and `after` (where the old name stood), its article made to
    agree: the follow-up's own article `phrase` when both have one (« de l'Italie » + « la
    région Centre » → « de la région Centre », « de l'Italie » + « le Centre » → « du
    Centre »), « de » kept and elided before a vowel (« du Grand Est » + « Occitanie » →
    « d'Occitanie », « d'Israël » → « de Bretagne »), an elision undone before a consonant
    (« compte l'Aerospace Valley » + « Minalogic » → « compte Minalogic ») or made before a
    vowel (« la Bretagne » → « l'Occitanie »)."""
    article = _ARTICLE_BEFORE.search(before)
    if article is None:
        return before + new + after
    head = before[: article.start()]
    word = article.group().strip().lower()
    of = word in ("d'", "d’", "de", "du", "des")  # « de » stays, whatever article follows
    if _ARTICLE_FIRST.match(phrase):  # « d'Israël » + « la France » → « de la France »
        return _contracted(head + ("de " if of else ""), phrase) + after
    vowel = new[:1].lower() in _VOWELS
    if of:
        return head + ("d'" if vowel else "de ") + new + after
    if word in ("l'", "l’"):
        return head + (article.group() if vowel else "") + new + after
    if word in ("le", "la") and vowel:
        return head + "l'" + new + after
    return before + new + after


def _contracted(head: str, phrase: str) -> str:
    """« de » / « à » before « le » / « les » contracted (« du », « au », « des », « aux »)."""
    joined = _CONTRACTION.search(head + phrase, max(0, len(head) - 3))
    if joined is None or joined.start("prep") + len(joined["prep"]) + 1 != len(head):
        return head + phrase
    short = _CONTRACTIONS[(joined["prep"].lower(), joined["art"].lower())]
    if joined["prep"][:1].isupper():
        short = short.capitalize()
    return head[: joined.start("prep")] + short + (head + phrase)[joined.end() :]
