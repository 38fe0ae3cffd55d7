"""Sentence splitting with exact offsets, and each sentence's context (title, heading, table)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poleqa.types import Document

# A line that stands on its own: heading, bold-only line, table row, list item, rule.
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)[^*_].*(\*\*|__)\s*:?\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]*-{2,}[\s:|-]*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•·▪◦–]|\d{1,3}[.)])\s+\S")
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")

# Sentence end inside a block: . ! ? … (and closing quotes/brackets), spaces, then something that
# can start a sentence (capital, digit, quote, bracket, dash).
_END = re.compile(r"([.!?…]+[\"»”)\]]*)(\s+)(?=[«\"“(\[A-ZÀ-ÖØ-Þ0-9*_-])")

# Words after which a period does not end the sentence (French and English abbreviations).
_ABBREVIATIONS = frozenset(
    """
    m mm mme mmes mlle mlles dr pr me mgr st ste sté cie ets
    janv fév févr avr juil sept oct nov déc dec jan feb mar apr jun jul aug sep
    art al cf p pp n no nos vol fig chap éd ed ex env etc. approx min max réf ref tél tel
    av apr hab mds md mrd mrds mio ss suiv resp dir coll inc ltd co corp vs
    """.split()
)


_UPPER_CHARS = re.compile(r"[A-ZÀ-ÖØ-Þ]")
_LOWER_CHARS = re.compile(r"[a-zß-öø-ÿ]")


def _is_title_line(line: str) -> bool:
    """A short line in capitals that heads what follows (plain text: "QU'EST-CE QU'UN POLE ?")."""
    s = line.strip()
    if not 0 < len(s) <= 90:
        return False
    upper = len(_UPPER_CHARS.findall(s))
    lower = len(_LOWER_CHARS.findall(s))
    return upper + lower >= 3 and upper / (upper + lower) > 0.8


def _line_kind(line: str) -> str:
    if not line.strip():
        return "blank"
    if _TABLE_RULE.match(line) and "-" in line and not any(c.isalnum() for c in line):
        return "skip"
    if _RULE.match(line):
        return "skip"
    if _HEADING.match(line) or _BOLD_LINE.match(line) or _is_title_line(line):
        return "heading"
    if _TABLE_ROW.match(line):
        return "row"
    if _LIST_ITEM.match(line):
        return "item"
    return "text"


def _lines(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each line of text[start:end], without the newline."""
    out, pos = [], start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        out.append((pos, stop, _line_kind(text[pos:stop])))
        pos = stop + 1
    return out


def _blocks(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Paragraphs (wrapped lines joined), list items with their continuation lines, and lines
    that stand alone (headings, table rows)."""
    blocks: list[list] = []
    for s, e, kind in _lines(text, start, end):
        if kind in ("blank", "skip"):
            blocks.append([s, e, "break"])
        elif kind == "text" and blocks and blocks[-1][2] in ("text", "item"):
            blocks[-1][1] = e  # continuation of a wrapped paragraph or list item
        else:
            blocks.append([s, e, kind])
    return [(s, e, k) for s, e, k in blocks if k != "break"]


def _ends_with_abbreviation(text: str, dot: int) -> bool:
    """True when the period at `dot` ends an abbreviation or an initial (M. Dupont, janv. 2020)."""
    m = re.search(r"([\w°]+)\.?$", text[max(0, dot - 12) : dot])
    if not m:
        return False
    word = m.group(1)
    if len(word) == 1 and word.isalpha():  # an initial: "J. Dupont", "p. 12"
        return True
    return word.casefold() in _ABBREVIATIONS or word.casefold() in ("n°",)


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and (text[s].isspace()):
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _split_block(text: str, s: int, e: int) -> list[tuple[int, int]]:
    spans, pos = [], s
    for m in _END.finditer(text, s, e):
        dot = m.start(1)
        if text[dot] == "." and _ends_with_abbreviation(text, dot):
            continue
        # "1. " at the very start of a block is a list number, not a sentence
        if m.end(1) - pos <= 4 and text[pos : m.start(1)].strip().isdigit():
            continue
        spans.append((pos, m.end(1)))
        pos = m.end(2)
    spans.append((pos, e))
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets into `text` of the sentences of text[start:end], spaces trimmed.

    Headings, table rows and list items are units of their own; a paragraph wrapped over several
    lines is joined; periods after abbreviations (M., janv., art., n°…) and initials do not split.
    """
    end = len(text) if end is None else end
    out = []
    for bs, be, kind in _blocks(text, start, end):
        pieces = [(bs, be)] if kind in ("heading", "row") else _split_block(text, bs, be)
        for s, e in pieces:
            s, e = _trim(text, s, e)
            if e > s and any(c.isalnum() for c in text[s:e]):
                out.append((s, e))
    return out


# -- context ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a sentence needs to be understood alone: its section heading and its table header."""

    heading: str | None
    table_header: tuple[str, ...] | None


def clean_inline(text: str) -> str:
    """Markdown decorations removed (#, **, list bullets, table pipes), spaces collapsed."""
    t = re.sub(r"^\s*#{1,6}\s+", "", text)
    t = re.sub(r"^\s*(?:[-*+•·▪◦–])\s+", "", t)
    t = t.replace("**", "").replace("__", "")
    if _TABLE_ROW.match(t):
        t = " ; ".join(c.strip() for c in t.strip().strip("|").split("|"))
    return re.sub(r"\s+", " ", t).strip()


def table_cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_rule(text: str, lines: list[tuple[int, int, str]], i: int) -> bool:
    """Whether line i is a table's rule line (« |---|---| »)."""
    return i < len(lines) and lines[i][2] == "skip" and "-" in text[lines[i][0] : lines[i][1]]


class _DocumentLines:
    """Each line of a document with the heading above it and, for table rows, the table header:
    built in one pass, so the context of any sentence is a binary search away."""

    def __init__(self, text: str, body_start: int) -> None:
        self.starts: list[int] = []
        self.contexts: list[Context] = []
        heading: str | None = None
        header: tuple[str, ...] | None = None
        in_table = False
        lines = _lines(text, body_start, len(text))
        for i, (s, e, kind) in enumerate(lines):
            line = text[s:e]
            is_row = bool(_TABLE_ROW.match(line))
            # As in Markdown, a table's first row is its header only when a rule line (« |---|
            # ») follows it: HTML and Word tables without a header row are written without one.
            heads = is_row and not in_table and _is_rule(text, lines, i + 1)
            if is_row and not in_table:
                header = tuple(table_cells(line)) if heads else None
            in_table = is_row
            self.starts.append(s)
            under = header if is_row and not heads else None
            self.contexts.append(Context(heading=heading, table_header=under))
            if kind == "heading":
                heading = clean_inline(line)

    def at(self, offset: int) -> Context:
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.contexts[i] if i >= 0 else Context(None, None)


@lru_cache(maxsize=16)
def _document_lines(text: str, body_start: int) -> _DocumentLines:
    # keyed on the text itself: Python caches a string's hash, and a hit compares identity first
    return _DocumentLines(text, body_start)


def context_of(text: str, start: int, body_start: int = 0) -> Context:
    """The nearest heading above `start` and, for a table row, the table's header row."""
    return _document_lines(text, body_start).at(start)


def unit_text(text: str, start: int, end: int, body_start: int = 0) -> str:
    """The sentence as plain words; a table row is read with its column names."""
    raw = text[start:end]
    if _TABLE_ROW.match(raw):
        ctx = context_of(text, start, body_start)
        cells = table_cells(raw)
        if ctx.table_header and len(ctx.table_header) == len(cells) and len(cells) > 2:
            # First column labels the row; the others are read with their column names.
            pairs = [cells[0]] + [
                f"{h} : {c}" if h else c
                for h, c in zip(ctx.table_header[1:], cells[1:], strict=True)
                if c
            ]
            return " ; ".join(p for p in pairs if p)
        if len(cells) == 2:
            return f"{cells[0]} : {cells[1]}" if cells[0] else cells[1]
        return " ; ".join(c for c in cells if c)
    return clean_inline(raw)


def embedding_text(doc: Document, start: int, end: int) -> str:
    """What is embedded for the sentence document.text[start:end]: "Titre — section — phrase"."""
    parts = [doc.info.title]
    if _line_kind(doc.text[start:end].split("\n", 1)[0]) == "heading":
        parts.append(clean_inline(doc.text[start:end]))
        return " — ".join(p for p in parts if p)
    ctx = context_of(doc.text, start, doc.body_start)
    if ctx.heading and ctx.heading != doc.info.title:
        parts.append(ctx.heading)
    parts.append(unit_text(doc.text, start, end, doc.body_start))
    return " — ".join(p for p in parts if p)
