"""The document, chunk and sentence stores of a generation: one JSON row per line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from poleqa.types import Chunk, Document, DocumentInfo, PageSpan, Sentence


def _write_jsonl(path: Path, rows: Iterable[object]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def _read_jsonl(path: Path) -> Iterator[object]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def write_documents(path: Path, docs: Iterable[Document]) -> None:
    _write_jsonl(
        path,
        (
            {
                "info": {
                    "source": d.info.source,
                    "title": d.info.title,
                    "date": d.info.date,
                    "organisation": d.info.organisation,
                    "url": d.info.url,
                    "format": d.info.format,
                    "content_hash": d.info.content_hash,
                },
                "body_start": d.body_start,
                "pages": [[p.page, p.start, p.end] for p in d.pages],
                "text": d.text,
            }
            for d in docs
        ),
    )


def read_documents(path: Path) -> list[Document]:
    return [
        Document(
            info=DocumentInfo(**row["info"]),
            text=row["text"],
            body_start=int(row["body_start"]),
            pages=tuple(PageSpan(int(p), int(s), int(e)) for p, s, e in row["pages"]),
        )
        for row in _read_jsonl(path)
    ]


def write_chunks(path: Path, chunks: Iterable[Chunk]) -> None:
    _write_jsonl(
        path,
        (
            {"id": c.id, "source": c.source, "start": c.start, "end": c.end, "page": c.page}
            for c in chunks
        ),
    )


def read_chunks(path: Path, documents: dict[str, Document]) -> list[Chunk]:
    """Chunks with their text cut from the stored document text (so both can never disagree)."""
    out = []
    for row in _read_jsonl(path):
        doc = documents[row["source"]]
        start, end = int(row["start"]), int(row["end"])
        out.append(
            Chunk(
                id=int(row["id"]),
                source=row["source"],
                start=start,
                end=end,
                text=doc.text[start:end],
                page=row["page"],
            )
        )
    return out


def write_sentences(path: Path, sentences: Iterable[Sentence]) -> None:
    # Compact rows [source, start, end]: there are many more sentences than chunks.
    _write_jsonl(path, ([s.source, s.start, s.end] for s in sentences))


def read_sentences(path: Path) -> list[Sentence]:
    return [
        Sentence(id=i, source=src, start=int(s), end=int(e))
        for i, (src, s, e) in enumerate(_read_jsonl(path))
    ]
