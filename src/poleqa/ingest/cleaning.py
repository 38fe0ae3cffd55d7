"""The one pass every reader's output goes through: invisible characters out, breaks as newlines."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import replace

from poleqa.ingest.base import Extracted
from poleqa.names import SURROGATES
from poleqa.types import PageSpan

# Characters that print as nothing and split the word they sit in (« com\xadpte » is not
# « compte » to search or to the reader): soft hyphen, zero-width space, non-joiner, joiner,
# word joiner, and a BOM left inside the text (files pasted together).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
# A vertical tab is Word's line break in exported text, a form feed a page break (text from
# PDF): both are line ends to the chunker and the sentence splitter.
_BREAKS = str.maketrans("\x0b\x0c", "\n\n")


def clean_extracted(extracted: Extracted) -> Extracted:
    """`extracted` with invisible characters dropped, vertical tabs and form feeds as newlines
    and lone surrogates as U+FFFD, in its text and metadata; body_start and page spans are
    moved with the text, so offsets stay exact."""
    text = SURROGATES.sub("\ufffd", extracted.text).translate(_BREAKS)
    removed = [m.start() for m in _INVISIBLE.finditer(text)]
    if removed:
        text = _INVISIBLE.sub("", text)

    def moved(offset: int) -> int:
        return offset - bisect_left(removed, offset)  # minus the characters dropped before it

    return replace(
        extracted,
        text=text,
        title=clean_value(extracted.title),
        organisation=clean_value(extracted.organisation),
        url=clean_value(extracted.url),
        body_start=moved(extracted.body_start),
        pages=tuple(
            PageSpan(page=p.page, start=moved(p.start), end=moved(p.end)) for p in extracted.pages
        ),
    )


def without_invisible(text: str) -> str:
    """`text` without the invisible characters the cleaning drops (what a reader matches a
    line against, while its offsets still count the characters as they are in the file)."""
    return _INVISIBLE.sub("", text)


def clean_value(value: str | None) -> str | None:
    """A metadata value cleaned as the text is (breaks as spaces: it is one line); None if
    nothing is left of it."""
    if value is None:
        return None
    value = without_invisible(SURROGATES.sub("\ufffd", value)).replace("\x0b", " ")
    return value.replace("\x0c", " ").strip() or None
