"""Question analysis: language, expected answer type, years named, content stems."""

from __future__ import annotations

import re
from dataclasses import dataclass

from poleqa.query.language import detect_language, translate_terms
from poleqa.reading.scorer import lexicon
from poleqa.text import fold, stems

# Expected answer types.
NUMBER, DATE, PERSON, NAME, PLACE, LIST, DEFINITION, WHY, YESNO, OTHER = (
    "number",
    "date",
    "person",
    "name",
    "place",
    "list",
    "definition",
    "why",
    "yesno",
    "other",
)

# Nouns of the rules below, from data/lexicon/ (folded: the rules run on the folded question).
_QUANTITY_NOUNS = lexicon.alternation("quantity_nouns", fold)
_LIST_NOUNS = lexicon.alternation("list_nouns", fold)
_NAME_NOUNS = lexicon.alternation("name_nouns", fold)
_PLACE_NOUNS = lexicon.alternation("place_nouns", fold)

# Order matters: the first matching rule wins. Patterns run on the folded question
# (lower case, no accents, plain apostrophes).
_FR_RULES: list[tuple[str, str]] = [
    (r"\bpourquoi\b|\ben quoi\b|\bpour quelle(s)? raison", WHY),
    (r"\bcombien\b", NUMBER),
    (
        r"\b(quand|depuis quand|a quelle date|en quelle annee|quelle annee|a quel moment|"
        r"en quel mois|quel jour|de quand)\b",
        DATE,
    ),
    (
        r"\bqu'est-ce qu(e|')|\bque (signifie|veut dire|designe|recouvre)\b|"
        r"\bqu'(apporte|est)\b|\bque sont\b|\bc'est quoi\b|\ba quoi (sert|servent|correspond)|"
        r"\bcomment .*\b(definit|defini|organise|obtient|fonctionne|se deroule)",
        DEFINITION,
    ),
    # "qui" as the question word (first words, or after a preposition), not a relative pronoun
    (
        r"^(?:(?:a|par|de|avec|pour|sur|chez|et) )?qui\b(?! (est|sont) (le|la|les) (pole|nom))"
        r"|\b(?:a|par|de|avec|pour|chez) qui\b",
        PERSON,
    ),
    (r"\bou\b(?! \w+ -t-)|\bdans quelles? villes?\b|\bquelles? villes?\b", PLACE),
    (r"\bquel(le)?s? (est|etait|sont|etaient|a ete) (le|la|l'|les) " + _QUANTITY_NOUNS, NUMBER),
    (r"\bquel(le)?s? " + _QUANTITY_NOUNS + r"\b", NUMBER),
    (r"\bquel(le)?s? (est|etait) (le|la|l') ?" + _NAME_NOUNS, NAME),
    (r"\bquel(le)?s? (sont|etaient) (les )?(\w+ )?" + _LIST_NOUNS, LIST),
    (r"\b(quels|quelles) (\w+ )?" + _LIST_NOUNS, LIST),
    (r"\b(de|avec|par|a|dans|sur|pour|selon)? ?quel(le)?s? ?" + _PLACE_NOUNS + r"\b", PLACE),
    (r"\bcomment s'appel|\bquel nom\b|\bsous quel nom\b", NAME),
    (r"\b(de|avec|par|a|dans|sur|pour|selon|autour de)? ?quel(le)?s? ", NAME),
    (r"\bcomment\b", DEFINITION),
    (
        r"^(est-ce|y a-t-il|\w+(-\w+)* (est|a|sont|ont|peut|doit|dispose)"
        r"-(t-)?(il|elle|ils|elles)\b)"
        r"|-t-(il|elle)\b",
        YESNO,
    ),
]

_EN_RULES: list[tuple[str, str]] = [
    (r"\bwhy\b", WHY),
    (
        r"\bhow (many|much)\b|\bwhat (share|percentage|proportion|amount|number|budget|sum|part)\b|"
        r"\bhow large\b|\bhow big\b",
        NUMBER,
    ),
    (r"\bwhen\b|\bwhat (year|date|day|month)\b|\bsince when\b|\bin which year\b", DATE),
    (r"\bwho\b|\bwhom\b", PERSON),
    (r"\bwhere\b|\b(which|what) (cities|city|region|regions|town|towns|country|place)\b", PLACE),
    (r"\bwhat (is|are|was|were) (a|an|the)? ?(name|names)\b|\bcalled\b", NAME),
    (r"\bwhat (does|do|did) .* (mean|stand for)\b|\bwhat is an?\b|\bdefine\b", DEFINITION),
    (r"\b(which|what) \w+s\b (are|were|do|does)", LIST),
    (r"\b(which|what)\b", NAME),
    (r"^(is|are|does|do|did|was|were|has|have|can)\b", YESNO),
]

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_SINCE = re.compile(
    r"\b(?:depuis|since)\s+(?:(?:le|l'|la|les|the|debut|fin|mi-)\s*)?(?:\w+\s+)?"
    r"(1[89]\d\d|20\d\d)\b"
)
# a year after a capitalised word other than the first one or a month is part of a name
_NAMED_YEAR = re.compile(r"(?<=\S\s)([A-ZÀ-ÖØ-Þ][\w'’-]+)\s+(1[89]\d\d|20\d\d)\b")
_MONTHS = frozenset(lexicon.words("months_folded"))


def undated_years(question: str) -> tuple[int, ...]:
    """Years of the question that do not date its answer (see QuestionAnalysis.undated)."""
    since = [int(y) for y in _SINCE.findall(fold(question))]
    named = [int(y) for w, y in _NAMED_YEAR.findall(question) if fold(w) not in _MONTHS]
    return tuple(dict.fromkeys(since + named))


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CAPITALISED = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w'’-]*[A-Za-zÀ-ÿ0-9]")

# Question words and generic verbs: never "key" content words.
_QUESTION_STEMS = lexicon.stem_set("question_words_fr", keep_stopwords=True) | frozenset(
    lexicon.words("question_words_en")
)


@dataclass(frozen=True)
class QuestionAnalysis:
    """What the answerer needs to know about a question."""

    text: str
    language: str  # "fr" | "en"
    qtype: str
    years: tuple[int, ...]
    numbers: tuple[str, ...]  # numbers written in the question (never the answer)
    stems: tuple[str, ...]  # content stems (with English→French expansion)
    proper: tuple[str, ...]  # folded capitalised words of the question (not the first word)
    folded: str
    head: tuple[str, ...] = ()  # stems of the noun the question asks for ("combien d'adhérents")
    # stems of what holds the quantity asked: "combien de salariés compte l'équipe" → equip
    owner: tuple[str, ...] = ()
    # stems of the event a date question asks about: "quand … a-t-il fusionné" → fusionn
    event: tuple[str, ...] = ()
    # years that do not date the answer: the start of a period ("depuis 2005", "since 2018")
    # or part of a name ("France 2030", "Horizon 2020")
    undated: tuple[int, ...] = ()

    @property
    def dated_years(self) -> tuple[int, ...]:
        """The years the answer must be dated by."""
        return tuple(y for y in self.years if y not in self.undated)


# The noun a question asks for: after "combien de", "quel(le)(s) [est le] [montant de]", "how
# many", "which", with the word after it ("budget annuel", "spécialistes bénévoles").
_HEAD_FR = re.compile(
    r"\bcombien (?:de |d')(\w+)(?: ?(?:de |d')(\w+))?(?: (\w+))?"
    r"|\bquel(?:le)?s? (?:(?:est|sont|etait|etaient|a ete) )?(?:(?:le|la|les|l') ?)?"
    r"(?:(?:montant|somme|chiffre|nombre|total|cout|valeur) (?:de |d'|des |du )"
    r"(?:(?:la|le|les|l') ?)?)?"
    r"([\w-]+)(?: ([\w-]+))?"
)
# a conjugated verb or an adverb is not part of the noun asked for ("quel projet associait …",
# "combien de projets environ")
_VERB_ENDING = re.compile(r"\w{3,}(?:ent|ait|aient|ont)$|environ|encore|desormais|deja|donc")
_HEAD_EN = re.compile(r"\bhow many (\w+)(?: (\w+))?|\b(?:which|what) (\w+)(?: (\w+))?")


# A past participle of the question ("fusionné", "lancée"): a word ending in é / ée / és / ées
# that no determiner or preposition introduces (those are nouns: "la société", "de compétitivité",
# "en assemblée générale").
_PARTICIPLE = re.compile(
    r"(?<![\w'’-])(?<!\ble )(?<!\bla )(?<!\bles )(?<!\bde )(?<!\bdu )(?<!\bdes )(?<!\bun )"
    r"(?<!\bune )(?<!\bsa )(?<!\bson )(?<!\bses )(?<!\ben )(?<!\bau )(?<!\baux )(?<!\bpar )"
    r"([a-zà-ÿ]+(?:é|ée|és|ées))\b"
)


def event_stems(question: str, qtype: str) -> tuple[str, ...]:
    """Stems (3 letters at least) of the events a date question asks about."""
    if qtype != DATE:
        return ()
    words = [w for w in _PARTICIPLE.findall(question) if w != "été"]
    return tuple(s for s in stems(" ".join(words)) if len(s) >= 3 and s not in _QUESTION_STEMS)


# "combien de X compte / emploie / réunit <det> Y": Y holds the X counted
_OWNER_FR = re.compile(
    r"\bcombien (?:de |d')\w+ .*?\b(?:compte|comptait|comptent|emploie|employait|reunit|"
    r"reunissait|regroupe|regroupait|rassemble|rassemblait)(?:-t-(?:il|elle))? "
    r"(?:le |la |l'|les |un |une |son |sa |ses )(\w+)"
)


def owner_stems(question: str, language: str) -> tuple[str, ...]:
    """Stems of the common noun that holds the quantity a French "combien" question asks for."""
    if language == "en":
        return ()
    m = _OWNER_FR.search(fold(question))
    return tuple(s for s in stems(m.group(1)) if s not in _QUESTION_STEMS) if m else ()


def head_stems(question: str, language: str) -> tuple[str, ...]:
    """Stems of the noun (or adjective + noun) the question asks for: the word after
    "combien de" or "quel(le)(s) [est le]"; empty when the question names none."""
    q = fold(question)
    if language == "en":
        m = _HEAD_EN.search(q)
        if m is None:
            return ()
        # two words, so that a phrase the glossary knows is translated whole ("competitiveness
        # clusters"); only the translation counts (English words are not in the documents)
        _, extra = translate_terms(" ".join(g for g in m.groups() if g))
        found = stems(" ".join(extra))
    else:
        m = _HEAD_FR.search(q)
        if m is None:
            return ()
        words = [g for g in m.groups() if g]
        found = stems(" ".join(words[:1] + [w for w in words[1:] if not _VERB_ENDING.match(w)]))
    return tuple(dict.fromkeys(s for s in found if s not in _QUESTION_STEMS and not s.isdigit()))


def expected_type(question: str, language: str | None = None) -> str:
    """The expected answer type of a question (see the module constants)."""
    lang = language or detect_language(question)
    q = fold(question)
    for pattern, qtype in _EN_RULES if lang == "en" else _FR_RULES:
        if re.search(pattern, q):
            return qtype
    return OTHER


def _name_stems(question: str) -> set[str]:
    """Stems of the capitalised words of the question after its first word, apostrophes and
    hyphens included ("d'Auvergne-Rhône-Alpes" → auvergn, rhon, alpe)."""
    words = re.findall(r"[^\W_]+", question)[1:]
    return set(stems(" ".join(w for w in words if w[:1].isupper())))


def analyze(question: str) -> QuestionAnalysis:
    lang = detect_language(question)
    qtype = expected_type(question, lang)
    years = tuple(int(y) for y in _YEAR.findall(question))
    numbers = tuple(n for n in _NUMBER.findall(question) if not _YEAR.fullmatch(n))
    rest = ""
    if lang == "en":
        # the French equivalents replace the English words they translate
        rest, extra = translate_terms(question)
        expanded = rest + " " + " ".join(extra)
    else:
        expanded = question
    content = [s for s in stems(expanded) if s not in _QUESTION_STEMS and not s.isdigit()]
    seen: dict[str, None] = dict.fromkeys(content)
    toks = list(re.finditer(r"[\w'’-]+", question))
    proper = tuple(
        dict.fromkeys(
            fold(m.group()).split("'")[-1]
            for i, m in enumerate(toks)
            if i > 0 and _CAPITALISED.fullmatch(m.group()) and len(m.group()) > 1
        )
    )
    if lang == "en":
        # capitalised English words the glossary translates ("State" → État) are not names
        left = set(rest.split())
        proper = tuple(p for p in proper if all(w in left for w in re.findall(r"\w+", p)))
    names = _name_stems(question)
    return QuestionAnalysis(
        text=question,
        language=lang,
        qtype=qtype,
        years=years,
        numbers=numbers,
        stems=tuple(seen),
        proper=proper,
        folded=fold(question),
        # the names of the question are what it asks about, not the thing asked for
        head=tuple(h for h in head_stems(question, lang) if h not in names),
        owner=tuple(o for o in owner_stems(question, lang) if o not in names),
        event=event_stems(question, qtype),
        undated=undated_years(question),
    )
