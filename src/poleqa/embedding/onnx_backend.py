"""ONNX Runtime backend: the converted e5-small exported once to ONNX (fp32), same vectors."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from poleqa.embedding.backends import (
    BATCH_SIZE,
    E5_PROMPTS,
    Kind,
    _as_rows,
    _empty,
    _LazyEmbedder,
)
from poleqa.embedding.convert import publish_folder
from poleqa.errors import EmbedderError
from poleqa.roles import Progress
from poleqa.tokenizer import shared_tokenizer

EXPORT_VERSION = 1  # bump when the exported graph changes: the cache folder's name changes too
MODEL_FILE = "model.onnx"
MARKER = "poleqa-onnx.json"  # written last: a folder without it is not a finished export
MAX_TOKENS = 512  # the model's positions; longer texts are truncated, as sentence-transformers does
OPSET = 17


def onnx_folder(st_folder: Path) -> Path:
    """Where the export of `st_folder` lives: beside it, in the same models cache."""
    return st_folder.with_name(f"{st_folder.name}-onnx{EXPORT_VERSION}")


def is_exported(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / MODEL_FILE).is_file()


def ensure_onnx_folder(st_folder: Path) -> Path:
    """The ONNX export of a sentence-transformers folder (mean pooling and L2 normalisation in
    the graph, the folder's tokenizer beside it), exported first if it is not there."""
    final = onnx_folder(st_folder)
    if is_exported(final):
        return final
    try:
        publish_folder(final, is_exported, lambda tmp: export(st_folder, tmp))
    except Exception as e:  # transformers and the exporter raise many types (ValueError…)
        raise EmbedderError(
            f"Could not export {st_folder} to ONNX into {final} ({type(e).__name__}: {e}); "
            "use --model multilingual-e5-small-st (the same vectors through sentence-transformers)."
        ) from e
    return final


def export(st_folder: Path, out_dir: Path) -> None:
    """Write `out_dir`/model.onnx (token ids and mask in, normalised mean-pooled vectors out),
    the tokenizer, and the marker last."""
    # torch, transformers and the exporter load here only: the export runs once per cache.
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(st_folder)).eval()

    class MeanPooled(torch.nn.Module):
        """The sentence-transformers modules of e5: mean over the real tokens, L2-normalised."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0  # a padded row: the traced graph must take the masked attention path
    axes = {0: "batch", 1: "tokens"}
    # The tracer warns about Python branches in transformers' masking code; the tests check the
    # exported graph against sentence-transformers on padded batches, so the warnings are noise.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooled(),
            (ids, mask),
            str(out_dir / MODEL_FILE),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, graph known to match
        )
    shutil.copy2(st_folder / "tokenizer.json", out_dir / "tokenizer.json")
    marker = {"source": st_folder.name, "export_version": EXPORT_VERSION, "opset": OPSET}
    marker["torch_version"] = str(torch.__version__)
    (out_dir / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


class OnnxEmbedder(_LazyEmbedder):
    """The converted e5-small through ONNX Runtime (fp32, CPU): the vectors of the
    sentence-transformers backend (cosine ≥ 0.9999), faster on CPU (bench/bench_embedding.py).

    `resolve` returns the sentence-transformers folder to export (as for that backend); texts
    are sorted by length before batching and the order restored, as there.
    """

    backend = "onnxruntime"

    def __init__(
        self,
        name: str,
        embedder_id: str,
        resolve: Callable[[], str],
        dim: int,
        info: Callable[[], dict[str, Any]] | None = None,
        threads: int = 0,  # 0: ONNX Runtime's default (one per physical core)
    ) -> None:
        super().__init__(name, embedder_id)
        self._resolve = resolve
        self._dim = dim
        self._info = info
        self.threads = threads

    @property
    def dim(self) -> int:
        return self._dim

    def _open(self) -> Any:
        folder = ensure_onnx_folder(Path(self._resolve()))
        try:
            # onnxruntime loads here, not at import: the other backends do not pay for it.
            import onnxruntime as ort

            # Its telemetry off, poleqa used as a library too (the CLI also sets
            # ORT_DISABLE_TELEMETRY); errors only in its log: its warnings (a telemetry id it
            # cannot keep in a read-only home, in terminal colours) reached stderr.
            ort.disable_telemetry_events()
            ort.set_default_logger_severity(3)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(
                str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
            # the span model reads the same tokenizer.json: one copy per process
            tokenizer = shared_tokenizer(folder / "tokenizer.json")
        except Exception as e:  # ONNX Runtime raises its own types (Fail, InvalidGraph…)
            raise EmbedderError(
                f"ONNX Runtime cannot load {folder} ({type(e).__name__}: {e}): delete that "
                "folder so it is exported again, or use --model multilingual-e5-small-st."
            ) from e
        pad = tokenizer.backend.token_to_id("<pad>")
        return session, tokenizer, 1 if pad is None else pad

    def _encode(self, texts: Sequence[str], kind: Kind, progress: Progress | None) -> np.ndarray:
        session, tokenizer, pad = self._load()
        prompt = E5_PROMPTS[kind]
        texts = [prompt + t for t in texts]
        if not texts:
            return _empty(self.dim)
        # Batches of similar lengths pad little; the original order is restored below.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            encodings = tokenizer.encode_texts([texts[i] for i in rows], MAX_TOKENS, pad)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            (vectors,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[rows] = _as_rows(vectors, len(rows))
            if progress is not None:
                progress(len(rows))
        return out

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"id": self.id, "name": self.name, "backend": self.backend}
        info |= {"dim": self.dim, "max_seq_length": MAX_TOKENS, "prompts": dict(E5_PROMPTS)}
        info["onnx_export_version"] = EXPORT_VERSION
        if self._info is not None:
            info |= self._info()
        return info
