"""What the citizen reads: the sentence holding an answer span, verbatim, at most 400 characters."""

from __future__ import annotations

import re

from poleqa.sentences import split_sentences

MAX_ANSWER_CHARS = 400
# What may follow an answer inside the reader's last token (« 2005, », « le 19 juin 2012. »).
_CLAUSE_MARKS = ",;:"


# Inside a word (« Infr@2050 », « 2023-2026 », « Auvergne-Rhône-Alpes »): a token boundary of
# the reader's may fall there. Not the apostrophe: « l'innovation » is two words.
_JOINERS = "@-_/.&"


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """text[start:end] widened to the words it cuts (« -2026 » → « 2023-2026 »)."""
    while start > 0 and _inside_word(text, start):
        start -= 1
    while end < len(text) and _inside_word(text, end):
        end += 1
    return start, end


def _inside_word(text: str, at: int) -> bool:
    """Whether the boundary before text[at] falls inside a word (never the text's ends: at 0,
    text[at - 1] would be its last character)."""
    if at <= 0 or at >= len(text):
        return False
    before, after = text[at - 1], text[at]
    if before.isalnum() and after.isalnum():
        return True
    if after in _JOINERS:  # « Infr|@2050 »: a joiner between two alnums
        return before.isalnum() and at + 1 < len(text) and text[at + 1].isalnum()
    if before in _JOINERS:  # « 2023-|2026 »
        return after.isalnum() and at >= 2 and text[at - 2].isalnum()
    return False


def trimmed_end(text: str, start: int, end: int) -> int:
    """The end of the span text[start:end] without the spaces and the punctuation that close its
    clause; an abbreviation's full stop stays (« S.A. », « M. », « etc. »)."""
    while end > start:
        last = text[end - 1]
        closing = last.isspace() or last in _CLAUSE_MARKS
        if not closing and not (last == "." and not _abbreviation(text[start : end - 1])):
            break
        end -= 1
    return end


def _abbreviation(before: str) -> bool:
    """Whether a full stop after `before` ends an abbreviation: a word of at most three letters
    (« M. », « av. », « etc. ») or one holding stops already (« S.A. »)."""
    word = before.split()[-1] if before.split() else ""
    return "." in word or (word.isalpha() and len(word) <= 3)


def answer_sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets in `text` of the sentence(s) holding text[start:end], cut to MAX_ANSWER_CHARS
    around the span, without list bullets, heading marks or table pipes."""
    sentences = split_sentences(text)
    first = next((s for s, e in sentences if s <= start < e), start)
    last = next((e for s, e in sentences if s < end <= e), end)
    s, e = fit_span(text, min(first, start), max(last, end), (start, end), MAX_ANSWER_CHARS)
    return strip_markup(text, s, e)


def fit_span(
    text: str, start: int, end: int, short: tuple[int, int] | None, limit: int
) -> tuple[int, int]:
    """A verbatim span of at most `limit` characters: the sentence, or the clauses around the
    short answer (or the sentence's opening) when the sentence is longer."""
    if end - start <= limit:
        return start, end
    bounds = [start]
    for m in re.finditer(r"[;:,]\s+|\s+[-–]\s+|\)\s+", text[start:end]):
        bounds.append(start + m.end())
    bounds.append(end)
    focus = short or (start, start)
    # grow clause by clause around the focus while it fits
    i = max(j for j, b in enumerate(bounds[:-1]) if b <= focus[0])
    j = min(j for j, b in enumerate(bounds) if b >= focus[1] and j > i)
    while True:
        grown = False
        if j + 1 < len(bounds) and bounds[j + 1] - bounds[i] <= limit:
            j += 1
            grown = True
        if i > 0 and bounds[j] - bounds[i - 1] <= limit:
            i -= 1
            grown = True
        if not grown:
            break
    s, e = bounds[i], bounds[j]
    if e - s > limit:  # one clause is too long by itself: a window of it around the focus
        s, e = _window(text, s, e, focus, limit)
    while e > s and text[e - 1] in " ,;:":
        e -= 1
    return s, e


def _window(text: str, start: int, end: int, focus: tuple[int, int], limit: int) -> tuple[int, int]:
    """At most `limit` characters of text[start:end] holding the focus (the clause's opening
    when the focus is empty at its start), cut on word boundaries outside the focus."""
    if focus[1] - focus[0] > limit:
        return focus[0], focus[0] + limit
    room = limit - (focus[1] - focus[0])
    lo = max(start, min(focus[0] - room // 2, end - limit))
    hi = min(end, lo + limit)
    while start < lo < focus[0] and not text[lo - 1].isspace():
        lo += 1
    while focus[1] < hi < end and not text[hi].isspace():
        hi -= 1
    return lo, hi


def strip_markup(text: str, start: int, end: int) -> tuple[int, int]:
    """Leading list bullets / heading marks / table pipes left out of the quoted answer."""
    m = re.match(r"\s*(?:#{1,6}\s+|[-*+•·▪◦–]\s+|\|\s*)", text[start:end])
    if m and m.end() < end - start:
        start += m.end()
    while end > start and text[end - 1] in " |":
        end -= 1
    return start, end
