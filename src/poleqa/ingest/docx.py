"""Word documents (.docx): paragraphs and table rows in reading order, core title and date."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from poleqa.errors import IngestError
from poleqa.ingest.base import Extracted, Format, first_line, normalize_newlines
from poleqa.ingest.metadata import normalize_date

# python-docx's blank template carries this creation stamp: it dates the template, not the text.
_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15, tzinfo=UTC)


def read_docx(raw: bytes) -> Extracted:
    if not raw.startswith(b"PK"):
        raise IngestError("corrupted DOCX (not a ZIP package)")
    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = [_block(item) for item in document.iter_inner_content()]
        props = document.core_properties
        core_title, created = props.title, props.created
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(f"corrupted DOCX ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # a broken package raises many kinds: one bad file, not a crash
        raise IngestError(f"corrupted DOCX ({type(exc).__name__}: {exc})") from exc
    parts: list[str] = []
    previous_list = False
    for text, is_list in blocks:
        if not text.strip():
            continue
        if parts:
            parts.append("\n" if is_list and previous_list else "\n\n")
        parts.append(text)
        previous_list = is_list
    text = "".join(parts)
    date = None
    if isinstance(created, datetime) and created.replace(tzinfo=UTC) != _TEMPLATE_CREATED:
        date = normalize_date(created)
    return Extracted(
        text=text,
        title=(core_title or "").strip() or first_line(text),
        date=date,
    )


def _block(item: Paragraph | Table) -> tuple[str, bool]:
    """The text of a paragraph (and whether it is a list item) or of a table, row by row."""
    if isinstance(item, Paragraph):
        style = (item.style.name if item.style is not None else "") or ""
        ppr = item._p.pPr
        is_list = "list" in style.lower() or (ppr is not None and ppr.numPr is not None)
        return normalize_newlines(item.text).strip(), is_list
    rows = []
    for row in item.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = " ".join(normalize_newlines(cell.text).split())
            if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                cells.append(value)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows), False


FORMAT = Format(name="docx", extensions=(".docx",), read=read_docx)
