"""Word documents (.docx): paragraphs and table rows in reading order, footnotes after them,
core title and date."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import docx
from lxml import etree

from poleqa.errors import IngestError
from poleqa.ingest.base import Extracted, Format, first_line, normalize_newlines
from poleqa.ingest.metadata import normalize_date, software_title_dropped

# python-docx's blank template carries this creation stamp: it dates the template, not the text.
_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15, tzinfo=UTC)

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_P, _TBL, _TR, _TC, _T = (_W + n for n in ("p", "tbl", "tr", "tc", "t"))
_TXBX, _BR, _SDT = _W + "txbxContent", _W + "br", _W + "sdt"
_ALTERNATE = _MC + "AlternateContent"
# Never read: tracked deletions and the old place of moved text (their runs hold w:delText or
# the text as it was), field codes (« PAGE », « HYPERLINK "…" »: the field's result is in the
# runs that follow), properties.
_SKIP = {
    _W + n
    for n in ("del", "moveFrom", "instrText", "delInstrText", "pPr", "rPr", "sdtPr", "sectPr")
}
# The text of the run elements other than w:t (its own text) that stand for some (a w:br of
# another type than a line break, a page or column break, for none: as python-docx reads it).
_PIECES = {_W + "tab": "\t", _W + "ptab": "\t", _W + "cr": "\n", _W + "noBreakHyphen": "-"}
_PIECES[_BR] = "\n"
_LINE_BREAKS = (None, "textWrapping")  # w:br's w:type; the others are page or column breaks
_RUN_TEXT = {_T, *_PIECES}
_DAMAGED_FR = "DOCX abîmé"  # the staff's reason; the English one says what is broken

_NOTE_PARTS = {"/word/footnotes.xml": "footnote", "/word/endnotes.xml": "endnote"}
# A list item typed with its own bullet (« • x »): no « - » added before it.
_BULLETED = re.compile(r"^\s*(?:[-*+•·▪◦–]|\d{1,3}[.)])\s")
# Word's heading styles (« Heading1 », « Titre1 »), numbered or not.
_HEADING_STYLE = re.compile(r"^(?:heading|titre|title)\s*\d*$", re.IGNORECASE)
# A block of text: a paragraph, a list item or a table (its rows on their own lines).
_Block = tuple[str, str]  # (text, "paragraph" | "list" | "table")


def read_docx(raw: bytes) -> Extracted:
    if not raw.startswith(b"PK"):
        raise IngestError("corrupted DOCX (not a ZIP package)", _DAMAGED_FR)
    try:
        document = docx.Document(io.BytesIO(raw))
        list_styles = frozenset(
            style.style_id for style in document.styles if "list" in (style.name or "").lower()
        )
        blocks = list(_blocks(document.element.body, list_styles))
        blocks += _footnotes(document, list_styles)
        props = document.core_properties
        core_title, created = props.title, props.created
    except Exception as exc:  # a broken package raises many kinds: one bad file, not a crash
        raise IngestError(f"corrupted DOCX ({type(exc).__name__}: {exc})", _DAMAGED_FR) from exc
    parts: list[str] = []
    previous_list = False
    for text, kind in blocks:
        if not text.strip():
            continue
        is_list = kind == "list"
        if parts:
            parts.append("\n" if is_list and previous_list else "\n\n")
        # A list item starts with « - » (its number is Word's numbering, not in the text): the
        # sentence splitter reads each item as a unit, not the list as one wrapped paragraph.
        parts.append("- " + text if is_list and not _BULLETED.match(text) else text)
        previous_list = is_list
    text = "".join(parts)
    date = None
    if isinstance(created, datetime) and created.replace(tzinfo=UTC) != _TEMPLATE_CREATED:
        date = normalize_date(created)
    return Extracted(
        text=text,
        title=software_title_dropped(core_title) or first_line(text),
        date=date,
    )


# The recursion below follows the nesting of tables and text boxes, which the XML parser
# bounds (libxml2 refuses a document nested deeper than 256 elements unless told otherwise).


def _blocks(container: etree._Element, list_styles: frozenset[str]) -> Iterator[_Block]:
    """The blocks of `container` (the body, a table cell, a text box) in reading order, each
    once: content controls (w:sdt) and other wrappers are looked into, a text box comes after
    the paragraph that anchors it."""
    for item in _outermost(container, {_P, _TBL}):
        if item.tag == _TBL:
            yield "\n".join(_rows(item, list_styles)), "table"
            continue
        texts: list[str] = []
        boxes: list[etree._Element] = []
        for piece in _outermost(item, {*_RUN_TEXT, _TXBX}):
            if piece.tag == _TXBX:
                boxes.append(piece)
            else:
                texts.append(_piece_text(piece))
        yield normalize_newlines("".join(texts)).strip(), _paragraph_kind(item, list_styles)
        for box in boxes:
            yield from _blocks(box, list_styles)


def _footnotes(document: object, list_styles: frozenset[str]) -> list[_Block]:
    """The footnotes' and endnotes' paragraphs, after the body (as at the end of a page): a
    source or a figure often stands there alone. Word's separators hold no text; a notes part
    that cannot be parsed costs the notes, not the document."""
    out: list[_Block] = []
    for part in document.part.package.iter_parts():  # type: ignore[attr-defined]
        kind = _NOTE_PARTS.get(str(part.partname))
        if kind is None:
            continue
        try:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            root = etree.fromstring(part.blob, parser)
        except (etree.XMLSyntaxError, ValueError):
            continue
        for note in root.iter(_W + kind):
            if note.get(_W + "type") in (None, "normal"):
                out += [(text, "paragraph") for text, _ in _blocks(note, list_styles)]
    return out


def _rows(table: etree._Element, list_styles: frozenset[str]) -> list[str]:
    """A table's rows, « | cell | cell | » as in Markdown (sentences.py reads each row as a
    unit, with its column names); a table inside a cell gives it its rows, « ; » between."""
    rows = []
    for row in _outermost(table, {_TR}):
        cells: list[str] = []
        for cell in _outermost(row, {_TC}):
            parts = [
                _nested(text) if kind == "table" else text.replace("|", "/")
                for text, kind in _blocks(cell, list_styles)
            ]
            value = " ".join(" ".join(parts).split())
            if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                cells.append(value)
        if cells:
            rows.append("| " + " | ".join(cells) + " |")
            # Word's « repeat as header row »: the columns' names, followed by Markdown's rule
            # line (sentences.py reads the rows below with them); a table without is all data.
            if len(rows) == 1 and row.find(f"{_W}trPr/{_W}tblHeader") is not None:
                rows.append("| " + " | ".join("---" for _ in cells) + " |")
    return rows


def _nested(rows: str) -> str:
    """A table inside a cell, as that cell's text: rows « ; » between, cells « , »."""
    lines = [line.strip("| ") for line in rows.split("\n")]
    return " ; ".join(line.replace(" | ", ", ") for line in lines if line.strip("-| "))


def _outermost(element: etree._Element, tags: set[str]) -> Iterator[etree._Element]:
    """The descendants of `element` whose tag is in `tags`, in document order, without looking
    inside them nor inside what is never read (_SKIP)."""
    stack = _inner(element)
    while stack:
        child = stack.pop()
        if child.tag in tags:
            yield child
        elif child.tag not in _SKIP:
            stack.extend(_inner(child))


def _inner(element: etree._Element) -> list[etree._Element]:
    """The children of `element`, last first (the stack pops the first)."""
    children = list(element)
    if element.tag == _SDT and element.find(f"{_W}sdtPr/{_W}showingPlcHdr") is not None:
        return []  # an empty content control shows its prompt (« Cliquez ici… »), not text
    if element.tag == _ALTERNATE:
        # mc:Choice (what Word shows) comes first; mc:Fallback, for older readers, repeats it
        # (a text box drawn twice, in DrawingML and in VML).
        children = children[:1]
    return children[::-1]


def _piece_text(piece: etree._Element) -> str:
    if piece.tag == _T:
        return piece.text or ""
    if piece.tag == _BR and piece.get(_W + "type") not in _LINE_BREAKS:
        return ""
    return _PIECES[piece.tag]


def _paragraph_kind(paragraph: etree._Element, list_styles: frozenset[str]) -> str:
    """« list » for a list item; a numbered heading (« 1. Contexte ») is a paragraph."""
    ppr = paragraph.find(_W + "pPr")
    if ppr is not None:
        style = ppr.find(_W + "pStyle")
        name = style.get(_W + "val", "") if style is not None else ""
        if _HEADING_STYLE.match(name):
            return "paragraph"
        if ppr.find(_W + "numPr") is not None or name in list_styles:
            return "list"
    return "paragraph"


FORMAT = Format(name="docx", extensions=(".docx",), read=read_docx)
