"""French text helpers for indexing, answering and evaluation: folding, stems, numbers."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_FRENCH

# One character in, one character out: offsets computed on the normalised text stay valid
# on the original text, so citations point at the original characters.
_SAME_LENGTH = str.maketrans(
    {
        "\u2019": "'",  # typographic apostrophe
        "\u2018": "'",
        "\u02bc": "'",
        "\u00a0": " ",  # non-breaking space
        "\u202f": " ",  # narrow non-breaking space
        "\u2007": " ",
        "\u2009": " ",
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u00ab": '"',
        "\u00bb": '"',
        "\u201c": '"',
        "\u201d": '"',
    }
)

_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_for_matching(text: str) -> str:
    """Apostrophes, quotes, dashes and non-breaking spaces made plain; same length as `text`."""
    return text.translate(_SAME_LENGTH)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, no accents, plain punctuation, single spaces (for comparing strings)."""
    text = strip_accents(normalize_for_matching(text)).casefold()
    return re.sub(r"\s+", " ", text).strip()


# One stemmer per thread: PyStemmer's must not be called concurrently (the server answers in
# several threads); it is safe today only because its C code never releases the GIL.
_per_thread = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_per_thread, "stemmer", None)
    if stemmer is None:
        stemmer = _per_thread.stemmer = Stemmer.Stemmer("french")
    return stemmer


STOPWORDS: frozenset[str] = frozenset(fold(w) for w in STOPWORDS_FRENCH) | frozenset(
    # English question words and frequent words, so that English questions match on content words
    "the a an of in on at to for by with is are was were be been does do did has have had how "
    "what which who whom when where why many much and or its it this that these those there "
    "de la le les des du un une et en au aux".split()
)


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    """French Snowball stem of one folded word (memoised: answering stems on its hot path)."""
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    """Folded word tokens with French elisions removed (l'État → etat)."""
    return [w for raw in _WORD.findall(normalize_for_matching(text)) if (w := fold(raw))]


def stems(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Stems of the content words of `text` (French Snowball stemmer, accents folded)."""
    toks = [w for w in words(text) if keep_stopwords or (w not in STOPWORDS and len(w) > 1)]
    return _stemmer().stemWords(toks)


def thousands_fr(n: int) -> str:
    """« 5 000 »: French groups digits by three with a narrow no-break space."""
    return f"{n:,}".replace(",", "\u202f")
