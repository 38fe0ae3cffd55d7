"""The roles of the pipeline as small Protocols; backends register behind them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from poleqa.types import Answer, ExtractedAnswer, Filters, Hit

if TYPE_CHECKING:  # poleqa.query needs the Embedder role defined here
    from poleqa.query import Query

# Called with the number of texts just embedded, so callers can drive a progress bar.
Progress = Callable[[int], None]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; queries and passages get their prompts."""

    @property
    def id(self) -> str:
        """Exactly which weights: recorded in the index manifest and checked on load."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> np.ndarray: ...


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages most likely to answer a query."""

    def retrieve(self, query: Query, k: int = 5, filters: Filters | None = None) -> list[Hit]: ...


@runtime_checkable
class SpanReader(Protocol):
    """Reads passages: the best span of each, with its score and the passage's no-answer score."""

    def read(self, query: Query, hits: Sequence[Hit]) -> list[ExtractedAnswer]: ...


@runtime_checkable
class Answerer(Protocol):
    """Turns the retrieved passages into an answer, or an abstention with the closest passages."""

    def answer(self, query: Query, hits: Sequence[Hit], shown: int | None = None) -> Answer:
        """`shown`: how many citations the caller keeps (None: all); the answer's notes then
        refer to none beyond them."""
        ...
