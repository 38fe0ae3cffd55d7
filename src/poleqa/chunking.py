"""Cutting a document's body into overlapping passages with exact offsets into its text."""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from poleqa.errors import IngestError
from poleqa.types import Chunk, Document

# Tried in order, coarsest first (regexes; a separator stays at the end of the piece before it):
# markdown headings, paragraphs, lines, sentence ends, clause punctuation, spaces, characters.
SEPARATORS: tuple[str, ...] = (
    r"\n+(?=#{1,6} )",
    r"\n[ \t\xa0\u202f]*\n\s*",
    r"\n",
    r"(?<=[.!?…])(?:\s*[»”\")])?\s+",  # a closing « … » stays with its sentence
    r";\s+",
    r":\s+",
    r",\s+",
    r"\s+",
    "",
)

_NON_SPACE = re.compile(r"\S")
_MAX_CANDIDATES = 256


@lru_cache(maxsize=8)
def _splitter(size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        separators=list(SEPARATORS),
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=size,
        chunk_overlap=overlap,
        strip_whitespace=True,
        length_function=len,
    )


def chunk_document(doc: Document, size: int, overlap: int, first_id: int = 0) -> list[Chunk]:
    """Chunks of `doc`'s body (from `doc.body_start`), numbered from `first_id`.

    Every chunk satisfies `doc.text[c.start:c.end] == c.text`, has no leading or trailing
    whitespace and is at most `size` characters long.
    """
    if size <= 0:
        raise ValueError(f"chunk size must be positive, not {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"chunk overlap must be in [0, {size}), not {overlap}")
    text = doc.text
    body_start = min(max(doc.body_start, 0), len(text))
    pieces = _splitter(size, overlap).split_text(text[body_start:])
    pieces = [p for p in (piece.strip() for piece in pieces) if p]
    spans = [
        (begin, begin + len(piece))
        for piece, begin in zip(pieces, _offsets(text, pieces, body_start, overlap), strict=True)
    ]
    # A chunk inside another happens when langchain's overlap only dropped whitespace: keep the
    # larger one (spans come sorted by start, so containment is only between neighbours).
    kept: list[tuple[int, int]] = []
    for begin, end in spans:
        while kept and begin <= kept[-1][0] and kept[-1][1] <= end:
            kept.pop()
        if not (kept and kept[-1][0] <= begin and end <= kept[-1][1]):
            kept.append((begin, end))
    return [
        Chunk(
            id=first_id + i,
            source=doc.source,
            start=begin,
            end=end,
            text=text[begin:end],
            page=doc.page_at(begin),
        )
        for i, (begin, end) in enumerate(kept)
    ]


def _offsets(text: str, pieces: list[str], body_start: int, overlap: int) -> list[int]:
    """Where each piece starts in `text`, found exactly even when passages repeat.

    langchain's own start_index takes the first match of each chunk, which is wrong when text
    repeats. What langchain guarantees is used instead: chunks come in order; each starts at or
    after the previous one's start, at most `overlap` characters before its end, and no later
    than the first unseen non-space character; the last one ends where the text does. Among
    the matches satisfying this (usually one per chunk) a chain covering the body is kept,
    layer by layer, then walked back.
    """
    if not pieces:
        return []
    non_space = [m.start() for m in _NON_SPACE.finditer(text)]

    def limit(end: int) -> int:
        """The latest start that leaves no unseen text between `end` and the next chunk."""
        i = bisect.bisect_left(non_space, end)
        return non_space[i] if i < len(non_space) else len(text)

    layers: list[dict[int, int]] = []  # per chunk: candidate start -> previous chunk's start
    prev_starts, prev_len = [body_start], 0
    for piece in pieces:
        lo = max(body_start, prev_starts[0] + prev_len - overlap, prev_starts[0])
        stop = limit(prev_starts[-1] + prev_len) + len(piece)
        layer: dict[int, int] = {}
        pos = text.find(piece, lo, stop)
        # Periodic text ("aaaa…") matches everywhere: the earliest matches are langchain's.
        while pos >= 0 and len(layer) < _MAX_CANDIDATES:
            # The latest allowed previous start has the farthest reach: test that one.
            j = bisect.bisect_right(prev_starts, min(pos, pos - prev_len + overlap)) - 1
            if j >= 0 and pos <= limit(prev_starts[j] + prev_len):
                layer[pos] = prev_starts[j]
            pos = text.find(piece, pos + 1, stop)
        if not layer:  # cannot happen with langchain's contiguous pieces: fail loudly, not wrongly
            raise IngestError(
                f"a passage of the splitter is not in the text: {piece[:60]!r}",
                "un passage découpé ne se retrouve pas dans le texte",
            )
        layers.append(layer)
        prev_starts, prev_len = sorted(layer), len(piece)
    text_end = non_space[-1] + 1
    ends_at_text_end = [p for p in layers[-1] if p + len(pieces[-1]) == text_end]
    pos = ends_at_text_end[0] if ends_at_text_end else max(layers[-1])
    starts = [pos]
    for layer in reversed(layers[1:]):
        pos = layer[pos]
        starts.append(pos)
    return starts[::-1]
