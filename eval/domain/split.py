#!/usr/bin/env python3
"""Split the writers' questions (drafts/*.jsonl) into train/dev/test by document; reproducible.

Usage: python3 eval/domain/split.py   (writes train, dev, test, dev-extra and dev-extra2 .jsonl,
splits.json)

Documents linked by a multi-document question stay in one split. An unanswerable question cites
no document: it goes with the document of its writer's batch whose words it shares most (the pôle,
fund or Région it names). Within each document family (file prefix), about half the documents go
to train, a quarter to dev and a quarter to test, in an order fixed by SEED. The questions of
extra-dev/ (written later) go to dev-extra.jsonl; their documents are dev, out of the draw. The
questions of extra-dev2/ (written later still, on dev documents only) go to dev-extra2.jsonl.
The label audit (label-audit.json) is applied to what is written, after the draw.
"""

import json
import random
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 2026
SHARES = (("train", 0.5), ("dev", 0.25), ("test", 0.25))


def words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return {w for w in re.findall(r"[a-z0-9]+", folded) if len(w) > 3}


def about(question: dict, batch_docs: list[str], texts: dict[str, str], df: Counter) -> str:
    """The writer's document sharing the rarest words with an unanswerable question."""
    q = words(question["question"])

    def score(doc: str) -> float:
        return sum(1.0 / df[w] for w in q & words(texts[doc]))

    return max(batch_docs, key=score)


def components(questions: list[dict], docs: list[str]) -> list[list[str]]:
    parent = {d: d for d in docs}

    def find(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    for q in questions:
        for other in q["sources"][1:]:
            parent[find(other)] = find(q["sources"][0])
    groups = defaultdict(list)
    for d in docs:
        groups[find(d)].append(d)
    return sorted(sorted(g) for g in groups.values())


def assign(groups: list[list[str]]) -> dict[str, str]:
    """Document → split, stratified by family (the file prefix before the number)."""
    rng = random.Random(SEED)
    by_family = defaultdict(list)
    for g in groups:
        by_family[re.match(r"[a-z]+", g[0]).group()].append(g)
    split = {}
    for family in sorted(by_family):
        family_groups = by_family[family]
        rng.shuffle(family_groups)
        total = sum(len(g) for g in family_groups)
        filled = Counter()
        for g in family_groups:
            name = next(
                (n for n, share in SHARES if filled[n] + len(g) / 2 <= share * total), "train"
            )
            filled[name] += len(g)
            split.update({d: name for d in g})
    return split


def write(name: str, questions: list[dict]) -> None:
    """HERE/NAME.jsonl, one question per line."""
    lines = [json.dumps(q, ensure_ascii=False) for q in questions]
    (HERE / f"{name}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")


def batches(folder: str) -> list[list[dict]]:
    """The writers' question files in `folder`, one list of questions per file."""
    return [
        [json.loads(line) for line in draft.read_text("utf-8").splitlines() if line]
        for draft in sorted((HERE / folder).glob("*.jsonl"))
    ]


def main() -> None:
    # extra-dev/ (written later): all dev, kept out of the draw, gathered into dev-extra.jsonl
    later = [q for batch in batches("extra-dev") for q in batch]
    later_docs = {s: "dev" for q in later for s in q["sources"]}
    texts = {
        p.name: p.read_text("utf-8")
        for p in sorted((HERE / "corpus").glob("*.md"))
        if p.name not in later_docs
    }
    df = Counter(w for t in texts.values() for w in words(t))
    questions, batch_of = [], {}
    for batch in batches("drafts"):
        cited = sorted({s for q in batch for s in q["sources"]})
        for q in batch:
            batch_of[q["id"]] = cited
        questions += batch
    split = assign(components(questions, sorted(texts)))
    out: dict[str, list[dict]] = {name: [] for name, _ in SHARES}
    audit = json.loads((HERE / "label-audit.json").read_text("utf-8"))
    for q in questions:
        doc = q["sources"][0] if q["sources"] else about(q, batch_of[q["id"]], texts, df)
        if q["id"] not in audit["dropped"]:  # the audit applies after the draw: it stays as drawn
            fix = audit["relabelled"].get(q["id"])
            out[split[doc]].append({**q, **fix, "answerable": True} if fix else q)
    for name, items in out.items():
        write(name, items)
        n_docs = sum(1 for s in split.values() if s == name)
        print(f"{name}: {n_docs} documents, {len(items)} questions")
    write("dev-extra", later)
    print(f"dev-extra: {len(later_docs)} documents, {len(later)} questions")
    split.update(later_docs)
    # extra-dev2/: more questions on the dev documents (the draw and every other file unchanged)
    later2 = [q for batch in batches("extra-dev2") for q in batch]
    outside = sorted({s for q in later2 for s in q["sources"] if split.get(s) != "dev"})
    if outside:
        raise SystemExit(f"extra-dev2 cites documents outside dev: {outside}")
    write("dev-extra2", later2)
    print(
        f"dev-extra2: {len({s for q in later2 for s in q['sources']})} documents cited, "
        f"{len(later2)} questions"
    )
    (HERE / "splits.json").write_text(json.dumps(split, indent=1, sort_keys=True) + "\n", "utf-8")


if __name__ == "__main__":
    main()
