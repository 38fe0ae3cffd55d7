"""File names as a terminal, a log or a page can show them: one line, nothing acted on."""

from __future__ import annotations

import re
from pathlib import Path

# Lone surrogates: Python's stand-ins for the bytes of a file name that is not UTF-8 (a Windows
# archive unpacked on Linux), and what some PDFs' character maps give. No UTF-8 file, JSON
# manifest or tokenizer takes them.
SURROGATES = re.compile("[\ud800-\udfff]")

# What a terminal acts on rather than shows: C0 and C1 controls and DEL (a newline splits a
# line in two, an escape sequence recolours or rewrites the screen), the line and paragraph
# separators, and the bidirectional overrides and isolates, which show a name reversed.
_BEYOND_C0 = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown_name(name: str) -> str:
    """`name` (or a line naming files) as it can be printed and stored: each undecodable byte
    as U+FFFD, each control character escaped as Python writes it (« a\\nb.txt »). Applied
    twice it gives the same: a name may be shown by more than one layer."""
    return _CONTROLS.sub(_escaped, SURROGATES.sub("\ufffd", name))


# The same but for line ends and tabs: a text of several lines (an answer, a list of problems)
# keeps them.
_CONTROLS_IN_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_BEYOND_C0}]")


def shown_text(text: str) -> str:
    """`text` (a document's, a message) as a terminal can print it: its lines and tabs kept,
    any other control character escaped as in `shown_name` (an escape sequence in a document
    cleared the screen or retitled the window of whoever printed an answer citing it)."""
    return _CONTROLS_IN_LINES.sub(_escaped, SURROGATES.sub("\ufffd", text))


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def resolved_within(name: str, folder: Path) -> Path | None:
    """The file `name` (a path a request sent) resolved, if it lies inside `folder` (resolved)
    and is not a folder; None otherwise, a name no system call takes (a NUL byte, a loop of
    links, a name too long) included: such a name is refused, not a server error."""
    try:
        path = Path(name).resolve()
        return path if path.is_relative_to(folder) and not path.is_dir() else None
    except (ValueError, OSError, RuntimeError):
        return None
