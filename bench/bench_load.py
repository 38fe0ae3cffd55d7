"""Load test of a running poleqa web app: N concurrent clients ask seed questions for a fixed time.

Usage: python bench/bench_load.py [--url http://127.0.0.1:7860/] [--clients 20] [--duration 60]
Start the app first (`python app.py`); prints a markdown table: throughput, p50/p95, errors.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from poleqa.evaluation.metrics import percentile

QUESTIONS = (
    "Combien de pôles de compétitivité ont été labellisés en 2023 ?",
    "Combien de membres compte un pôle de compétitivité en moyenne ?",
    "Quels pôles ont leur siège en région Centre ?",
    "En quelle année la politique des pôles de compétitivité a-t-elle été lancée ?",
    "Combien d'adhérents regroupent les pôles de la Région Auvergne-Rhône-Alpes ?",
    "Quelle est la mission d'un pôle de compétitivité ?",
    "Combien de pôles ont été sélectionnés après l'appel à projets de 2004 ?",
    "Combien de membres compte l'écosystème CIMES ?",
)


CONVERSATION = 5  # questions per conversation before "Nouvelle conversation"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _assistant_text(messages: list) -> str:
    content = messages[-1]["content"] if messages else ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def call(client: httpx.Client, url: str, api: str, data: list, session: str) -> list:
    """One event through Gradio's queue, as the page sends it; the outputs when complete.

    Plain HTTP rather than gradio_client: that library costs more CPU than the server here, and
    the bench must measure the server.
    """
    body = {"data": data, "session_hash": session}
    joined = client.post(f"{url}gradio_api/call/{api}", json=body)
    joined.raise_for_status()
    event_id = joined.json()["event_id"]
    event = None
    with client.stream("GET", f"{url}gradio_api/call/{api}/{event_id}") as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "error":
                raise RuntimeError(f"server error: {line[5:].strip()[:200]}")
            elif line.startswith("data:") and event == "complete":
                return json.loads(line[5:])
    raise RuntimeError("stream ended without a result")


def client_loop(url: str, offset: int, stop_at: float, tally: Tally, distinct: bool) -> None:
    """A user: one session, asking questions; a new conversation every CONVERSATION questions."""
    i = offset
    session = uuid.uuid4().hex
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < stop_at:
            question = QUESTIONS[i % len(QUESTIONS)]
            if distinct:  # defeat the query-embedding cache: every question is new text
                question = f"{question[:-2]} (demande {offset}-{i}) ?"
            i += 1
            start = time.perf_counter()
            try:
                messages = call(client, url, "ask", [question], session)[1]  # box, chat, state
                html = _assistant_text(messages)
                error = None if "pq-answer" in html else f"no answer: {html[:120]}"
            except Exception as e:
                error = f"{type(e).__name__}: {e}"
            elapsed = time.perf_counter() - start
            with tally.lock:
                tally.latencies.append(elapsed)
                if error is not None:
                    tally.errors.append(error)
            if error is not None:
                time.sleep(0.2)  # e.g. server down: count the error, do not spin
            if (i - offset) % CONVERSATION == 0:  # keep the conversation (and payload) short
                try:
                    call(client, url, "new_conversation", [], session)
                except Exception as e:
                    with tally.lock:
                        tally.errors.append(f"new conversation: {type(e).__name__}: {e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (bounded run)")
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="make every question's text unique (no query-embedding cache hits)",
    )
    args = parser.parse_args(argv)
    args.url = args.url.rstrip("/") + "/"

    tally = Tally()
    began = time.monotonic()
    stop_at = began + args.duration
    threads = [
        threading.Thread(
            target=client_loop, args=(args.url, n, stop_at, tally, args.distinct), daemon=True
        )
        for n in range(args.clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.duration + 120)  # a stuck request cannot keep the bench running
    wall = time.monotonic() - began

    lat = tally.latencies
    ok = len(lat) - sum(1 for e in tally.errors if not e.startswith("new conversation"))
    print(
        "| clients | duration (s) | questions | errors | throughput (q/s) | p50 (s) | p95 (s) "
        "| max (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.clients} | {wall:.1f} | {len(lat)} | {len(tally.errors)} | {ok / wall:.2f} "
        f"| {statistics.median(lat) if lat else float('nan'):.3f} | {percentile(lat, 95):.3f} "
        f"| {max(lat) if lat else float('nan'):.3f} |"
    )
    for error in sorted(set(tally.errors))[:10]:
        print(f"- error: {error}", file=sys.stderr)
    return 1 if tally.errors or not lat else 0


if __name__ == "__main__":
    sys.exit(main())
