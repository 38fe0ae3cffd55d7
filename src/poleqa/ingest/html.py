"""HTML pages: visible text with headings, paragraphs and list items on their own lines."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, ProcessingInstruction, Tag

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
_TIGHT = {"li", "dt", "dd", "tr"}  # consecutive ones are separated by one newline, not two
_SPACES = re.compile(r"[ \t\n\r\f\v]+")  # not \s: non-breaking spaces are kept as they are
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_DATE_META = ("date", "dc.date", "dc.date.issued", "dcterms.date", "article:published_time",
              "og:published_time", "datepublished", "publication_date")  # fmt: skip


class _Lines:
    """Accumulates inline text into lines; each line remembers how it ended, which decides the
    separator after it: one newline after a <br> or between list items / table rows, else a
    blank line (so that paragraphs and headings stay apart)."""

    def __init__(self) -> None:
        self.parts: list[list[str]] = []  # [line, how it ended: "block" | "tight" | "br"]
        self.buffer: list[str] = []
        self.pre = 0

    def add(self, text: str) -> None:
        self.buffer.append(text)

    def flush(self, kind: str | None = None) -> None:
        """End the current line; `kind` None when a block opens (it says nothing of the end)."""
        raw = "".join(self.buffer)
        self.buffer = []
        line = raw.strip(" \t\n") if self.pre else _SPACES.sub(" ", raw).strip(" ")
        if line.strip():
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


def _walk(node: Tag, lines: _Lines) -> None:
    for child in node.children:
        if isinstance(child, Comment | Doctype | ProcessingInstruction):
            continue
        if isinstance(child, NavigableString):
            lines.add(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _DROP or child.get("role") == "navigation" or child.has_attr("hidden"):
            continue
        if name == "br":
            lines.add("\n") if lines.pre else lines.flush("br")
        elif name in _CELL:
            if lines.buffer and "".join(lines.buffer).strip():
                lines.add(" | ")
            _walk(child, lines)
        elif name in _BLOCK:
            lines.flush(None)
            lines.pre += name == "pre"
            _walk(child, lines)
            lines.flush("tight" if name in _TIGHT else "block")
            lines.pre -= name == "pre"
        else:
            _walk(child, lines)


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
        raise IngestError(f"the HTML could not be parsed ({exc})") from exc
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
