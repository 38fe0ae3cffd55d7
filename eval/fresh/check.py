#!/usr/bin/env python3
"""Validate a dev set on fresh documents: corpus headers, questions, answers verbatim in sources.

Usage: python3 eval/fresh/check.py [DRAFT.jsonl ...]   (default: eval/fresh/questions.jsonl;
exit code 0 when everything passes, 1 otherwise). eval/fresh2/check.py … eval/fresh6/check.py
are links to this file: each checks the set of the folder it is run from, by the same rules.
"""

import importlib.util
import sys
import tempfile
from pathlib import Path

# not resolved: run through a link (eval/fresh2/check.py), it checks the link's folder
HERE = Path(__file__).absolute().parent
_spec = importlib.util.spec_from_file_location("domain_check", HERE.parent / "domain" / "check.py")
domain = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(domain)  # the in-domain set's rules: one definition of them


MIN_DOCS = 12  # documents of its own in every fresh set


def main(argv: list[str]) -> int:
    """Checks the set of the folder it is run from: its documents, the seeds linked, questions."""
    errors: list[str] = []
    corpus = HERE / "corpus"
    # `seeds/` links the five shipped documents (distractors, as in the set poleqa is judged on);
    # the in-domain rules (file names, header lines, 1,500-6,000 characters) apply to the rest.
    with tempfile.TemporaryDirectory() as tmp:
        for path in corpus.glob("*.md"):
            (Path(tmp) / path.name).symlink_to(path)
        docs = domain.check_corpus(errors, Path(tmp), min_docs=0 if argv else MIN_DOCS)
    seeds = sorted(p.name for p in (corpus / "seeds").iterdir() if p.suffix == ".txt")
    if len(seeds) != 5:
        errors.append(f"corpus/seeds: {len(seeds)} documents, expected the 5 of corpus/")
    docs.update(
        {f"seeds/{n}": domain.fold((corpus / "seeds" / n).read_text("utf-8")) for n in seeds}
    )
    return domain.check_drafts(argv or [str(HERE / "questions.jsonl")], docs, errors)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
