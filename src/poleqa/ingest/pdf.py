"""PDF files: the text of each page (pypdf), pages joined by a blank line, page spans kept."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from poleqa.errors import IngestError
from poleqa.ingest.base import Extracted, Format, first_line, normalize_newlines
from poleqa.ingest.metadata import normalize_date
from poleqa.types import PageSpan

PAGE_SEPARATOR = "\n\n"
# Titles that word processors write by themselves, and that say nothing about the document.
_JUNK_TITLE = re.compile(r"^(microsoft word - |untitled|sans titre)|\.(docx?|odt|pdf|rtf)$", re.I)


def read_pdf(raw: bytes) -> Extracted:
    # pypdf logs every recoverable oddity of real-world PDFs; the outcome is reported instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not raw.lstrip()[:5].startswith(b"%PDF"):
        raise IngestError("corrupted PDF (no PDF header)")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("the PDF is password-protected")
        page_texts = [_page_text(page) for page in reader.pages]
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
        title = _clean_title(info.title)
        try:
            date = normalize_date(info.creation_date)
        except Exception:  # a malformed /CreationDate string must not cost the document
            date = None
    return Extracted(text=text, title=title or first_line(text), date=date, pages=tuple(spans))


def _page_text(page: object) -> str:
    text = page.extract_text() or ""  # type: ignore[attr-defined]
    text = normalize_newlines(text).replace("\x00", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _clean_title(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    title = " ".join(value.split())
    return title if title and not _JUNK_TITLE.search(title) else None


FORMAT = Format(name="pdf", extensions=(".pdf",), read=read_pdf)
