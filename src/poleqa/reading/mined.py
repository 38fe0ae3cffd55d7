"""Reader-mined negatives: retrieved passages that lack a training question's answer but that a
reader still answers from, as SQuAD-format « no answer » examples for the next training stage.

python -m poleqa.reading.mined QUESTIONS CORPUS INDEX OUT.json [--reader-dir DIR]

`reading.domain_data` gives each question one hard negative chosen by shared rare words; these
are the passages the chat itself would read (the real retrieval, top `depth` of the set's own
documents), kept only where the reader answers (span score above its no-answer score): its
confident mistakes, the strongest first. For an unanswerable question every passage retrieved
lacks the answer, so its near misses are mined too. As in `domain_data`, only the documents
the set's questions cite lend text (a shared corpus never lends a dev or test document's).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from poleqa.config import Settings, default_cache_dir
from poleqa.errors import run_tool, writable
from poleqa.evaluation.questions import Question, load_questions
from poleqa.pipeline import Pipeline
from poleqa.reading import load_span_model
from poleqa.reading.squad import squad_file
from poleqa.reading.trained import TrainedReader
from poleqa.reading.windows import title_prefix
from poleqa.text import fold

RETRIEVED = 30  # passages retrieved before keeping the set's own documents' first `depth`


@dataclass(frozen=True)
class MinedNegative:
    """A passage (as the reader reads it: title, line break, text) a question is not answered
    by, and by how much the reader's span beat its no-answer score there."""

    question: Question
    context: str
    margin: float


def mine(
    questions: Sequence[Question],
    pipeline: Pipeline,
    reader: TrainedReader,
    depth: int = 6,
    per_question: int = 2,
) -> list[MinedNegative]:
    """Up to `per_question` negatives per question, the highest margin first."""
    own = {s for q in questions for s in q.sources}
    out = []
    for q in questions:
        query = pipeline.query(q.question)
        golds = [fold(a) for a in q.answers]
        hits = [
            h
            for h in pipeline.retrieve(query, k=RETRIEVED)
            if h.chunk.source in own and not any(g and g in fold(h.chunk.text) for g in golds)
        ][:depth]
        answered = [
            MinedNegative(q, title_prefix(s.hit.info.title) + s.hit.chunk.text, margin)
            for s in reader.read(query, hits)
            if (margin := s.score - s.no_answer) > 0
        ]
        answered.sort(key=lambda m: m.margin, reverse=True)
        out += answered[:per_question]
    return out


def to_squad(negatives: Sequence[MinedNegative]) -> dict:
    """The SQuAD-format dict `reading.training --domain` reads: one unanswerable example each."""
    paragraphs = []
    seen: dict[str, int] = {}
    for m in negatives:
        n = seen[m.question.id] = seen.get(m.question.id, 0) + 1
        qa = {
            "id": f"{m.question.id}-mined{n}",
            "question": m.question.question,
            "answers": [],
            "is_impossible": True,
        }
        paragraphs.append({"context": m.context, "qas": [qa]})
    return squad_file("poleqa-mined", paragraphs)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("index", type=Path, help="index folder (built there if missing)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--reader-dir", type=Path, help="reader weights (default: the shipped ones)")
    ap.add_argument("--depth", type=int, default=6, help="own passages read per question")
    ap.add_argument("--per-question", type=int, default=2, help="negatives kept per question")
    args = ap.parse_args(argv)
    settings = Settings(
        cache_dir=default_cache_dir(),
        corpus_dir=args.corpus,
        index_dir=args.index,
        reader_dir=args.reader_dir,
        reader="sentences",  # retrieval only: the reader below reads, no judge is needed
    )
    writable(args.out)  # before the questions are read
    pipeline = Pipeline(settings)
    pipeline.ensure_index(progress=True)
    reader = TrainedReader(load_span_model(settings), args.depth)
    questions = load_questions(args.questions)
    negatives = mine(questions, pipeline, reader, args.depth, args.per_question)
    args.out.write_text(json.dumps(to_squad(negatives), ensure_ascii=False), "utf-8")
    print(f"{len(negatives)} negatives for {len(questions)} questions written to {args.out}")


if __name__ == "__main__":
    run_tool(main)
