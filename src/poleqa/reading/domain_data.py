"""In-domain questions (eval JSONL + corpus) as SQuAD-format training data for the reader.

python -m poleqa.reading.domain_data eval/domain/train.jsonl eval/domain/corpus OUT.json

Each context is what the reader reads when serving: the document's title, a line break, then the
passage (the index's chunking) holding the answer. Hard negatives, as retrieval would bring them:
the passages sharing a question's rarest words that lack every gold answer (`negatives` of them
for each question, answerable or not), labelled no-answer, taken only from the documents the
set's questions cite: a corpus shared by several splits (eval/domain/corpus) never lends a dev
or test document's text to training.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from poleqa.chunking import chunk_document
from poleqa.config import Settings
from poleqa.errors import run_tool, writable
from poleqa.evaluation.questions import Question, load_questions
from poleqa.ingest import load_corpus
from poleqa.reading.squad import squad_file
from poleqa.reading.windows import title_prefix
from poleqa.text import words
from poleqa.types import Chunk, Document


def _contexts(doc: Document, chunks: Sequence[Chunk]) -> list[str]:
    return [title_prefix(doc.info.title) + c.text for c in chunks]


def _find(answer: str, context: str, start: int) -> re.Match[str] | None:
    """The answer in the context, case and spacing ignored (the gold strings' own rule)."""
    pattern = r"\s+".join(re.escape(w) for w in answer.split())
    return re.compile(pattern, re.IGNORECASE).search(context, start) if pattern else None


def _answerable(
    q: Question, docs: dict[str, Document], chunks: dict[str, list[Chunk]]
) -> list[tuple[str, list[dict]]]:
    """The first passage of a cited document that holds a gold answer, with its offsets."""
    for source in q.sources:
        doc = docs.get(source)
        for context in _contexts(doc, chunks[source]) if doc else []:
            body = len(doc.info.title) + 1  # the answer is taken from the passage, not the title
            for answer in q.answers:
                m = _find(answer, context, body)
                if m:
                    return [(context, [{"text": m.group(), "answer_start": m.start()}])]
    return []


def _nearest(q: Question, contexts: list[str], df: Counter, count: int) -> list[str]:
    """The `count` passages sharing the question's rarest words that hold no gold answer."""
    asked = set(words(q.question))
    n = len(contexts)

    def score(context: str) -> float:
        return sum(math.log(n / df[w]) for w in asked & set(words(context)) if df[w])

    golds = [a.casefold() for a in q.answers]
    lacking = [c for c in contexts if not any(g in c.casefold() for g in golds)]
    return sorted(lacking, key=score, reverse=True)[:count]


def to_squad(
    questions: Sequence[Question], corpus: Path, settings: Settings, negatives: int = 1
) -> dict:
    """The SQuAD-format dict of `questions` over the documents of `corpus`."""
    own = {s for q in questions for s in q.sources}  # the set's documents (its split's)
    docs = {d.source: d for d in load_corpus(corpus).documents if d.source in own}
    chunks = {
        s: chunk_document(d, settings.chunk_size, settings.chunk_overlap) for s, d in docs.items()
    }
    every = [c for s, d in docs.items() for c in _contexts(d, chunks[s])]
    df = Counter(w for c in every for w in set(words(c)))
    paragraphs = []
    for q in questions:
        pairs = _answerable(q, docs, chunks) if q.answerable else []
        pairs += [(c, []) for c in _nearest(q, every, df, negatives)]
        for n, (context, answers) in enumerate(pairs):
            qa = {
                "id": q.id if n == 0 else f"{q.id}-neg{n}",
                "question": q.question,
                "answers": answers,
                "is_impossible": not answers,
            }
            paragraphs.append({"context": context, "qas": [qa]})
    return squad_file("poleqa-domain", paragraphs)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--negatives", type=int, default=1, help="hard negatives per question")
    # the shipped reader's training passages were cut at 800/120, the serving default then
    ap.add_argument("--chunk-size", type=int, default=Settings().chunk_size)
    ap.add_argument("--chunk-overlap", type=int, default=Settings().chunk_overlap)
    args = ap.parse_args(argv)
    writable(args.out)
    settings = Settings(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)
    data = to_squad(load_questions(args.questions), args.corpus, settings, args.negatives)
    args.out.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    n = sum(len(p["qas"]) for p in data["data"][0]["paragraphs"])
    print(f"{n} examples written to {args.out}")


if __name__ == "__main__":
    run_tool(main)
