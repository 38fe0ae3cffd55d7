#!/usr/bin/env python3
"""Validate the in-domain question set: corpus headers, the three splits, answers in sources.

Usage: python3 eval/domain/check.py   (exit code 0 when everything passes, 1 otherwise)
       python3 eval/domain/check.py DRAFT.jsonl ...   (one writer's draft against the corpus)
"""

import datetime
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
# question files and the split their documents belong to (train-extra: more training questions;
# train-contrast: contrastive pairs on the train documents, each twin checked against the train
# documents only; dev-extra: more dev questions on twelve documents written later, all in dev;
# dev-extra2: more questions on the dev documents, written later still)
FILES = (
    ("train", "train"),
    ("train-extra", "train"),
    ("train-contrast", "train"),
    ("dev", "dev"),
    ("dev-extra", "dev"),
    ("dev-extra2", "dev"),
    ("test", "test"),
)
TYPES = {
    "number",
    "date",
    "name",
    "list",
    "definition",
    "why",
    "yesno",
    "paraphrase",
    "english",
    "unanswerable",
}
TAGS = {"temporal", "multidoc"}
KEYS = {"id", "question", "answers", "sources", "answerable", "type"}
FNAME = re.compile(r"^[a-z]{3}\d{2}_[a-z0-9]+(?:-[a-z0-9]+)*\.md$")


def fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.replace("\u2019", "'").replace("\u00a0", " "))
    return " ".join("".join(c for c in s if not unicodedata.combining(c)).split()).casefold()


def check_corpus(
    errors: list[str], folder: Path = HERE / "corpus", min_docs: int = 60
) -> dict[str, str]:
    """Every document's name, header lines and size; the folded texts by file name."""
    docs = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        if not FNAME.match(name):
            errors.append(f"corpus: bad file name {name!r}")
            continue
        text = path.read_text("utf-8")
        docs[name] = fold(text)
        lines = [*text.split("\n"), "", "", ""]  # a file of fewer lines fails, not crashes
        if not lines[0].startswith("# ") or not lines[1].startswith("Source: "):
            errors.append(f"{name}: lines 1-2 must be '# Titre' and 'Source: URL'")
        m = re.fullmatch(r"Date: (\d{4}-\d{2}-\d{2})", lines[2])
        try:
            datetime.date.fromisoformat(m.group(1) if m else "")
        except ValueError:
            errors.append(f"{name}: line 3 must be 'Date: AAAA-MM-JJ'")
        if not 1500 <= len(text) <= 6000:
            errors.append(f"{name}: {len(text)} characters, expected 1,500-6,000")
    if len(docs) < min_docs:
        errors.append(f"corpus: {len(docs)} documents, expected at least {min_docs}")
    return docs


def check_question(q: dict, docs: dict[str, str], errors: list[str]) -> None:
    qid = q.get("id")
    if not q.keys() >= KEYS or q.keys() - KEYS - {"tags"}:
        errors.append(f"{qid}: keys must be {sorted(KEYS)} and optional 'tags'")
        return
    if q["type"] not in TYPES or not set(q.get("tags", [])) <= TAGS:
        errors.append(f"{qid}: unknown type {q['type']!r} or tags {q.get('tags')!r}")
    if not q["answerable"]:
        if q["answers"] or q["sources"] or q["type"] != "unanswerable":
            errors.append(f"{qid}: unanswerable: answers and sources empty, type 'unanswerable'")
        return
    if not q["answers"] or not q["sources"] or q["type"] == "unanswerable":
        errors.append(f"{qid}: an answerable question needs answers, sources and a type")
        return
    missing = [s for s in q["sources"] if s not in docs]
    if missing:
        errors.append(f"{qid}: sources not in the corpus: {missing}")
        return
    for a in q["answers"]:
        if not any(fold(a) in docs[s] for s in q["sources"]):
            errors.append(f"{qid}: answer {a!r} is not verbatim in its sources")


def check_drafts(paths: list[str], docs: dict[str, str], errors: list[str]) -> int:
    """Writers' drafts against `docs`: every question's fields and answers, no duplicate
    question or id; prints the counts and every problem (with `errors` found before)."""
    questions = []
    for path in paths:
        for n, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
            if line.strip():
                try:
                    questions.append(json.loads(line))
                except ValueError as e:
                    errors.append(f"{Path(path).name}:{n}: not JSON ({e})")
    for q in questions:
        check_question(q, docs, errors)
    seen = Counter(fold(q.get("question", "")) for q in questions)
    errors += [f"duplicate question: {q!r}" for q, n in seen.items() if n > 1]
    ids = Counter(q.get("id") for q in questions)
    errors += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    types = Counter(q.get("type") for q in questions)
    print(f"{len(docs)} documents, {len(questions)} questions; types {dict(sorted(types.items()))}")
    for e in errors:
        print(" -", e)
    print("OK" if not errors else f"FAILED: {len(errors)} problem(s)")
    return 1 if errors else 0


def main() -> int:
    errors: list[str] = []
    docs = check_corpus(errors)
    if sys.argv[1:]:
        return check_drafts(sys.argv[1:], docs, errors)
    seen: Counter = Counter()
    doc_split: dict[str, set[str]] = {}
    everything = []
    briefed: Counter = Counter()  # the types of the files written to the question brief
    for name, split in FILES:
        lines = (HERE / f"{name}.jsonl").read_text("utf-8").splitlines()
        questions = [json.loads(line) for line in lines if line.strip()]
        everything += questions
        if name != "train-contrast":
            briefed.update(q["type"] for q in questions)
        for q in questions:
            check_question(q, docs, errors)
            seen[fold(q["question"])] += 1
            for s in q.get("sources", []):
                doc_split.setdefault(s, set()).add(split)
        print(f"{name}: {len(questions)} questions")
    errors += [f"duplicate question: {q!r}" for q, n in seen.items() if n > 1]
    errors += [
        f"{d} is cited from several splits: {sorted(s)}" for d, s in doc_split.items() if len(s) > 1
    ]
    ids = Counter(q["id"] for q in everything)
    errors += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    types = Counter(q["type"] for q in everything)
    n = len(everything)
    print(f"{len(docs)} documents, {n} questions; types {dict(sorted(types.items()))}")
    # the shares are the question brief's; the contrastive pairs follow their own brief
    # (drafts/contrast/writer-brief.md: half unanswerable, an English pair in eight)
    m = briefed.total()
    if m < 500:
        errors.append(f"{m} questions, expected at least 500")
    if briefed["unanswerable"] < 0.2 * m or briefed["english"] < 0.1 * m:
        errors.append("expected at least 20 % unanswerable and 10 % English questions")
    for e in errors:
        print(" -", e)
    print("OK" if not errors else f"FAILED: {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
