"""The question's language, and English policy words given their French equivalents."""

from __future__ import annotations

import re

from poleqa.text import words

# Domain vocabulary English → French, added to the lexical side of English questions (BM25 runs
# on French stems; the dense side is multilingual already). Policy vocabulary, not answers.
GLOSSARY_EN_FR: dict[str, str] = {
    "competitiveness cluster": "pôle de compétitivité",
    "competitiveness clusters": "pôles de compétitivité",
    "cluster": "pôle",
    "clusters": "pôles",
    "members": "membres adhérents",
    "member": "membre adhérent",
    "chairs": "préside président",
    "chaired": "présidé président",
    "chair": "président préside",
    "president": "président",
    "chairman": "président",
    "head": "directeur président",
    "director": "directeur",
    "founded": "créé fondé création",
    "created": "créé création",
    "creation": "création",
    "launched": "lancé lancement",
    "label": "label labellisé",
    "labelled": "labellisé label",
    "labeled": "labellisé label",
    "projects": "projets",
    "project": "projet",
    "funding": "financement financé",
    "funded": "financé financement",
    "financing": "financement",
    "private": "privé privés",
    "public": "public publics",
    "budget": "budget",
    "turnover": "chiffre d'affaires",
    "revenue": "chiffre d'affaires",
    "export": "exporte export",
    "exports": "exporte export",
    "share": "part",
    "money": "euros millions milliards",
    "raised": "levé levées",
    "merged": "fusionné fusion",
    "merger": "fusion",
    "office": "siège",
    "headquarters": "siège",
    "registered": "social",
    "city": "ville",
    "cities": "villes",
    "staff": "équipe salariés",
    "employees": "salariés emplois",
    "jobs": "emplois",
    "team": "équipe",
    "region": "région",
    "regional": "régional",
    "state": "état",
    "government": "état gouvernement",
    "startups": "start-up startups jeunes pousses",
    "startup": "start-up jeune pousse",
    "programme": "programme",
    "program": "programme",
    "industry": "industrie filière",
    "research": "recherche",
    "innovation": "innovation",
    "solar": "solaire",
    "power": "énergie",
    "plant": "centrale",
    "contributed": "contribué apport",
    "contribute": "contribue apport",
    "average": "moyen moyenne",
    "management": "gouvernance animation",
    "structure": "structure",
    "steers": "pilote pilotage",
    "steer": "pilote pilotage",
    "local": "local territoire",
    "level": "niveau échelon",
    "year": "année",
    "since": "depuis",
    "name": "nom",
    "called": "nom appelé",
    "theme": "thématique thème",
    "themes": "thématiques thèmes",
    "signed": "signé signature",
    "contract": "contrat",
    "performance": "performance",
    "phase": "phase",
    "call": "appel",
    "tender": "appel à projets",
    "network": "réseau",
    "companies": "entreprises",
    "company": "entreprise",
    "firms": "entreprises",
    "smes": "PME",
    "sme": "PME",
    "laboratories": "laboratoires",
    "universities": "universités",
    "million": "millions",
    "billion": "milliards",
    "thousand": "mille",
    "back": "remise",
    "use": "service",
    "help": "aidé contribué",
    # months, so that "in December 2024" finds "décembre 2024" ("may" is too often a verb)
    "january": "janvier",
    "february": "février",
    "march": "mars",
    "april": "avril",
    "june": "juin",
    "july": "juillet",
    "august": "août",
    "september": "septembre",
    "october": "octobre",
    "november": "novembre",
    "december": "décembre",
}

_GLOSSARY_KEYS = sorted(GLOSSARY_EN_FR, key=len, reverse=True)


def translate_terms(query: str) -> tuple[str, list[str]]:
    """(the folded query without its glossary words, their French equivalents)."""
    folded = " " + " ".join(words(query)) + " "
    extra = []
    for key in _GLOSSARY_KEYS:
        if f" {key} " in folded:
            extra.append(GLOSSARY_EN_FR[key])
            folded = folded.replace(f" {key} ", " ")
    return folded.strip(), extra


def expand_query(query: str, language: str) -> str:
    """The query plus French equivalents of English domain words (lexical side only)."""
    if language != "en":
        return query
    _, extra = translate_terms(query)
    return query + " " + " ".join(extra) if extra else query


_EN_MARKERS = frozenset(
    "the what which who whom when where why how does did do is are was were has have had "
    "of in many much since its their and with for from by".split()
)
_FR_MARKERS = frozenset(
    "le la les des du un une et est sont quel quelle quels quelles qui quand où combien pourquoi "
    "comment que qu dans pour par avec sur au aux ce cette ses leur il elle a été".split()
)


def detect_language(text: str) -> str:
    """ "en" when English function words outnumber French ones, else "fr"."""
    toks = re.findall(r"[a-zà-ÿ]+", text.casefold())
    en = sum(t in _EN_MARKERS for t in toks)
    fr = sum(t in _FR_MARKERS for t in toks) + 2 * bool(re.search(r"[éèêàçùôî]", text.casefold()))
    return "en" if en > fr else "fr"
