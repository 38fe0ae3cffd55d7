"""The trained reader: e5-small fine-tuned for extractive QA reads each retrieved passage."""

from __future__ import annotations

import math
from collections.abc import Sequence

from poleqa.query import Query
from poleqa.reading.span_model import SpanModel
from poleqa.reading.windows import title_prefix
from poleqa.types import ExtractedAnswer, Hit


class TrainedReader:
    """Reads the first `passages` hits; each passage is read after its document's title, so
    that a passage that does not name its pôle can still be matched to the question."""

    def __init__(self, model: SpanModel, passages: int) -> None:
        self.model = model
        self.passages = passages

    def read(self, query: Query, hits: Sequence[Hit]) -> list[ExtractedAnswer]:
        hits = list(hits[: self.passages])
        if not hits:
            return []
        prefixes = [title_prefix(h.info.title) for h in hits]
        texts = [p + h.chunk.text for p, h in zip(prefixes, hits, strict=True)]
        firsts = [len(p) for p in prefixes]
        scores = self.model.read([query.resolved] * len(hits), texts, firsts)
        out = []
        for hit, prefix, text, sc in zip(hits, prefixes, texts, scores, strict=True):
            if not math.isfinite(sc.score):
                # No span at all in this passage (a chunk of only « --- »): left out, or its
                # -inf would make every other passage's lead over it infinite for the judge.
                continue
            start, end = _trimmed(text, sc.start, sc.end)
            offset = hit.chunk.start - len(prefix)
            out.append(ExtractedAnswer(hit, start + offset, end + offset, sc.score, sc.null_score))
        return out


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without surrounding spaces (token offsets may include the leading one)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
