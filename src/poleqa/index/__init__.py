"""The persisted hybrid index: FAISS (dense) + BM25 (lexical) + document/chunk/sentence stores."""

from poleqa.index.builder import (
    BuildReport,
    CorpusChanges,
    build_index,
    corpus_changes,
    index_status,
    passage_text,
    recorded_chunking,
)
from poleqa.index.loader import Index, SentenceVectorsMissingError, UnknownDocumentError
from poleqa.index.manifest import FORMAT_VERSION, Manifest
from poleqa.index.store import IndexReadOnlyError, current_pointer

__all__ = [
    "FORMAT_VERSION",
    "BuildReport",
    "CorpusChanges",
    "Index",
    "IndexReadOnlyError",
    "Manifest",
    "SentenceVectorsMissingError",
    "UnknownDocumentError",
    "build_index",
    "corpus_changes",
    "current_pointer",
    "index_status",
    "passage_text",
    "recorded_chunking",
]
