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
# The lines of one heading are at most this share of their size apart; a heading is short.
_HEADING_WRAP = 0.6
_HEADING_CHARS = 150
# Words: a gap wider than this share of the font size separates two (pdfplumber's fixed 3 pt
# ran small print's words together).
_WORD_GAP = 0.15
# Justified text: its right edge is where at least this many lines, and this share of the
# body's, end.
_JUSTIFIED_LINES, _JUSTIFIED_SHARE = 3, 0.25
# Half the font size: how far two words of one line sit apart vertically at most, how near the
# edge a line running to the margin ends, and about a space's width plus slack.
_HALF = 0.5
# Points a paragraph's gap may exceed `_PARAGRAPH_GAP` × the usual one by rounding alone.
_GAP_SLACK = 0.5
# Bullets, Word's Symbol / Wingdings ones (private-use characters) included, made « - »; a
# dash or a star only before a space (« -15 % » is a figure, « *Source » a note).
_BULLET = re.compile(r"^(?:[•◦▪▫●○■□‣⁃∙·➢➤►▸▹✓✔❖\uf0a7\uf0b7\uf0d8\uf0fc]\s*|[*–—-]\s+)(?=\S)")
# A numbered item (« 1) », « 2. », « a) », « b. »): a line of its own.
_NUMBERED = re.compile(r"^(?:\d{1,2}|[a-z])[.)]\s")
# A word cut at a line's end: a hyphen, Unicode's, or a soft hyphen (a discretionary one).
_CUT = ("-", "\u2010", "\u00ad")
_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
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
    x0: float
    x1: float
    rows: tuple[tuple[str, ...], ...]
    bold_head: bool = False  # its first row in bold, the rest not: the columns' names


@dataclass(frozen=True)
class Page:
    """A page as read: its lines outside tables, its ruled tables, its text's right edge."""

    lines: tuple[Line, ...]
    tables: tuple[Table, ...]
    right: float  # where the page's full lines end
    plain: str | None = None  # a page turned sideways, read without its layout (pdf.py)


def read_page(page: Any) -> Page:
    """The lines and ruled tables of a pdfplumber page (the words inside a table's cells are
    its), in the order the PDF writes them: a page in two columns is read column after column.
    Characters set sideways on an upright page (a label in the margin) are left out."""
    page = page.filter(lambda o: o.get("object_type") != "char" or o.get("upright", True))
    tables: list[Table] = []
    cells: list[tuple[float, float, float, float]] = []
    for t in page.find_tables():
        grid = t.extract(x_tolerance_ratio=_WORD_GAP)
        # a frame around a paragraph (a box, a sidebar) is a table of one cell: its text is text
        if len(t.rows) < 2 or max(map(len, grid)) < 2:
            continue
        rows = tuple(_cells(row) for row in grid if any(row))
        if rows:
            tables.append(Table(t.bbox[1], t.bbox[0], t.bbox[2], rows, _bold_head(page, t)))
            cells += [c for c in t.cells if c is not None]
    # not split at a change of size (« 1er », « XXIe »): the sizes come from the characters;
    # the gap between words read relative to the size (small print's spaces are narrow)
    words = [
        w
        for w in page.extract_words(
            use_text_flow=True, return_chars=True, x_tolerance_ratio=_WORD_GAP
        )
        if not any(_inside(w, box) for box in cells)
    ]
    lines = [_line(group) for group in _line_groups(words)]
    return Page(tuple(lines), tuple(tables), _right_edge(lines, page.width))


def _right_edge(lines: list[Line], width: float) -> float:
    """Where the page's full lines end: where most lines of justified text end, else (ragged
    text) its margins taken as alike, from the lines in the page's most common size."""
    if not lines:
        return 0.0
    size = Counter(line.size for line in lines).most_common(1)[0][0]
    body = [line for line in lines if line.size == size]
    ends = Counter(round(line.x1) for line in body).most_common(1)[0]
    if ends[1] >= max(_JUSTIFIED_LINES, _JUSTIFIED_SHARE * len(body)):
        return float(ends[0])
    return max(max(line.x1 for line in body), width - min(line.x0 for line in body))


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
            and abs(w["bottom"] - last["bottom"]) <= _HALF * max(_size(w), _size(last))
            and w["x0"] >= last["x0"]
        )
        if same:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups


def _size(word: dict[str, Any]) -> float:
    return max(c["size"] for c in word["chars"])


def _line(words: list[dict[str, Any]]) -> Line:
    sizes = Counter(round(c["size"], 1) for w in words for c in w["chars"])
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
        {c["fontname"] for c in page.crop(row.bbox, strict=False).chars if not c["text"].isspace()}
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
    """What the whole document tells about its lines: the body's font size, the gap between
    the lines of a paragraph, and the words it writes whole."""

    body: float
    leading: float
    words: frozenset[str]


def document_style(pages: Sequence[Page]) -> Style:
    """The gap between a paragraph's lines is read after the lines that run to the margin
    (they wrapped: the next line is the same paragraph's); in a document without any, the
    most common gap."""
    sizes: Counter[float] = Counter()
    gaps: Counter[float] = Counter()
    wrapped: Counter[float] = Counter()
    words: set[str] = set()
    for page in pages:
        for line in page.lines:
            sizes[line.size] += len(line.text)
            words.update(w.lower() for w in _WORD.findall(line.text))
        for a, b in zip(page.lines, page.lines[1:], strict=False):
            if a.size == b.size and _gap(a, b) >= 0:
                gaps[round(_gap(a, b), 1)] += 1
                if page.right - a.x1 <= _HALF * a.size:
                    wrapped[round(_gap(a, b), 1)] += 1
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    leading = (wrapped or gaps).most_common(1)[0][0] if gaps else 0.0
    return Style(body, leading, frozenset(words))


def page_text(page: Page, style: Style) -> str:
    """The page as text: paragraphs apart by a blank line, a paragraph's wrapped lines joined,
    larger lines as « ## » headings, bulleted lines as « - » items, tables as « | a | b | »
    rows (a rule line under a first row that names the columns)."""
    if page.plain is not None:
        return page.plain
    out: list[str] = []
    previous: Line | None = None
    for item in _in_order(page):
        if isinstance(item, Table):
            out += ["\n\n" if out else "", _table_text(item)]
            previous = None
            continue
        text = f"## {item.text}" if _heading(item, style) else _BULLET.sub("- ", item.text)
        if previous is None:
            out += ["\n\n" if out else "", text]
        else:
            joint = _joint(previous, item, page.right, style)
            if joint == " ":
                out[-1] = _wrapped(out[-1], item.text, style.words)
            else:
                out += [joint, text]
        previous = item
    # larger print that reads as a paragraph (a lead of several sentences) is no heading
    return "".join(p[3:] if p.startswith("## ") and _paragraph_like(p[3:]) else p for p in out)


def _heading(line: Line, style: Style) -> bool:
    """A line in larger print, with words (not a key figure in large digits: « 420 »)."""
    big = _big(line.size, style)
    return big and any(ch.isalpha() for ch in line.text)


def _big(size: float, style: Style) -> bool:
    return style.body > 0 and size >= _HEADING_SIZE * style.body


def _cut(text: str) -> bool:
    """Whether a line ends with a word cut by a hyphen (after a letter, not a dash)."""
    return text.endswith(_CUT) and text[-2:-1].isalpha()


def _paragraph_like(text: str) -> bool:
    return len(text) > _HEADING_CHARS or text.rstrip().endswith(".")


def _gap(before: Line, line: Line) -> float:
    """The space between two lines, from their bottoms less the font size (a superscript raises
    a line's top, not its bottom)."""
    return line.bottom - before.bottom - line.size


def _in_order(page: Page) -> list[Line | Table]:
    """The page's lines in writing order, each table where its column reaches it."""
    items: list[Line | Table] = []
    tables = sorted(page.tables, key=lambda t: t.top)
    for line in page.lines:
        # a table goes before the first line below its top in its own column (a table in the
        # right column does not cut the left column's sentence)
        ready = [t for t in tables if t.top <= line.top and t.x0 < line.x1 and line.x0 < t.x1]
        items += ready
        tables = [t for t in tables if t not in ready]
        items.append(line)
    return items + tables


def _joint(before: Line, line: Line, right: float, style: Style) -> str:
    """What goes between two lines: a blank line (another paragraph, a heading), a newline
    (a line ended early, a new list item) or a space (a line wrapped)."""
    gap = _gap(before, line)
    if _big(max(before.size, line.size), style):
        # a heading: on its own, but for its next line, as close and as large (it wrapped)
        wraps = before.size == line.size and gap <= _HEADING_WRAP * line.size
        return " " if wraps and _heading(line, style) else "\n\n"
    wider = style.leading > 0 and gap > _PARAGRAPH_GAP * style.leading + _GAP_SLACK
    if gap < -before.size or wider:
        return "\n\n"  # a wider gap, or the top of the next column
    if _BULLET.match(line.text) or _NUMBERED.match(line.text):
        return "\n"
    if _cut(before.text):
        return " "  # a word cut at the line's end goes on (`_wrapped` joins it)
    # the next line's first word would have fitted after this one: this line ended there
    if right - before.x1 > line.first_word + _HALF * line.size:  # the word and its space
        return "\n"
    return " "


def _wrapped(before: str, after: str, words: frozenset[str]) -> str:
    """A line and the next one it wraps onto: a word cut by a hyphen at the line's end joined
    whole when the document writes it whole elsewhere (« compéti- tivité »), a compound keeping
    its hyphen (« sous-traitance »), else a space between them."""
    if not _cut(before):
        return f"{before} {after}"
    if before.endswith("\u00ad"):  # a discretionary hyphen: the word is whole
        return before[:-1] + after
    if not after[:1].islower():  # « Auvergne-Rhône-Alpes »: the hyphen is the name's own
        return before + after
    head, tail = _WORD.findall(before)[-1], (_WORD.findall(after) or [""])[0]
    whole = head[-1:].islower() and (head + tail).lower() in words
    return (before[:-1] if whole else before) + after


def _table_text(table: Table) -> str:
    rows = [f"| {' | '.join(row)} |" for row in table.rows]
    if len(rows) > 1 and table.bold_head:
        # a first row in bold names the columns: Markdown's rule line says so (a first row of
        # words may be data: « Hermine | Grand Est | bois », read as names, misleads more)
        rows.insert(1, "|" + "---|" * len(table.rows[0]))
    return "\n".join(rows)


def joins_next(text: str, following: str) -> bool:
    """Whether a page ending in `text` runs on into a page starting with `following`: its last
    paragraph, not a table row, ends without a full stop, and the next page goes on in lower
    case or with a figure (« 120 projets »), not with a heading, an item or a table."""
    end = text.rstrip()
    last = end.rsplit("\n", 1)[-1]
    if not end or _END_OF_SENTENCE.search(end) or last.startswith(("## ", "- ", "|")):
        return False  # a heading, an item or a table row ends there, not a sentence
    if _NUMBERED.match(last):
        return False
    go_on = following[:1].islower() or following[:1].isdigit()
    return go_on and not following.startswith(("## ", "- ", "|")) and not _NUMBERED.match(following)
