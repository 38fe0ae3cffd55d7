#!/usr/bin/env python3
"""Validate the second training set: corpus headers, questions, answers verbatim in sources.

Usage: python3 eval/train2/check.py [DRAFT.jsonl ...]   (default: eval/train2/questions.jsonl;
exit code 0 when everything passes, 1 otherwise)
"""

import importlib.util
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("domain_check", HERE.parent / "domain" / "check.py")
domain = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(domain)  # the in-domain set's rules: one definition of them
FNAME = re.compile(r"^trn\d{2}_[a-z0-9]+(?:-[a-z0-9]+)*\.md$")


def check_corpus(errors: list[str]) -> dict[str, str]:
    """The in-domain rules (headers, 1,500-6,000 characters) on this corpus's files."""
    docs = {}
    for path in sorted((HERE / "corpus").glob("*.md")):
        if not FNAME.match(path.name):
            errors.append(f"corpus: bad file name {path.name!r}")
            continue
        sub: list[str] = []
        text = path.read_text("utf-8")
        docs[path.name] = domain.fold(text)
        lines = text.split("\n")
        if len(lines) < 3 or not lines[0].startswith("# ") or not lines[1].startswith("Source: "):
            sub.append(f"{path.name}: lines 1-2 must be '# Titre' and 'Source: URL'")
        elif not re.fullmatch(r"Date: \d{4}-\d{2}-\d{2}", lines[2]):
            sub.append(f"{path.name}: line 3 must be 'Date: AAAA-MM-JJ'")
        if not 1500 <= len(text) <= 6000:
            sub.append(f"{path.name}: {len(text)} characters, expected 1,500-6,000")
        errors += sub
    return docs


def main(argv: list[str]) -> int:
    errors: list[str] = []
    docs = check_corpus(errors)
    return domain.check_drafts(argv or [str(HERE / "questions.jsonl")], docs, errors)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
