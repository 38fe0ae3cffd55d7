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


# A reader turns the raw bytes of a file into text; it raises IngestError on bad input.
Reader = Callable[[bytes], Extracted]


@dataclass(frozen=True)
class Format:
    """A supported file format: its family name (DocumentInfo.format) and extensions."""

    name: str
    extensions: tuple[str, ...]  # lower case, with the dot
    read: Reader


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF: offsets everywhere refer to the text after this step."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def first_line(text: str, max_chars: int = 200) -> str | None:
    """The first non-empty line, stripped and shortened (a fallback title)."""
    for line in text.split("\n"):
        line = line.strip()
        if line:
            return line if len(line) <= max_chars else line[: max_chars - 1].rstrip() + "…"
    return None
