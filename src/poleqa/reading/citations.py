"""Numbered citations: the passage an answer was taken from first, then the other passages."""

from __future__ import annotations

from collections.abc import Sequence

from poleqa.types import Citation, Hit


def cite(hit: Hit, start: int, end: int, short: tuple[int, int] | None) -> Citation:
    """Citation 1: the passage of `hit`, with the answer (and short answer) to highlight; its
    score is the passage's retrieval score, as the others' (the answer has its confidence)."""
    return Citation(
        n=1,
        info=hit.info,
        start=hit.chunk.start,
        end=hit.chunk.end,
        passage=hit.chunk.text,
        score=round(float(hit.score), 4),
        answer_start=start,
        answer_end=end,
        short_start=short[0] if short else None,
        short_end=short[1] if short else None,
    )


def citations(hits: Sequence[Hit], first: Citation | None) -> tuple[Citation, ...]:
    out = [first] if first else []
    seen = {(first.info.source, first.start, first.end)} if first else set()
    for h in hits:
        key = (h.chunk.source, h.chunk.start, h.chunk.end)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            Citation(
                n=len(out) + 1,
                info=h.info,
                start=h.chunk.start,
                end=h.chunk.end,
                passage=h.chunk.text,
                score=round(float(h.score), 4),
            )
        )
    return tuple(out)
