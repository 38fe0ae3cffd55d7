"""What a format reader returns, and the registry of readers keyed by file extension."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from poleqa.types import PageSpan


@dataclass(frozen=True)
class Extracted:
    """The text a reader got out of a file, with the metadata the file itself carries."""

    text: str
    title: str | None = None
    date: str | None = None  # already ISO ("YYYY-MM-DD", "YYYY-MM" or "YYYY")
    organisation: str | None = None
    url: str | None = None
    body_start: int = 0
    pages: tuple[PageSpan, ...] = ()
    # A date the file's own metadata gives that is not one (« Date: hier »): the document is
    # read without a date, and read_document says so rather than drop it unnoticed.
    bad_date: str | None = None


# A reader turns the raw bytes of a file into text; it raises IngestError on bad input.
Reader = Callable[[bytes], Extracted]


@dataclass(frozen=True)
class Format:
    """A supported file format: its family name (DocumentInfo.format) and extensions."""

    name: str
    extensions: tuple[str, ...]  # lower case, with the dot
    read: Reader
    verbatim: bool = False  # the text is the file's characters (txt, md), not extracted from it


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF: offsets everywhere refer to the text after this step."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def first_line(text: str, max_chars: int = 200) -> str | None:
    """The first line with a letter or a digit, stripped and shortened (a fallback title: a
    rule « --- », a front matter block that is not YAML, a row of « ==== » is none); a vertical
    tab or a form feed ends a line too (cleaning.py makes them newlines)."""
    for line in text.splitlines():
        line = line.strip()
        if any(c.isalnum() for c in line):
            return shorten(line, max_chars)
    return None


def shorten(text: str, max_chars: int = 200) -> str:
    """`text` if it has at most `max_chars` characters, else its start cut at a word boundary,
    with « … » (which counts in `max_chars`)."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]  # one more than kept: a space there means the cut ends a word
    space = max((i for i, char in enumerate(cut) if char.isspace()), default=-1)
    # A boundary in the first half would throw away most of the room: a word is cut instead.
    end = space if space >= max_chars // 2 else max_chars - 1
    return text[:end].rstrip().rstrip(",;:").rstrip() + "…"
