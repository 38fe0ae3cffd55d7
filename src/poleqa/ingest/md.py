"""Markdown files, with the optional header lines `# Title` / `Source: URL` / `Date: YYYY-MM-DD`."""

from __future__ import annotations

import re

from poleqa.ingest.base import Extracted, Format, first_line, normalize_newlines
from poleqa.ingest.cleaning import INVISIBLE, without_invisible
from poleqa.ingest.decoding import decode_bytes
from poleqa.ingest.metadata import normalize_date

_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$")
_FIELD = re.compile(
    r"^(source|sources|url|date|organisation|organization|organisme)[ \t\xa0]*:[ \t]*(.*?)\s*$",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s,;<>]+")


def read_md(raw: bytes) -> Extracted:
    text = normalize_newlines(decode_bytes(raw))
    lines = text.split("\n")
    # Lines are matched without the invisible characters the cleaning drops (« Date\u200b: »
    # read no date); offsets count the lines as they are, for the cleaning moves them after.
    title = next((m.group(1) for line in lines if (m := _H1.match(without_invisible(line)))), None)
    url = date = organisation = None
    body_start = 0
    # Header block: a first-line "# Title" followed directly by "Field: value" lines. The
    # text keeps them (offsets stay into the whole file); the body starts after them.
    first = _H1.match(without_invisible(lines[0])) if lines else None
    if first:
        offset = len(lines[0]) + 1
        fields = 0
        for line in lines[1:]:
            m = _FIELD.match(without_invisible(line))
            if not m:
                break
            fields += 1
            offset += len(line) + 1
            key, value = m.group(1).lower(), m.group(2)
            if key.startswith("date"):
                date = normalize_date(value)
            elif key in ("source", "sources", "url"):
                found = _URL.search(value)
                if found:
                    url = found.group(0)
                elif value:  # "Source: Région Centre" names a publisher, not an address
                    organisation = organisation or value
            else:
                organisation = value or None
        if fields:
            title = first.group(1)
            body_start = min(offset, len(text))
            while body_start < len(text) and text[body_start] in " \t\n" + INVISIBLE:
                body_start += 1
    return Extracted(
        text=text,
        title=title or first_line(text),
        date=date,
        organisation=organisation,
        url=url,
        body_start=body_start,
    )


FORMAT = Format(name="md", extensions=(".md", ".markdown"), read=read_md, verbatim=True)
