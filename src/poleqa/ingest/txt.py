"""Plain text files: the decoded characters as they are (newlines normalised)."""

from __future__ import annotations

from poleqa.ingest.base import Extracted, Format, first_line, normalize_newlines
from poleqa.ingest.decoding import decode_bytes


def read_txt(raw: bytes) -> Extracted:
    text = normalize_newlines(decode_bytes(raw))
    return Extracted(text=text, title=first_line(text))


FORMAT = Format(name="txt", extensions=(".txt", ".text"), read=read_txt, verbatim=True)
