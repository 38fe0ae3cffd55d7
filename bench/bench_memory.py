"""The chat server's memory across a web re-index: resident memory before, after and at peak.

Usage: python bench/bench_memory.py [--corpus corpus] [--reader trained] [--questions 5]
                                    [--build-at-start]
Starts `poleqa serve` on a copy of the corpus (its index built beforehand by `poleqa index`, so
the server only loads it; with --build-at-start, by the server as it starts), asks a few
questions, adds a document, presses « Réindexer » through the staff API, asks again, and reads
the server's VmRSS / VmHWM from /proc. Linux only. Not a test: numbers depend on the machine.
Prints a markdown table. Two trees side by side: run it with PYTHONPATH=OTHER/src, alternately.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench-memoire"
QUESTIONS = [
    "Combien de pôles de compétitivité ont été labellisés en 2023 ?",
    "Qu'est-ce qu'un pôle de compétitivité ?",
    "Quelles sont les phases de la politique des pôles ?",
    "Qui finance les projets des pôles ?",
    "Combien de pôles compte la région Auvergne-Rhône-Alpes ?",
]
NEW_DOCUMENT = "# Le pôle Zéphyr\nDate: 2025-06-01\n\nLe pôle Zéphyr compte 77 adhérents.\n"


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB: resident now, and its peak so far."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped (exit {proc.returncode})")
        try:
            if httpx.get(url + "etat", timeout=5).json().get("pret"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit("the server was not ready in time")


def ask_all(url: str, questions: list[str]) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    for q in questions:
        client.predict(q, api_name="/ask")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus")
    ap.add_argument("--reader", default="trained", help="the reader the server answers with")
    ap.add_argument("--questions", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument(
        "--build-at-start",
        action="store_true",
        help="no index beforehand: the server builds it as it starts (its memory after that)",
    )
    args = ap.parse_args()
    from gradio_client import Client

    questions = QUESTIONS[: args.questions]
    with tempfile.TemporaryDirectory(prefix="poleqa-mem-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(args.corpus, corpus)
        env = {**os.environ, "POLEQA_STAFF_PASSWORD": PASSWORD, "POLEQA_DATA": f"{tmp}/data"}
        common = ["--corpus", str(corpus), "--index", str(index)]
        cli = [sys.executable, "-c", "from poleqa.cli import main; main()"]
        if not args.build_at_start:
            subprocess.run([*cli, "index", *common], env=env, check=True, capture_output=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        server = subprocess.Popen(
            [*cli, "serve", *common, "--reader", args.reader, "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(url, server, args.timeout)
            ready = memory_mb(server.pid)
            ask_all(url, questions)
            asked = memory_mb(server.pid)
            (corpus / "zz_zephyr.md").write_text(NEW_DOCUMENT, encoding="utf-8")
            staff = Client(url + "equipe/", auth=("equipe", PASSWORD), verbose=False)
            t = time.perf_counter()
            shown = staff.predict(api_name="/reindex")
            reindex_s = time.perf_counter() - t
            after = memory_mb(server.pid)
            ask_all(url, questions)
            again = memory_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"\nServer memory, reader {args.reader}, corpus {args.corpus.name} (MB):\n")
    print("| moment | resident (VmRSS) | peak so far (VmHWM) |\n|---|---|---|")
    for name, (rss, hwm) in (
        ("ready (index built at start)" if args.build_at_start else "ready (index loaded)", ready),
        (f"after {len(questions)} questions", asked),
        (f"after a web re-index ({reindex_s:.0f} s)", after),
        (f"after {len(questions)} more questions", again),
    ):
        print(f"| {name} | {rss:.0f} | {hwm:.0f} |")
    print(f"\nre-index message: {' '.join(str(shown).split())[:160]}")


if __name__ == "__main__":
    main()
