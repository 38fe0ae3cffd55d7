"""PDF reading speed in one run: poleqa's reader (pdfplumber, the layout rebuilt) against pypdf's
plain text extraction (the reader before session 52), interleaved, on the same files.

Usage: python bench/bench_pdf.py FOLDER [--rounds N]
FOLDER: PDF files (e.g. documents printed to PDF). A Markdown table on stdout: pages per
second of each and their ratio. Not a test: numbers depend on the machine (run it quiet).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

from pypdf import PdfReader  # a test dependency of poleqa (pip install -e '.[test]')

from poleqa.ingest.pdf import read_pdf


def _pypdf_text(raw: bytes) -> str:
    return "\n\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(raw)).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.pdf"))
    if not files:
        parser.error(f"no PDF in {args.folder}")
    raws = [f.read_bytes() for f in files]
    pages = sum(len(PdfReader(io.BytesIO(r)).pages) for r in raws)
    timings: dict[str, list[float]] = {"poleqa (pdfplumber, layout)": [], "pypdf extract_text": []}
    for _ in range(args.rounds):  # interleaved: a noisy machine slows both alike
        for name, read in zip(timings, (read_pdf, _pypdf_text), strict=True):
            start = time.perf_counter()
            for raw in raws:
                read(raw)
            timings[name].append(time.perf_counter() - start)
    base = statistics.median(timings["pypdf extract_text"])
    print(f"{len(files)} PDFs, {pages} pages, {args.rounds} rounds (median)\n")
    print("| reader | pages/s | time ratio |\n|---|---|---|")
    for name, times in timings.items():
        t = statistics.median(times)
        print(f"| {name} | {pages / t:.1f} | {t / base:.2f}× |")


if __name__ == "__main__":
    main()
