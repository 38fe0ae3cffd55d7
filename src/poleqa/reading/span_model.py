"""The span model: e5-small with a start/end head, loaded once, reading batches of windows."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer
from transformers.utils import logging as hf_logging

from poleqa.reading.weights import ReaderManifest, load_reader_state
from poleqa.reading.windows import SpanScore, best_span, pad_batch, tokenize

log = logging.getLogger(__name__)
BATCH = 8  # windows per forward pass (bench/bench_reader.py)
PRECISIONS = ("fp32", "bf16", "int8")


def load_base(base_folder: Path) -> torch.nn.Module:
    """e5-small as a QA model (only the span head is new), without transformers' load report."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new head and the unused pooler are expected
    try:
        return AutoModelForQuestionAnswering.from_pretrained(str(base_folder))
    finally:
        hf_logging.set_verbosity(verbosity)


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """What training changes: everything but the frozen embeddings (what a reader ships)."""
    return {
        name: p.detach().clone()
        for name, p in model.named_parameters()
        if name.split(".")[1:2] != ["embeddings"]
    }


class SpanModel:
    """Scores (question, passage) pairs: best span per pair and its no-answer score."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: object,
        manifest: ReaderManifest,
        precision: str = "fp32",
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        model = model.eval()
        if precision == "int8":  # int8 matrices, computed with dynamic activation scales
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8)
        self.model = model
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.precision = precision
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads

    @classmethod
    def load(cls, base_folder: Path, reader_folder: Path, precision: str = "fp32") -> SpanModel:
        manifest, state = load_reader_state(reader_folder, base_folder.name)
        model = load_base(base_folder)
        missing = [k for k in state if k not in model.state_dict()]
        if missing:
            log.warning("reader weights name unknown tensors: %s", missing[:3])
        model.load_state_dict(state, strict=False)
        tokenizer = AutoTokenizer.from_pretrained(str(base_folder))
        return cls(model, tokenizer, manifest, precision)

    def read(
        self,
        questions: Sequence[str],
        passages: Sequence[str],
        first_chars: Sequence[int] | None = None,
    ) -> list[SpanScore]:
        """One SpanScore per pair: the best span over its windows (starting at or after the
        pair's first_char), and the lowest no-answer score of its windows."""
        if not questions:
            return []
        windows = tokenize(
            self.tokenizer, questions, passages, self.manifest.max_length, self.manifest.stride
        )
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
        best: dict[int, SpanScore] = {}
        bf16 = self.precision == "bf16"
        with (
            self._lock,
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16),
        ):
            for at in range(0, len(order), BATCH):
                batch = [windows[i] for i in order[at : at + BATCH]]
                ids, mask = pad_batch(batch)
                out = self.model(
                    input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                )
                starts, ends = out.start_logits.float().numpy(), out.end_logits.float().numpy()
                for row, window in enumerate(batch):
                    first = first_chars[window.item] if first_chars else 0
                    span = best_span(window, starts[row], ends[row], first)
                    best[window.item] = _merge(best.get(window.item), span)
        return [best[i] for i in range(len(questions))]


def _merge(old: SpanScore | None, new: SpanScore) -> SpanScore:
    if old is None:
        return new
    top = new if new.score > old.score else old
    return SpanScore(top.item, top.start, top.end, top.score, min(old.null_score, new.null_score))
