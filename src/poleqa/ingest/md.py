"""Markdown files, with the optional header lines `# Title` / `Source: URL` / `Date: YYYY-MM-DD`
or a YAML front matter block."""

from __future__ import annotations

import re
from datetime import date

import yaml

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
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_FRONT_MAX_LINES = 100  # a « --- » further down is a horizontal rule, not the block's end
_FRONT_KEYS = frozenset(
    (
        "title",
        "titre",
        "date",
        "published",
        "source",
        "sources",
        "url",
        "organisation",
        "organization",
        "organisme",
    )
)


def read_md(raw: bytes) -> Extracted:
    text = normalize_newlines(decode_bytes(raw))
    lines = text.split("\n")
    front = _front_matter(lines)
    if front is not None:
        return _with_front_matter(text, lines, *front)
    # Lines are matched without the invisible characters the cleaning drops (« Date\u200b: »
    # read no date); offsets count the lines as they are, for the cleaning moves them after.
    title = _first_h1(lines)
    url = date = organisation = bad_date = None
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
                bad_date = value if date is None and value else None
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
            body_start = _body_start(text, offset)
    return Extracted(
        text=text,
        title=title or first_line(text),
        date=date,
        organisation=organisation,
        url=url,
        body_start=body_start,
        bad_date=bad_date,
    )


def _body_start(text: str, offset: int) -> int:
    """Where the body starts after the metadata ending at `offset`: its first visible character."""
    start = min(offset, len(text))
    while start < len(text) and text[start] in " \t\n" + INVISIBLE:
        start += 1
    return start


def _first_h1(lines: list[str]) -> str | None:
    """The first `# ` heading outside fenced code (a shell comment there is no title)."""
    fence = ""
    for line in lines:
        bare = without_invisible(line)
        if m := _FENCE.match(bare):
            if not fence:
                fence = m.group(1)
            elif m.group(1).startswith(fence):
                fence = ""
        elif not fence and (h1 := _H1.match(bare)):
            return h1.group(1)
    return None


class _FrontLoader(yaml.SafeLoader):
    """YAML's safe loader with dates left as text: « date: 2020-13-45 » made PyYAML raise
    ValueError, and the file was skipped as unreadable; `normalize_date` reads the text."""


_FrontLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _front_matter(lines: list[str]) -> tuple[int, dict] | None:
    """The index of the line closing a YAML front matter block (« --- » on the first line,
    « --- » or « ... » closing it) and its fields, or None: the block must be YAML holding a
    field of a document's metadata (a file opening with a rule, text, then another rule keeps
    that text)."""
    if not lines or without_invisible(lines[0]).strip() != "---":
        return None
    closing = next(
        (
            i
            for i, line in enumerate(lines[1:_FRONT_MAX_LINES], 1)
            if without_invisible(line).strip() in ("---", "...")
        ),
        None,
    )
    if closing is None:
        return None
    try:
        block = "\n".join(without_invisible(x) for x in lines[1:closing])
        fields = yaml.load(block, Loader=_FrontLoader)  # a SafeLoader: no object built
    except (yaml.YAMLError, ValueError):  # ValueError: an explicit « !!timestamp 2020-13-45 »
        return None
    if not isinstance(fields, dict):
        return None
    fields = {str(k).lower(): v for k, v in fields.items()}
    return (closing, fields) if _FRONT_KEYS & fields.keys() else None


def _with_front_matter(text: str, lines: list[str], closing: int, fields: dict) -> Extracted:
    """A file opening with YAML front matter (static-site generators, note-taking tools): its
    title, date, source and organisation are metadata, its body starts after it."""
    body_start = _body_start(text, sum(len(line) + 1 for line in lines[: closing + 1]))
    values = {k: _scalar(v) for k, v in fields.items()}
    found = _URL.search(" ".join(values.get(k) or "" for k in ("url", "source", "sources")))
    date = next((d for k in ("date", "published") if (d := _date(fields.get(k)))), None)
    given = next((v for k in ("date", "published") if (v := values.get(k))), None)
    title = values.get("title") or values.get("titre") or _first_h1(lines[closing + 1 :])
    organisation = next(
        (values[k] for k in ("organisation", "organization", "organisme") if values.get(k)), None
    )
    return Extracted(
        text=text,
        title=title or first_line(text[body_start:]) or first_line(text),
        date=date,
        organisation=organisation,
        url=found.group(0) if found else None,
        body_start=body_start,
        bad_date=given if date is None else None,
    )


def _scalar(value: object) -> str | None:
    """A YAML scalar as one line of text (a list's first item), None otherwise: a nested value
    is not printed (YAML's aliases can make one exponentially large)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str | int | float | date) or isinstance(value, bool):
        return None
    text = " ".join(str(value).split())
    return text or None


def _date(value: object) -> str | None:
    """YAML reads « 2020-09-14 » as a date, « 14/09/2020 » as text: either gives ISO."""
    if isinstance(value, date):
        return normalize_date(value)
    return normalize_date(str(value)) if isinstance(value, str | int) else None


FORMAT = Format(name="md", extensions=(".md", ".markdown"), read=read_md, verbatim=True)
