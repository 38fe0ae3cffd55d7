"""A PDF page's text as a reader writes it: wrapped lines joined, paragraphs, headings, lists and
ruled tables as in Markdown, from the positions and sizes pdfplumber (pdfminer) gives."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# A line in a font this much larger than the body's is a heading (« ## »).
_HEADING_SIZE = 1.15
# A gap between two lines this much wider than the document's usual one between the lines of
# a paragraph separates two paragraphs (the lines of one paragraph are evenly spaced).
_PARAGRAPH_GAP = 1.3
# The lines of one heading are at most this share of their size apart.
_HEADING_WRAP = 0.6
_BULLET = re.compile(r"^[•◦▪▫●○■□‣⁃∙·*–—-]\s+")
_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_CELL_NUMBER = re.compile(r"^[\d\s.,%€$+/-]*\d[\d\s.,%€$+/-]*$")
_END_OF_SENTENCE = re.compile(r"[.!?:;»)\]]$")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Line:
    """One line of text on a page, outside its tables."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # its characters' most common font size
    first_word: float  # the width of its first word: it would have fitted on the line before


@dataclass(frozen=True)
class Table:
    """A ruled table of a page, as rows of cells."""

    top: float
    rows: tuple[tuple[str, ...], ...]
    bold_head: bool = False  # its first row in bold, the rest not: the columns' names


@dataclass(frozen=True)
class Page:
    lines: tuple[Line, ...]
    tables: tuple[Table, ...]
    right: float  # where the page's full lines end


def read_page(page: Any) -> Page:
    """The lines and ruled tables of a pdfplumber page (the words inside a table are its), in
    the order the PDF writes them: a page in two columns is read column after column."""
    found = page.find_tables()
    boxes = [t.bbox for t in found]
    tables = tuple(
        Table(t.bbox[1], tuple(_cells(row) for row in t.extract() if any(row)), _bold_head(page, t))
        for t in found
    )
    words = [
        w
        for w in page.extract_words(use_text_flow=True, extra_attrs=["size"])
        if not any(_inside(w, box) for box in boxes)
    ]
    lines = [_line(group) for group in _line_groups(words)]
    right = max((line.x1 for line in lines), default=0.0)
    if lines:  # a page's text area: its margins are alike, even where no line reaches the right
        right = max(right, page.width - min(line.x0 for line in lines))
    return Page(tuple(lines), tables, right)


def _inside(word: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x, y = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _line_groups(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Words in writing order cut into lines: a word below the last one, above it (the next
    column) or back to its left starts a line."""
    groups: list[list[dict[str, Any]]] = []
    for w in words:
        last = groups[-1][-1] if groups else None
        same = (
            last is not None
            and abs(w["top"] - last["top"]) <= 0.5 * max(w["size"], last["size"])
            and w["x0"] >= last["x0"]
        )
        if same:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups


def _line(words: list[dict[str, Any]]) -> Line:
    sizes = Counter({round(w["size"], 1): len(w["text"]) for w in words})
    return Line(
        " ".join(w["text"] for w in words),  # the spaces of justified lines, collapsed
        min(w["x0"] for w in words),
        max(w["x1"] for w in words),
        min(w["top"] for w in words),
        max(w["bottom"] for w in words),
        size=sizes.most_common(1)[0][0],
        first_word=words[0]["x1"] - words[0]["x0"],
    )


def _bold_head(page: Any, table: Any) -> bool:
    """Whether the table's first row is set in bold and its next one is not."""
    if len(table.rows) < 2:
        return False
    fonts = [
        {c["fontname"] for c in page.crop(row.bbox).chars if not c["text"].isspace()}
        for row in table.rows[:2]
    ]
    return (
        bool(fonts[0])
        and all(_BOLD.search(f) for f in fonts[0])
        and not all(_BOLD.search(f) for f in fonts[1])
    )


def _cells(row: Sequence[str | None]) -> tuple[str, ...]:
    return tuple(" ".join((cell or "").split()).replace("|", "/") for cell in row)


@dataclass(frozen=True)
class Style:
    """What the whole document tells about its lines: the body's font size, the usual gap
    between the lines of a paragraph, and the words it writes whole."""

    body: float
    leading: float
    words: frozenset[str]


def document_style(pages: Sequence[Page]) -> Style:
    sizes: Counter[float] = Counter()
    gaps: Counter[float] = Counter()
    words: set[str] = set()
    for page in pages:
        for line in page.lines:
            sizes[line.size] += len(line.text)
            words.update(w.lower() for w in _WORD.findall(line.text))
        for a, b in zip(page.lines, page.lines[1:], strict=False):
            if a.size == b.size and b.top >= a.bottom:
                gaps[round(b.top - a.bottom, 1)] += 1
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    leading = gaps.most_common(1)[0][0] if gaps else 0.0
    return Style(body, leading, frozenset(words))


def page_text(page: Page, style: Style) -> str:
    """The page as text: paragraphs apart by a blank line, a paragraph's wrapped lines joined,
    larger lines as « ## » headings, bulleted lines as « - » items, tables as « | a | b | »
    rows (a rule line under a first row that names the columns)."""
    out: list[str] = []
    previous: Line | None = None
    for item in _in_order(page):
        if isinstance(item, Table):
            out += ["\n\n" if out else "", _table_text(item)]
            previous = None
            continue
        heading = style.body > 0 and item.size >= _HEADING_SIZE * style.body
        text = f"## {item.text}" if heading else _BULLET.sub("- ", item.text)
        if previous is None:
            out += ["\n\n" if out else "", text]
        else:
            joint = _joint(previous, item, page.right, style)
            if joint == " ":
                out[-1] = _wrapped(out[-1], item.text, style.words)
            else:
                out += [joint, text]
        previous = item
    return "".join(out)


def _in_order(page: Page) -> list[Line | Table]:
    """The page's lines in writing order, each table before the first line below its top."""
    items: list[Line | Table] = []
    tables = sorted(page.tables, key=lambda t: t.top)
    for line in page.lines:
        while tables and tables[0].top <= line.top:
            items.append(tables.pop(0))
        items.append(line)
    return items + tables


def _joint(before: Line, line: Line, right: float, style: Style) -> str:
    """What goes between two lines: a blank line (another paragraph, a heading), a newline
    (a line ended early, a new list item) or a space (a line wrapped)."""
    gap = line.top - before.bottom
    if style.body > 0 and max(before.size, line.size) >= _HEADING_SIZE * style.body:
        # a heading: on its own, but for its next line, as close and as large (it wrapped)
        return " " if before.size == line.size and gap <= _HEADING_WRAP * line.size else "\n\n"
    if gap < -before.size or (style.leading > 0 and gap > _PARAGRAPH_GAP * style.leading + 0.5):
        return "\n\n"  # a wider gap, or the top of the next column
    if _BULLET.match(line.text):
        return "\n"
    if before.text.endswith("-") and before.text[-2:-1].isalpha():
        return " "  # a word cut at the line's end goes on (`_wrapped` joins it)
    # the next line's first word would have fitted after this one: this line ended there
    if right - before.x1 > line.first_word + 0.5 * line.size:
        return "\n"
    return " "


def _wrapped(before: str, after: str, words: frozenset[str]) -> str:
    """A line and the next one it wraps onto: a word cut by a hyphen at the line's end joined
    whole when the document writes it whole elsewhere (« compéti- tivité »), a compound keeping
    its hyphen (« sous-traitance »), else a space between them."""
    if not (before.endswith("-") and before[-2:-1].isalpha()):
        return f"{before} {after}"
    if not after[:1].islower():  # « Auvergne-Rhône-Alpes »: the hyphen is the name's own
        return before + after
    head, tail = _WORD.findall(before)[-1], (_WORD.findall(after) or [""])[0]
    whole = head[-1:].islower() and (head + tail).lower() in words
    return (before[:-1] if whole else before) + after


def _table_text(table: Table) -> str:
    rows = [f"| {' | '.join(row)} |" for row in table.rows]
    first = table.rows[0] if table.rows else ()
    words = all(c and not _CELL_NUMBER.match(c) for c in first)
    if len(rows) > 1 and (table.bold_head or words):
        # a first row in bold, or of words only, names the columns: Markdown's rule line says so
        rows.insert(1, "|" + "---|" * len(first))
    return "\n".join(rows)


def joins_next(text: str, following: str) -> bool:
    """Whether a page ending in `text` runs on into a page starting with `following`: its last
    paragraph ends without a full stop and the next page goes on in lower case."""
    end = text.rstrip()
    return bool(end) and not _END_OF_SENTENCE.search(end) and following[:1].islower()
