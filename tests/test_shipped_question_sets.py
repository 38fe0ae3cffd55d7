"""The shipped question sets: every gold answer in its source, each set's own checker passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from poleqa.evaluation import Question, load_questions

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("questions", "corpus"),
    [("eval/dev/questions.jsonl", "eval/dev/corpus"), ("eval/seeds.jsonl", "corpus")],
)
def test_gold_answers_are_in_their_cited_sources(questions: str, corpus: str) -> None:
    qs = load_questions(ROOT / questions)
    root = ROOT / corpus
    problems = []
    for x in qs:
        if not x.answerable:
            assert (x.answers, x.sources, x.type) == ((), (), "unanswerable"), x.id
            continue
        assert x.sources, x.id
        texts = []
        for s in x.sources:
            if not (root / s).is_file():
                problems.append(f"{x.id}: source {s} missing")
            else:
                texts.append((root / s).read_text(encoding="utf-8").casefold())
        problems += [
            f"{x.id}: {a!r} not in {x.sources}"
            for a in x.answers
            if not any(a.casefold() in t for t in texts)
        ]
    assert problems == []


def _passes(checker: Path) -> str:
    """A question set's checker script exits 0 and ends with OK; what it printed."""
    proc = subprocess.run(
        [sys.executable, str(checker)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert proc.stdout.rstrip().endswith("OK")
    return proc.stdout


def _own_questions_pass(name: str) -> list[Question]:
    """eval/NAME's checker passes on NAME's own questions, which it returns."""
    questions = load_questions(ROOT / "eval" / name / "questions.jsonl")
    # a checker shared through links (fresh2-6, train3) must read its own folder's questions,
    # not those of the file it links to (which pass too)
    assert f" {len(questions)} questions" in _passes(ROOT / "eval" / name / "check.py")
    return questions


def test_domain_question_set_passes_its_check() -> None:
    """eval/domain: headers, sizes, splits by document, every answer verbatim in its source."""
    _passes(ROOT / "eval" / "domain" / "check.py")
    for split in (
        "train",
        "train-extra",
        "train-contrast",
        "dev",
        "dev-extra",
        "dev-extra2",
        "test",
    ):
        assert load_questions(ROOT / "eval" / "domain" / f"{split}.jsonl")  # poleqa reads them


def test_domain_split_reproduces_the_shipped_files(tmp_path: Path) -> None:
    """split.py, run on a copy, writes the split files and splits.json byte for byte: the draw
    and the label audit (label-audit.json, applied after the draw) are what the files hold."""
    shutil.copytree(ROOT / "eval" / "domain", tmp_path / "domain")
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "domain" / "split.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("train", "dev", "test", "dev-extra", "dev-extra2"):
        shipped = (ROOT / "eval" / "domain" / f"{name}.jsonl").read_bytes()
        assert (tmp_path / "domain" / f"{name}.jsonl").read_bytes() == shipped, name
    splits = (tmp_path / "domain" / "splits.json").read_bytes()
    assert splits == (ROOT / "eval" / "domain" / "splits.json").read_bytes()
    # train-extra.jsonl (written by hand, not by split.py) carries the audit's decisions too
    audit = json.loads((ROOT / "eval" / "domain" / "label-audit.json").read_text("utf-8"))
    written = {
        q["id"]: q
        for name in ("train", "train-extra", "dev")
        for line in (ROOT / "eval" / "domain" / f"{name}.jsonl").read_text("utf-8").splitlines()
        for q in [json.loads(line)]
    }
    assert not written.keys() & set(audit["dropped"])
    for qid, fix in audit["relabelled"].items():
        assert written[qid]["answerable"] and written[qid]["answers"] == fix["answers"], qid


@pytest.mark.parametrize("name", ["fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6"])
def test_fresh_dev_sets_pass_their_check(name: str) -> None:
    """eval/fresh to fresh6 (choosing only): headers, sizes, every answer verbatim in its
    source; their seeds/ are links to the shipped corpus' five documents, not copies."""
    questions = _own_questions_pass(name)
    assert len(questions) >= 100 and any(not q.answerable for q in questions)
    seeds = ROOT / "eval" / name / "corpus" / "seeds"
    for link in seeds.iterdir():
        assert link.is_symlink() and link.resolve() == (ROOT / "corpus" / link.name).resolve()


@pytest.mark.parametrize("name", ["train2", "train3"])
def test_training_sets_of_their_own_corpus_pass_their_check(name: str) -> None:
    """eval/train2 and train3 (training data only): headers, sizes, every answer verbatim in
    its source, and no document shared with the in-domain sets' corpus (their figures stay
    comparable) or with the other training set."""
    questions = _own_questions_pass(name)
    assert len(questions) >= 100 and any(not q.answerable for q in questions)
    ours = {p.name for p in (ROOT / "eval" / name / "corpus").iterdir()}
    assert len(ours) >= 12
    others = [ROOT / "eval" / d / "corpus" for d in ("domain", "train2", "train3") if d != name]
    assert not ours & {p.name for folder in others for p in folder.iterdir()}
