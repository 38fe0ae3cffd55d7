"""PDF files: the text of each page (pypdf), pages joined by a blank line, page spans kept."""

from __future__ import annotations

import io
import itertools
import logging
import re

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from poleqa.errors import IngestError
from poleqa.ingest.base import Extracted, Format, first_line, normalize_newlines
from poleqa.ingest.metadata import normalize_date, software_title_dropped
from poleqa.types import PageSpan

PAGE_SEPARATOR = "\n\n"
_SPACES = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
# A hyphen ending a line between two lower-case letters: maybe a word cut there (« entre-\n
# prises »); before a capital it is the word's own (« Auvergne-\nRhône-Alpes »).
_CUT_WORD = re.compile(r"(\w*[a-zß-öø-ÿœ])-\n([a-zß-öø-ÿœ]\w*)")
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
# Running headers and footers: looked for among the first and last lines of each page; a line
# there on at least half the pages (and three) is the layout's, not the text's.
_EDGE_LINES = 2
_MOST_NUMBERS = 4  # a line's first four numbers may each move with the page (16 keys at most)
_RUNNING_SHARE, _RUNNING_PAGES = 0.5, 3
# D:YYYY, then MM and DD if given (ISO dashes allowed); what follows (the time) is not read.
_PDF_DATE = re.compile(r"^\s*(?:D:)?(\d{4})(?:-?(\d{2})(?:-?(\d{2}))?)?")


def read_pdf(raw: bytes) -> Extracted:
    # pypdf logs every recoverable oddity of real-world PDFs; the outcome is reported instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not raw.lstrip()[:5].startswith(b"%PDF"):
        raise IngestError("corrupted PDF (no PDF header)")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("the PDF is password-protected")
        page_texts = _without_running_lines([_page_text(page) for page in reader.pages])
        page_texts = _joined_cut_words(page_texts)
        info = reader.metadata
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise IngestError(f"corrupted PDF ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # pypdf raises many kinds on broken files: one bad PDF, not a crash
        raise IngestError(f"corrupted PDF ({type(exc).__name__}: {exc})") from exc
    if not page_texts:
        raise IngestError("the PDF has no pages")
    parts: list[str] = []
    spans: list[PageSpan] = []
    offset = 0
    for number, page_text in enumerate(page_texts, start=1):
        if not page_text.strip():
            continue
        if parts:
            parts.append(PAGE_SEPARATOR)
            offset += len(PAGE_SEPARATOR)
        parts.append(page_text)
        spans.append(PageSpan(page=number, start=offset, end=offset + len(page_text)))
        offset += len(page_text)
    text = "".join(parts)
    if not text.strip():
        raise IngestError("the PDF has no extractable text (scanned images?)")
    title = date = None
    if info is not None:
        title = software_title_dropped(info.title)
        date = _creation_date(info.get("/CreationDate"))
    return Extracted(text=text, title=title or first_line(text), date=date, pages=tuple(spans))


def _page_text(page: object) -> str:
    """The page's text, its lines as the PDF sets them, without the spaces that justified lines
    add (« 31  projets »)."""
    text = page.extract_text() or ""  # type: ignore[attr-defined]
    text = normalize_newlines(text).replace("\x00", "")
    return "\n".join(_SPACES.sub(" ", line.rstrip()) for line in text.split("\n")).strip("\n")


def _without_running_lines(pages: list[str]) -> list[str]:
    """Pages without their running headers and footers (« Rapport d'activité 2023 », « Page 3 /
    12 »): repeated on every page, they were indexed as many times, cut sentences that run
    over a page break, and the first was taken as the title. A line is one when it stands
    among the first (or last) lines of at least half the pages, each of its numbers either the
    same on every page or moving with the page (`_keys`); a header is kept on the first page it
    heads (it is often the document's title there)."""
    if len(pages) < _RUNNING_PAGES:
        return pages
    lines = [page.split("\n") for page in pages]
    tops = [_edge(page_lines, n, top=True) for n, page_lines in enumerate(lines)]
    bottoms = [_edge(page_lines, n, top=False) for n, page_lines in enumerate(lines)]
    least = max(_RUNNING_PAGES, _RUNNING_SHARE * len(pages))
    running_top, running_bottom = _repeated(tops, least), _repeated(bottoms, least)
    if not running_top and not running_bottom:
        return pages
    kept_pages: list[str] = []
    headed = False
    for page_lines, top, bottom in zip(lines, tops, bottoms, strict=True):
        header = {i for i, keys in top.items() if keys & running_top}
        drop = (header if headed else set()) | {i for i, k in bottom.items() if k & running_bottom}
        headed = headed or bool(header)
        kept = [line for i, line in enumerate(page_lines) if i not in drop]
        kept_pages.append("\n".join(kept).strip("\n"))
    return kept_pages


def _edge(page_lines: list[str], page: int, top: bool) -> dict[int, set[str]]:
    """The page's first (or last) non-blank lines, by index, each with its `_keys`."""
    order = range(len(page_lines)) if top else range(len(page_lines) - 1, -1, -1)
    found: dict[int, set[str]] = {}
    for i in order:
        line = " ".join(page_lines[i].split()).casefold()
        if line:
            found[i] = _keys(line, page)
            if len(found) == _EDGE_LINES:
                break
    return found


def _keys(line: str, page: int) -> set[str]:
    """What a line is compared by across pages: itself, and itself with some of its numbers
    made relative to the page (« page 3 / 12 » on the first page and « page 4 / 12 » on the
    second share « page {3} / 12 »); not numbers alone, so the figures of a table that ends
    several pages differ from page to page and stay."""
    parts = _DIGITS.split(line)
    numbers = [int(n) for n in _DIGITS.findall(line)][:_MOST_NUMBERS]
    keys = set()
    for moving in itertools.product((False, True), repeat=len(numbers)):
        shown = [f"{{{n - page}}}" if m else str(n) for n, m in zip(numbers, moving, strict=True)]
        rest = _DIGITS.findall(line)[len(numbers) :]
        keys.add("".join(p + n for p, n in zip(parts, [*shown, *rest, ""], strict=True)))
    return keys


def _repeated(edges: list[dict[int, set[str]]], least: float) -> set[str]:
    counts: dict[str, int] = {}
    for edge in edges:
        for key in set().union(*edge.values()):
            counts[key] = counts.get(key, 0) + 1
    return {key for key, n in counts.items() if n >= least}


def _joined_cut_words(pages: list[str]) -> list[str]:
    """Words cut by a hyphen at a line's end joined (« compéti-\\ntivité », which BM25 read as
    two words) when the document writes them whole elsewhere; a compound broken at its own
    hyphen keeps it (« sous-\\ntraitance », « peut-\\nêtre »)."""
    whole = {w.lower() for page in pages for w in _WORD.findall(page)}

    def join(m: re.Match[str]) -> str:
        word = m.group(1) + m.group(2)
        return word if word.lower() in whole else m.group(0)

    return [_CUT_WORD.sub(join, page) for page in pages]


def _creation_date(value: object) -> str | None:
    """/CreationDate (« D:20230330120000+01'00' ») as ISO, read strictly: pypdf's own reading
    made « D:20231399 » (no month 13) the 3rd of January 2023."""
    m = _PDF_DATE.match(str(value)) if value is not None else None
    return normalize_date("-".join(part for part in m.groups() if part)) if m else None


FORMAT = Format(name="pdf", extensions=(".pdf",), read=read_pdf)
