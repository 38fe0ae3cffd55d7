"""The trained reader's speed, in one run (run with nothing else busy).

1. The span model in each precision (fp32; bf16 weights; bf16-mixed, fp32 weights under
   autocast; int8) on the same (question, passage) pairs: passages/s and how often each gives
   fp32's span; with --onnx, also its ONNX Runtime export in fp32 and with int8 weights (per
   channel, dynamic activations).
2. `Pipeline.ask` p50/p95 with the trained reader, the same reading the fused passage order
   (no learned ranker: `Settings.rerank` off) and the sentence scorer, interleaved question by
   question, on each (questions, corpus, index) given (--latency-only: this part alone).
With --combining instead: the span model (default precision, every core) reading the same
questions' passages one question after another, then from 4 threads at once (the web server's
concurrency: calls read together, SpanModel.read), then in one call (every pair in batches).

Usage: python bench/bench_reader.py --set eval/seeds.jsonl corpus INDEX \
    [--set eval/domain/dev.jsonl eval/domain/corpus INDEX] [--questions 40] [--onnx] [--combining]
    [--latency-only]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import torch

from poleqa.cli.serve_cmd import usable_cores
from poleqa.config import Settings, default_cache_dir
from poleqa.evaluation.metrics import percentile
from poleqa.evaluation.questions import load_questions
from poleqa.pipeline import CANDIDATE_HITS, Pipeline
from poleqa.reading import load_span_model
from poleqa.reading.span_model import PRECISIONS, SpanModel


class _OrtSpans:
    """The span model's forward pass through an ONNX Runtime session (SpanModel calls it)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort  # only with --onnx

        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def eval(self) -> _OrtSpans:
        return self

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        feed = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        start, end = self.session.run(None, feed)
        return SimpleNamespace(
            start_logits=torch.from_numpy(start), end_logits=torch.from_numpy(end)
        )


def onnx_model(fp32: SpanModel, folder: Path, variant: str) -> SpanModel:
    """fp32 exported to ONNX (once per folder), with int8 weights (per channel) for onnx-int8."""
    from onnxruntime.quantization import QuantType, quantize_dynamic  # only with --onnx

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = fp32.model

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.model(input_ids=ids, attention_mask=mask)
            return out.start_logits, out.end_logits

    if not (folder / "span.onnx").exists():
        ids = torch.ones((2, 16), dtype=torch.long)
        mask = torch.ones_like(ids)
        mask[1, 9:] = 0  # a padded row: the traced graph takes the masked attention path
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Logits(), (ids, mask), str(folder / "span.onnx"), opset_version=17,
                dynamo=False, input_names=["input_ids", "attention_mask"],
                output_names=["start", "end"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "start": axes,
                              "end": axes},
            )  # fmt: skip
    path = folder / "span.onnx"
    if variant == "onnx-int8":
        path = folder / "span-int8.onnx"
        quantize_dynamic(folder / "span.onnx", path, per_channel=True, weight_type=QuantType.QInt8)
    return SpanModel(_OrtSpans(path), fp32.tokenizer, fp32.manifest)


def read_variant(settings: Settings, variant: str, pairs_file: Path, folder: Path) -> dict:
    """In a process of its own: one variant's rate and spans on the pairs."""
    pairs = json.loads(pairs_file.read_text("utf-8"))
    if variant.startswith("onnx"):
        fp32 = load_span_model(settings.with_(reader_precision="fp32"))
        model = onnx_model(fp32, folder, variant)
    else:
        model = load_span_model(settings.with_(reader_precision=variant))
    questions, passages = [q for q, _ in pairs], [p for _, p in pairs]
    model.read(questions[:8], passages[:8])  # warm-up
    start = time.perf_counter()
    spans = model.read(questions, passages)
    seconds = time.perf_counter() - start
    got = [(s.start, s.end, bool(s.score > s.null_score)) for s in spans]
    return {"passages_per_s": round(len(pairs) / seconds, 1), "spans": got}


def precisions(pairs: list[tuple[str, str]], variants: list[str], extra: list[str]) -> dict:
    """Each variant read in a fresh process (one variant's libraries and threads never slow
    or change another's), compared with fp32's spans."""
    with tempfile.TemporaryDirectory(prefix="poleqa-bench-") as tmp:
        pairs_file = Path(tmp) / "pairs.json"
        pairs_file.write_text(json.dumps(pairs), "utf-8")
        out, reference = {}, None
        for variant in variants:
            argv = [sys.executable, __file__, "--variant", variant, "--pairs", str(pairs_file)]
            proc = subprocess.run([*argv, "--work", tmp, *extra], capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{variant} failed:\n{proc.stderr[-3000:]}")
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            spans = [tuple(s) for s in got["spans"]]
            reference = reference or spans
            same = sum(a == b for a, b in zip(spans, reference, strict=True)) / len(spans)
            out[variant] = {"passages_per_s": got["passages_per_s"], "same_as_fp32": round(same, 3)}
    return out


def combining(settings: Settings, pairs: list[tuple[str, str]], per_question: int) -> dict:
    """Passages/s: one question per call in turn, four threads calling at once, one call."""
    model = load_span_model(settings.with_(reader_threads=usable_cores()))
    calls = [pairs[i : i + per_question] for i in range(0, len(pairs), per_question)]

    def read(call: list[tuple[str, str]]) -> None:
        model.read([q for q, _ in call], [p for _, p in call])

    read(calls[0])  # warm-up
    rates = {}
    with ThreadPoolExecutor(4) as pool:  # started before the clock
        for name, run in (
            ("one question at a time", lambda: [read(c) for c in calls]),
            ("4 threads at once", lambda: list(pool.map(read, calls))),
            ("all in one call", lambda: read(pairs)),
        ):
            start = time.perf_counter()
            run()
            rates[name] = round(len(pairs) / (time.perf_counter() - start), 1)
    return {"passages_per_s": rates}


def latencies(settings: Settings, questions: list[str]) -> dict:
    pipes = {
        "trained": Pipeline(settings.with_(reader="trained")),
        "trained, fused order": Pipeline(settings.with_(reader="trained", rerank=False)),
        "sentences": Pipeline(settings.with_(reader="sentences")),
    }
    for pipe in pipes.values():
        for q in questions[:3]:
            pipe.ask(q)  # warm-up: models, index, statistics
    times: dict[str, list[float]] = {r: [] for r in pipes}
    for q in questions:
        for r, pipe in pipes.items():
            start = time.perf_counter()
            pipe.ask(q)
            times[r].append((time.perf_counter() - start) * 1000)
    return {
        r: {
            "ask_p50_ms": round(statistics.median(t), 1),
            "ask_p95_ms": round(percentile(t, 95), 1),
        }
        for r, t in times.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", nargs=3, action="append")
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--reader-dir", type=Path)
    ap.add_argument("--onnx", action="store_true", help="also the ONNX Runtime export")
    ap.add_argument("--combining", action="store_true", help="only calls read together")
    ap.add_argument("--latency-only", action="store_true", help="only `ask` p50/p95")
    ap.add_argument("--variant", help=argparse.SUPPRESS)  # the child process of `precisions`
    ap.add_argument("--pairs", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    base = Settings(cache_dir=default_cache_dir(), reader_dir=args.reader_dir)
    if args.variant:
        print(json.dumps(read_variant(base, args.variant, args.pairs, args.work)))
        return
    if not args.set:
        ap.error("--set is required")
    variants = [*PRECISIONS, *(("onnx-fp32", "onnx-int8") if args.onnx else ())]
    extra = ["--reader-dir", str(args.reader_dir)] if args.reader_dir else []
    report: dict = {}
    for qfile, corpus, index in args.set:
        settings = base.with_(corpus_dir=Path(corpus), index_dir=Path(index))
        questions = [q.question for q in load_questions(Path(qfile))][: args.questions]
        if "precision" not in report and not args.latency_only:
            pipe = Pipeline(settings.with_(reader="sentences"))
            pairs = []
            for q in questions:
                query = pipe.query(q)
                hits = pipe.retrieve(query, k=CANDIDATE_HITS)[: settings.read_passages]
                pairs += [(query.resolved, f"{h.info.title}\n{h.chunk.text}") for h in hits]
            if args.combining:
                print(json.dumps(combining(settings, pairs, settings.read_passages), indent=1))
                return
            report["precision"] = precisions(pairs, variants, extra)
            print(json.dumps({"precision": report["precision"]}), flush=True)
        report[qfile] = latencies(settings, questions)
        print(json.dumps({qfile: report[qfile]}), flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
