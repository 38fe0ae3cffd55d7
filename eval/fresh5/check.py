#!/usr/bin/env python3
"""Validate the fifth dev set on fresh documents (eval/fresh5) with eval/fresh's rules.

Usage: python3 eval/fresh5/check.py [DRAFT.jsonl ...]   (default: eval/fresh5/questions.jsonl)
"""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("fresh_check", HERE.parent / "fresh" / "check.py")
fresh = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fresh)  # one definition of the rules

if __name__ == "__main__":
    sys.exit(fresh.main(sys.argv[1:], HERE, min_docs=12))
