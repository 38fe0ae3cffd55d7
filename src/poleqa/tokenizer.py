"""The XLM-R tokenizer, loaded once per process, shared by the query embedder and the span model."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Encoding, Tokenizer

from poleqa.errors import PoleqaError

# Held by one tokenizer: about 280 MB of memory (XLM-R's 250,002 pieces). The query embedder's
# ONNX folder and the span model's base folder hold the same tokenizer.json, so a server with
# both read it once (README, « Speed and memory »).


@dataclass(frozen=True)
class SharedTokenizer:
    """A tokenizer and the lock held around each use: every caller sets its own truncation and
    padding on the one tokenizer, then encodes, without another caller in between."""

    backend: Tokenizer
    lock: threading.Lock

    def encode_texts(self, texts: Sequence[str], max_length: int, pad_id: int) -> list[Encoding]:
        """Each text cut to max_length tokens (special tokens included), padded to the longest."""
        with self.lock:
            self.backend.enable_truncation(max_length=max_length)
            self.backend.enable_padding(pad_id=pad_id, pad_token="<pad>")
            return self.backend.encode_batch(list(texts))

    def cut(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        """Each text cut after its first max_tokens tokens (special tokens not counted), at the
        end of that token's characters; shorter texts whole."""
        with self.lock:
            self.backend.no_padding()
            self.backend.no_truncation()
            encodings = self.backend.encode_batch(list(texts), add_special_tokens=False)
        return [
            t if len(e.offsets) <= max_tokens else t[: e.offsets[max_tokens - 1][1]]
            for t, e in zip(texts, encodings, strict=True)
        ]

    def encode_pairs(
        self, firsts: Sequence[str], seconds: Sequence[str], max_length: int, stride: int
    ) -> list[tuple[int, Encoding]]:
        """(pair index, window) for each window of max_length tokens over each pair: the first
        text whole, the second cut into windows sharing `stride` tokens; unpadded."""
        with self.lock:
            self.backend.no_padding()
            self.backend.enable_truncation(
                max_length=max_length, stride=stride, strategy="only_second"
            )
            encodings = self.backend.encode_batch(list(zip(firsts, seconds, strict=True)))
        return [(i, w) for i, e in enumerate(encodings) for w in (e, *e.overflowing)]


_cache: dict[str, SharedTokenizer] = {}
_cache_lock = threading.Lock()


def shared_tokenizer(path: Path) -> SharedTokenizer:
    """The tokenizer of the tokenizer.json at `path`, one per content in this process."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PoleqaError(f"Cannot read the tokenizer {path}: {e}") from e
    key = hashlib.sha256(data).hexdigest()
    with _cache_lock:
        if key not in _cache:
            try:
                backend = Tokenizer.from_str(data.decode("utf-8"))
            except Exception as e:  # tokenizers raises plain Exception; bad UTF-8 too
                raise PoleqaError(f"Cannot load the tokenizer {path}: {e}") from e
            _cache[key] = SharedTokenizer(backend, threading.Lock())
        return _cache[key]
