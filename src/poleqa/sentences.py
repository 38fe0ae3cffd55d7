"""Sentence splitting with exact offsets (placeholder: refined by the answering work)."""

from __future__ import annotations

import re

_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"A-ZÀ-ÖØ-Þ0-9])|\n\s*\n|\n(?=\s*[-•*·])")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets into `text` of the sentences of text[start:end], spaces trimmed."""
    end = len(text) if end is None else end
    spans, pos = [], start
    for m in _END.finditer(text, start, end):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, end))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out
