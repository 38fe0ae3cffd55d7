"""HTML pages: visible text with headings, paragraphs and list items on their own lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import (
    BeautifulSoup,
    Comment,
    Doctype,
    NavigableString,
    PageElement,
    ProcessingInstruction,
    Tag,
)

from poleqa.errors import IngestError
from poleqa.ingest.base import Extracted, Format, first_line, normalize_newlines
from poleqa.ingest.decoding import decode_bytes
from poleqa.ingest.metadata import normalize_date

# Never part of the page's prose.
_DROP = {
    "script", "style", "nav", "noscript", "template", "svg", "head", "iframe", "object",
    "button", "select", "canvas",
}  # fmt: skip
# Each starts a new line.
_BLOCK = {
    "p", "div", "section", "article", "main", "aside", "header", "footer", "h1", "h2", "h3",
    "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "table", "tr",
    "thead", "tbody", "tfoot", "caption", "figure", "figcaption", "address", "hr", "form",
    "fieldset", "legend", "details", "summary",
}  # fmt: skip
_CELL = {"td", "th"}
# Outside these, a <header> or <footer> is the site's banner or footer (chrome), not the page's.
_SECTIONING = {"article", "section", "main", "aside"}
# The same by role (a theme's <div role="main">), as HTML's rule counts them.
_SECTIONING_ROLES = {"article", "main", "region", "complementary", "navigation"}
_CHROME = {"header", "footer"}
# Consecutive ones are separated by one newline, not two (a table's head and body too).
_TIGHT = {"li", "dt", "dd", "tr", "thead", "tbody", "tfoot"}
_SPACES = re.compile(r"[ \t\n\r\f\v]+")  # not \s: non-breaking spaces are kept as they are
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_DATE_META = ("date", "dc.date", "dc.date.issued", "dcterms.date", "article:published_time",
              "og:published_time", "datepublished", "publication_date")  # fmt: skip


class _Lines:
    """Accumulates inline text into lines; each line remembers how it ended, which decides the
    separator after it: one newline after a <br> or between list items / table rows, else a
    blank line (so that paragraphs and headings stay apart). A list item's first line starts
    with its marker (« - », « 2. ») and a table row is written « | cell | cell | », as in
    Markdown: the sentence splitter (sentences.py) reads each as a unit of its own, and the
    rows under a header row with its column names."""

    def __init__(self) -> None:
        self.parts: list[list[str]] = []  # [line, how it ended: "block" | "tight" | "br"]
        self.buffer: list[str] = []
        self.pre = 0
        self.marker = ""  # a list item's, put before its first line
        self.items: dict[int, int] = {}  # the last number given in each ordered list (by id)
        self.tables: list[int] = []  # rows met so far in each table open
        self.row: _Row | None = None

    def open_item(self, item: Tag) -> None:
        parent = item.parent
        if parent is not None and parent.name == "ol":
            first = _number(parent.get("start"), 1) - 1
            number = _number(item.get("value"), self.items.get(id(parent), first) + 1)
            self.items[id(parent)] = number
            self.marker = f"{number}. "
        else:
            self.marker = "- "

    def open_row(self, row: Tag) -> None:
        first = bool(self.tables) and self.tables[-1] == 0
        if self.tables:
            self.tables[-1] += 1
        in_head = row.parent is not None and row.parent.name == "thead"
        self.row = _Row(len(self.parts), [], first, in_head)

    def end_row(self) -> None:
        """The row « | a | b | » when it stands on one line (a cell holding paragraphs or a
        list is read as text, not as a row); a first row of headers is followed by Markdown's
        rule line, so that the rows below are read with its column names (sentences.py)."""
        row = self.row
        text = "".join(self.buffer).strip()
        if row is None or len(self.parts) != row.start or not text:
            self.flush("tight")
            self.row = None
            return
        self.row, self.buffer = None, [f"| {text} |"]
        self.flush("tight")
        heads = row.in_head or all(c == "th" for c in row.cells)
        if row.first and row.cells and heads and len(self.parts) == row.start + 1:
            self.parts.append(["| " + " | ".join("---" for _ in row.cells) + " |", "tight"])

    def add(self, text: str) -> None:
        # a « | » of a cell's own would be read as a column border
        self.buffer.append(text.replace("|", "/") if self.row is not None else text)

    def flush(self, kind: str | None = None) -> None:
        """End the current line; `kind` None when a block opens (it says nothing of the end)."""
        raw = "".join(self.buffer)
        self.buffer = []
        line = raw.strip(" \t\n") if self.pre else _SPACES.sub(" ", raw).strip(" ")
        if self.row is not None:  # a piece of a row a cell's paragraphs cut: no border left
            line = line.strip(" |")
        if line.strip():
            line, self.marker = self.marker + line, ""
            self.parts.append([line, kind or "block"])
        elif kind in ("block", "tight") and self.parts and self.parts[-1][1] != "br":
            self.parts[-1][1] = kind  # an enclosing element closed: e.g. the end of a list

    def text(self) -> str:
        out: list[str] = []
        for i, (line, _) in enumerate(self.parts):
            if i:
                before = self.parts[i - 1][1]
                out.append("\n" if before in ("br", "tight") else "\n\n")
            out.append(line)
        return "".join(out)


@dataclass
class _Row:
    """The table row being read: where its line starts, its cells' tags, whether it is its
    table's first and whether a <thead> holds it."""

    start: int
    cells: list[str]
    first: bool
    in_head: bool


def _number(value: object, default: int) -> int:
    """An <ol start> or <li value> attribute as a number, or `default`."""
    try:
        return int(str(value).strip()) if value is not None else default
    except ValueError:
        return default


@dataclass(frozen=True)
class _End:
    """On the walk's stack: the end of a block element, after its content."""

    name: str


def _walk(root: Tag, lines: _Lines) -> None:
    """Add the visible text under `root` to `lines`, in document order.

    An explicit stack, not recursion: a page nested thousands deep (generated markup, a broken
    editor) must not cost the whole page. Each node is pushed with whether it lies inside a
    sectioning element (article, section, main, aside) or a header or footer kept, which
    decides what is site chrome.
    """
    stack: list[tuple[PageElement, bool] | _End] = _children(root, False)
    while stack:
        item = stack.pop()
        if isinstance(item, _End):
            _close(lines, item.name)
            continue
        child, in_section = item
        if isinstance(child, Comment | Doctype | ProcessingInstruction):
            continue
        if isinstance(child, NavigableString):
            lines.add(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if _hidden(child, name) or _is_chrome(child, name, in_section):
            continue
        # What a kept header or footer holds is its own (a header inside the page's header).
        inner = (
            in_section
            or name in _SECTIONING
            or name in _CHROME
            or _role(child) in _SECTIONING_ROLES | {"banner"}
        )
        if name == "br":
            lines.add("\n") if lines.pre else lines.flush("br")
            continue
        if name in _CELL:
            if lines.buffer and "".join(lines.buffer).strip():
                lines.buffer.append(" | ")
            if lines.row is not None:
                lines.row.cells.append(name)
        elif name in _BLOCK:
            _open(lines, child, name)
            stack.append(_End(name))
        stack.extend(_children(child, inner))


def _open(lines: _Lines, tag: Tag, name: str) -> None:
    """A block element opens: a new line, and what a list item, a row or a table starts."""
    lines.flush(None)
    lines.pre += name == "pre"
    if name == "li":
        lines.open_item(tag)
    elif name == "tr":
        lines.open_row(tag)
    elif name == "table":
        lines.tables.append(0)


def _close(lines: _Lines, name: str) -> None:
    """A block element ends: its line ends; a row is written, a list item's marker dropped if
    it had no text (« - » must not go to the next paragraph)."""
    if name == "tr":
        lines.end_row()
    else:
        lines.flush("tight" if name in _TIGHT else "block")
    if name == "li":
        lines.marker = ""
    elif name == "table" and lines.tables:
        lines.tables.pop()
    lines.pre -= name == "pre"


def _children(tag: Tag, in_section: bool) -> list[tuple[PageElement, bool]]:
    """The children of `tag`, last first (the stack pops the first)."""
    return [(child, in_section) for child in reversed(tag.contents)]


def _hidden(tag: Tag, name: str) -> bool:
    return name in _DROP or tag.get("role") == "navigation" or tag.has_attr("hidden")


def _is_chrome(tag: Tag, name: str, in_section: bool) -> bool:
    """Whether `tag` is the site's banner or footer: a <header> or <footer> outside any
    sectioning element (HTML's rule for the page's own banner and footer), or an element of
    role banner or contentinfo. A banner that holds an <h1> holds the page's title: kept."""
    role = _role(tag)
    if role not in ("banner", "contentinfo") and (name not in _CHROME or in_section):
        return False
    is_banner = role == "banner" or (name == "header" and role != "contentinfo")
    return not (is_banner and tag.find("h1") is not None)


def _role(tag: Tag) -> str:
    return str(tag.get("role") or "").strip().lower()


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    for tag in soup.find_all("meta"):
        key = (tag.get("name") or tag.get("property") or tag.get("itemprop") or "").lower()
        content = tag.get("content")
        if key in names and isinstance(content, str) and content.strip():
            return content.strip()
    return None


def read_html(raw: bytes) -> Extracted:
    declared = _CHARSET.search(raw[:4096])
    source = decode_bytes(raw, declared.group(1).decode("ascii") if declared else None)
    try:
        soup = BeautifulSoup(normalize_newlines(source), "lxml")
    except Exception as exc:  # lxml rarely fails, but never let one page stop the corpus
        raise IngestError(
            f"the HTML could not be parsed ({exc})", "page HTML illisible, mal formée"
        ) from exc
    title = None
    if soup.title and soup.title.get_text(strip=True):
        title = _SPACES.sub(" ", soup.title.get_text()).strip()
    elif (h1 := soup.find("h1")) and h1.get_text(strip=True):
        title = _SPACES.sub(" ", h1.get_text()).strip()
    date = normalize_date(_meta(soup, *_DATE_META))
    if date is None and (time := soup.find("time", attrs={"datetime": True})):
        date = normalize_date(str(time["datetime"]))
    url = None
    canonical = soup.find("link", rel="canonical")
    if canonical and canonical.get("href"):
        url = str(canonical["href"])
    url = url or _meta(soup, "og:url")
    lines = _Lines()
    _walk(soup.body or soup, lines)
    lines.flush("block")
    text = lines.text()
    return Extracted(
        text=text,
        title=title or first_line(text),
        date=date,
        organisation=_meta(soup, "og:site_name", "publisher", "dc.publisher"),
        url=url,
    )


FORMAT = Format(name="html", extensions=(".html", ".htm", ".xhtml"), read=read_html)
