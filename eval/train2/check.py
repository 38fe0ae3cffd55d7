#!/usr/bin/env python3
"""Validate a training set with its own corpus: headers, questions, answers verbatim in sources.

Usage: python3 eval/train2/check.py [DRAFT.jsonl ...]   (default: eval/train2/questions.jsonl;
exit code 0 when everything passes, 1 otherwise). eval/train3/check.py is a link to this file:
it checks the set of the folder it is run from, by the same rules.
"""

import importlib.util
import sys
from pathlib import Path

# not resolved: run through a link (eval/train3/check.py), it checks the link's own folder
HERE = Path(__file__).absolute().parent
_spec = importlib.util.spec_from_file_location("domain_check", HERE.parent / "domain" / "check.py")
domain = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(domain)  # the in-domain set's rules: one definition of them


def main(argv: list[str]) -> int:
    errors: list[str] = []
    # the in-domain rules (file names, header lines, 1,500-6,000 characters) on this corpus
    docs = domain.check_corpus(errors, HERE / "corpus", min_docs=12)
    return domain.check_drafts(argv or [str(HERE / "questions.jsonl")], docs, errors)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
