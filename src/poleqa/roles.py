"""The roles of the pipeline as small Protocols; backends register behind them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from poleqa.types import Answer, Filters, Hit, Turn

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

    def retrieve(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]: ...


@runtime_checkable
class Answerer(Protocol):
    """Extracts an answer (or abstains) from retrieved passages."""

    def answer(
        self, question: str, hits: Sequence[Hit], history: Sequence[Turn] = ()
    ) -> Answer: ...
