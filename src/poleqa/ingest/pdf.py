"""PDF files: each page's text as pdf_layout writes it (pdfplumber), running headers and footers
dropped, pages joined by a blank line, page spans kept."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import replace
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFPasswordIncorrect
from pypdf import PdfReader
from pypdf.errors import LimitReachedError

from poleqa.errors import IngestError
from poleqa.ingest.base import Extracted, Format, first_line, normalize_newlines
from poleqa.ingest.metadata import normalize_date, software_title_dropped
from poleqa.ingest.pdf_layout import Page, document_style, joins_next, page_text, read_page
from poleqa.types import PageSpan

PAGE_SEPARATOR = "\n\n"
# Running headers and footers: looked for among the first and last lines of each page; a line
# there on at least half the pages (and three; see _repeated) is the layout's, not the text's.
_EDGE_LINES = 2
# A page number: the whole line, after « page » / « p. », before « / N » / « sur N », or last
# after a dash or a bar.
_PAGE_NUMBER = re.compile(
    r"^[\s|–—-]*(?P<n>\d{1,4})[\s|–—-]*$"
    r"|\b(?:page|p\.)\s*(?P<n2>\d{1,4})\b"
    r"|\b(?P<n3>\d{1,4})\s*(?:/|sur)\s*\d{1,4}\s*$"
    r"|[|–—-]\s*(?P<n4>\d{1,4})\s*$"
)
_PAGE_OFFSET = 10  # a page number may be this many pages off the page's own (cover pages)
# A PDF's header may follow other bytes (a BOM, a mail header): readers look this far for it.
_HEADER_WITHIN = 1024
# What a page's drawing may inflate to: an ordinary page holds tens of kilobytes of it.
_MOST_PAGE_BYTES = 2_000_000
_BOMB = "a page's content inflates beyond what is read (a compression bomb?)"
_BOMB_FR = "PDF non lu : une page devient démesurée une fois décompressée, fichier piégé ?"
_DAMAGED_FR = "PDF abîmé"  # the staff's reason; the English one says what is broken
# pdfminer's mark for a character its font gives no letter for; a text made mostly of them
# cannot be read (a font without a ToUnicode map).
_CID = re.compile(r"\(cid:\d+\)")
_MOST_CID = 0.2
_RUNNING_SHARE, _RUNNING_PAGES = 0.5, 3
# D:YYYY, then MM and DD if given (ISO dashes allowed); what follows (the time) is not read.
_PDF_DATE = re.compile(r"^\s*(?:D:)?(\d{4})(?:-?(\d{2})(?:-?(\d{2}))?)?")


def read_pdf(raw: bytes) -> Extracted:
    # the libraries log every oddity of real-world PDFs; the outcome is reported instead
    for library in ("pdfminer", "pypdf", "pdfplumber"):
        logging.getLogger(library).setLevel(logging.ERROR)
    if b"%PDF" not in raw[:_HEADER_WITHIN]:
        raise IngestError("corrupted PDF (no PDF header)", _DAMAGED_FR)
    reader, heavy = _checked_streams(raw)
    try:
        with pdfplumber.open(io.BytesIO(raw), password="") as pdf:
            read = [_page(page, heavy) for page in pdf.pages]
            info = pdf.metadata
    except Exception as exc:  # pdfminer raises many kinds on broken files: one bad PDF
        # pdfplumber wraps pdfminer's errors, the original as its argument
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise IngestError(
                "the PDF is password-protected", "PDF protégé par un mot de passe"
            ) from exc
        raise IngestError(f"corrupted PDF ({type(cause).__name__}: {cause})", _DAMAGED_FR) from exc
    if not read:
        raise IngestError("the PDF has no pages", "PDF sans aucune page")
    pages = _without_running_lines(_sideways_read_plain(read, reader))
    style = document_style(pages)
    text, spans = _joined_pages(_known([page_text(page, style) for page in pages]))
    if not text.strip():
        if heavy:
            raise IngestError(_BOMB, _BOMB_FR)
        raise IngestError(
            "the PDF has no extractable text (scanned images?)",
            "PDF sans texte extractible, des images scannées ?",
        )
    title = software_title_dropped(_string(info.get("Title")))
    date = _creation_date(info.get("CreationDate"))
    return Extracted(text=text, title=title or _first_words(text), date=date, pages=spans)


def _checked_streams(raw: bytes) -> tuple[PdfReader | None, set[int]]:
    """pypdf's reading of the file (None if it cannot read it: pdfplumber will say why), and
    the pages whose content (their drawing and the forms they draw) inflates past
    `_MOST_PAGE_BYTES`: a few kilobytes can inflate to megabytes of text operators, which
    pdfminer turns into gigabytes of objects (a compression bomb); those pages are not read."""
    heavy: set[int] = set()
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            return None, heavy
        for n, page in enumerate(reader.pages):
            try:
                if _page_bytes(page) > _MOST_PAGE_BYTES:
                    heavy.add(n)
            except LimitReachedError:
                heavy.add(n)
    except Exception:  # a broken file: pdfplumber says what is wrong with it
        return None, heavy
    return reader, heavy


def _page_bytes(page: Any) -> int:
    contents = page.get_contents()
    total = len(contents.get_data()) if contents is not None else 0
    xobjects = (page.get("/Resources") or {}).get("/XObject") or {}
    for ref in xobjects.values():
        form = ref.get_object()
        if form.get("/Subtype") == "/Form":  # images are not read as text: left alone
            total += len(form.get_data())
    return total


def _page(page: Any, heavy: set[int]) -> Page | int:
    """The page read with its layout (nothing of a `heavy` one), or its number if it is turned
    sideways (most of its characters not upright: pdfplumber reads them a letter a line)."""
    try:
        if page.page_number - 1 in heavy:
            return Page((), (), 0.0)
        chars = page.chars
        if chars and 2 * sum(bool(c.get("upright", True)) for c in chars) < len(chars):
            return page.page_number - 1
        return read_page(page)
    finally:
        page.close()  # pdfplumber keeps every page's objects otherwise: a long PDF's memory


def _sideways_read_plain(pages: list[Page | int], reader: PdfReader | None) -> list[Page]:
    """The pages turned sideways read with pypdf's plain text (it follows their rotation)."""
    sideways = [p for p in pages if isinstance(p, int)]
    if not sideways:
        return [p for p in pages if not isinstance(p, int)]
    if reader is None:
        raise IngestError(
            "corrupted PDF (pages turned sideways that pypdf cannot read)",
            "PDF abîmé : ses pages tournées ne peuvent pas être lues",
        )
    return [
        p
        if not isinstance(p, int)
        else Page((), (), 0.0, plain=_plain_text(reader.pages[p].extract_text() or ""))
        for p in pages
    ]


def _plain_text(text: str) -> str:
    lines = normalize_newlines(text).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip("\n")


def _known(texts: list[str]) -> list[str]:
    """The pages' texts without pdfminer's « (cid:12) » for characters a font does not name;
    IngestError if they are much of the document's characters (fonts without a character
    map: its text cannot be read)."""
    unknown = sum(len(_CID.findall(text)) for text in texts)
    if not unknown:
        return texts
    glyphs = sum(len(_CID.sub("x", text)) for text in texts)
    if unknown > _MOST_CID * glyphs:
        raise IngestError(
            "the PDF's fonts do not say which letters they draw: its text cannot be read",
            "PDF au texte illisible : ses polices ne disent pas quelles lettres elles dessinent",
        )
    return [_CID.sub("", text) for text in texts]


def _first_words(text: str) -> str:
    """The first line, as a title: without the « ## », « - » or table bars the layout added."""
    line = first_line(text) or ""
    line = line.removeprefix("## ").removeprefix("- ")
    return " ".join(line.strip("| ").replace(" | ", " ").split())


def _string(value: object) -> str | None:
    if isinstance(value, bytes):  # a PDF string pdfminer could not decode
        value = value.decode("latin-1", "replace")
    return value if isinstance(value, str) else None


def _joined_pages(texts: list[str]) -> tuple[str, tuple[PageSpan, ...]]:
    """The pages' texts one after the other, a blank line between them, but a space where a
    sentence runs on from one page to the next (it was cut in two paragraphs); their spans."""
    parts: list[str] = []
    spans: list[PageSpan] = []
    offset = 0
    for number, page_text_ in enumerate(texts, start=1):
        page_text_ = page_text_.replace("\x00", "")
        if not page_text_.strip():
            continue
        if parts:
            joint = " " if joins_next(parts[-1], page_text_) else PAGE_SEPARATOR
            parts.append(joint)
            offset += len(joint)
        parts.append(page_text_)
        spans.append(PageSpan(page=number, start=offset, end=offset + len(page_text_)))
        offset += len(page_text_)
    return "".join(parts), tuple(spans)


def _without_running_lines(pages: list[Page]) -> list[Page]:
    """Pages without their running headers and footers (« Rapport d'activité 2023 », « Page 3 /
    12 »): repeated on every page, they were indexed as many times, cut sentences that run
    over a page break, and the first was taken as the title. A line is one when it stands
    among the first (or last) lines of at least half the pages and three (two when it is a
    page number: « 1 / 2 »), its numbers the same on every page or one a page number
    (`_keys`). A page number goes from every page; another running line stays once: a header
    on the first page it heads (often the title there), a footer on the last page it ends (an
    attestation's closing line is text; at the end, it cuts no sentence running on)."""
    if len(pages) < 2:
        return pages
    texts = [[line.text for line in page.lines] for page in pages]
    tops = [_edge(lines, n, len(pages), top=True) for n, lines in enumerate(texts)]
    bottoms = [_edge(lines, n, len(pages), top=False) for n, lines in enumerate(texts)]
    least = max(_RUNNING_PAGES, _RUNNING_SHARE * len(pages))
    running = _repeated(tops, least) | _repeated(bottoms, least)
    headers: set[str] = set()
    drops = [_dropped(edge, running, headers) for edge in tops]  # from the first page on
    footers: set[str] = set()
    for n in range(len(pages) - 1, -1, -1):  # from the last page back
        drops[n] |= _dropped(bottoms[n], running, footers)
    return [
        replace(page, lines=tuple(x for i, x in enumerate(page.lines) if i not in drop))
        for page, drop in zip(pages, drops, strict=True)
    ]


def _dropped(edge: dict[int, set[str]], running: set[str], seen: set[str]) -> set[int]:
    """The lines of one page's edge to drop: page numbers, and running lines already `seen`
    (met on a page read before; `seen` gains this page's)."""
    drop = set()
    for i, keys in edge.items():
        found = keys & running
        if found and (found & seen or any("{" in k for k in found)):
            drop.add(i)
        seen |= found
    return drop


def _edge(page_lines: list[str], page: int, pages: int, top: bool) -> dict[int, set[str]]:
    """The page's first (or last) lines, by index, each with its `_keys`; on a page too short
    to have both, only its first (or last) line."""
    n = len(page_lines)
    if n == 0:
        return {}
    if n <= 2 * _EDGE_LINES:
        i = 0 if top else n - 1
        return {i: _keys(_compared(page_lines[i]), page, pages)}
    order = range(_EDGE_LINES) if top else range(n - 1, n - 1 - _EDGE_LINES, -1)
    return {i: _keys(_compared(page_lines[i]), page, pages) for i in order}


def _compared(line: str) -> str:
    return " ".join(line.split()).casefold()


def _keys(line: str, page: int, pages: int) -> set[str]:
    """What a line is compared by across pages: itself, and, if it holds a page number, itself
    with that number made relative to the page (« page 3 / 12 » on the first page and « page 4
    / 12 » on the second share « page {3} / 12 »). A page number stands alone, after « page »
    or « p. », before « / N » or « sur N », or ends the line after a dash or a bar, and is
    within the page count (and `_PAGE_OFFSET`) of the page's own: not a year."""
    keys = {line}
    for m in _PAGE_NUMBER.finditer(line):
        group = next(g for g in ("n", "n2", "n3", "n4") if m[g] is not None)
        number = int(m[group])
        if abs(number - page) <= pages + _PAGE_OFFSET:
            keys.add(f"{line[: m.start(group)]}{{{number - page}}}{line[m.end(group) :]}")
    return keys


def _repeated(edges: list[dict[int, set[str]]], least: float) -> set[str]:
    """The keys on at least `least` pages' edges; on two pages only, the page numbers (the
    « {n} » of `_keys`): a two-page PDF's « 1 / 2 », « 2 / 2 »."""
    counts: dict[str, int] = {}
    for edge in edges:
        for key in set().union(*edge.values()):
            counts[key] = counts.get(key, 0) + 1
    numbered = 2 if len(edges) == 2 else least
    return {k for k, n in counts.items() if n >= least or ("{" in k and n >= numbered)}


def _creation_date(value: object) -> str | None:
    """/CreationDate (« D:20230330120000+01'00' ») as ISO, read strictly: pypdf's own reading
    made « D:20231399 » (no month 13) the 3rd of January 2023."""
    m = _PDF_DATE.match(str(value)) if value is not None else None
    return normalize_date("-".join(part for part in m.groups() if part)) if m else None


FORMAT = Format(name="pdf", extensions=(".pdf",), read=read_pdf)
