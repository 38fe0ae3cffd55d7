"""Model soups: the mean of readers from one start, checked before averaging, loadable after."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from support import MODEL_CACHE

from poleqa.embedding.convert import ensure_st_folder
from poleqa.errors import ReaderError
from poleqa.reading import shipped_reader
from poleqa.reading.soup import main, make_soup, mean_state
from poleqa.reading.weights import MANIFEST_FILE, load_reader_state


def test_mean_state_averages_weight_by_weight() -> None:
    a = {"w": torch.tensor([[1.0, 2.0]]), "b": torch.tensor([0.0])}
    b = {"w": torch.tensor([[3.0, -2.0]]), "b": torch.tensor([1.0])}
    out = mean_state([a, b])
    assert out["w"].tolist() == [[2.0, 0.0]] and out["b"].tolist() == [0.5]


def test_mean_state_refuses_readers_that_do_not_match() -> None:
    with pytest.raises(ReaderError, match="different tensors"):
        mean_state([{"w": torch.zeros(2)}, {"v": torch.zeros(2)}])
    with pytest.raises(ReaderError, match="different shapes"):
        mean_state([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}])
    with pytest.raises(ReaderError, match="at least one"):
        mean_state([])


@pytest.mark.slow
def test_a_soup_of_the_shipped_reader_with_itself_is_the_shipped_reader(tmp_path: Path) -> None:
    base = ensure_st_folder(MODEL_CACHE)
    reader = shipped_reader()
    main(["--base", str(base), "--out", str(tmp_path / "soup"), str(reader), str(reader)])
    manifest, soup = load_reader_state(tmp_path / "soup", base.name)  # checksum checked
    _, shipped = load_reader_state(reader, base.name)
    assert soup.keys() == shipped.keys()
    assert all(torch.allclose(soup[k], shipped[k], atol=1e-3) for k in soup)
    seed = json.loads((reader / MANIFEST_FILE).read_text("utf-8"))["recipe"]["seed"]
    assert manifest.recipe["soup_of"] == [seed, seed]


@pytest.mark.slow
def test_readers_from_different_starts_are_not_averaged(tmp_path: Path) -> None:
    base = ensure_st_folder(MODEL_CACHE)
    other = tmp_path / "other"
    shutil.copytree(shipped_reader(), other)
    body = json.loads((other / MANIFEST_FILE).read_text("utf-8"))
    body["recipe"]["init"] = {"seed": 99}
    (other / MANIFEST_FILE).write_text(json.dumps(body), "utf-8")
    with pytest.raises(ReaderError, match="same start"):
        make_soup([shipped_reader(), other], base, tmp_path / "soup")
    assert not (tmp_path / "soup").exists()


def test_weighted_mean_state_mixes_by_weight_and_checks_the_weights() -> None:
    a = {"w": torch.tensor([1.0, 2.0])}
    b = {"w": torch.tensor([3.0, -2.0])}
    assert torch.allclose(mean_state([a, b], [0.75, 0.25])["w"], torch.tensor([1.5, 1.0]))
    for bad in ([0.5], [0.7, 0.7], [1.0, 0.0], [1.2, -0.2], [float("nan"), 1.0], [0.5, math.inf]):
        with pytest.raises(ReaderError, match="positive numbers summing to 1"):
            mean_state([a, b], bad)


@pytest.mark.slow
def test_a_reader_mixes_with_one_trained_from_it_and_records_each_part(tmp_path: Path) -> None:
    base = ensure_st_folder(MODEL_CACHE)
    later = tmp_path / "later"
    shutil.copytree(shipped_reader(), later)
    body = json.loads((later / MANIFEST_FILE).read_text("utf-8"))
    first_recipe = dict(body["recipe"])
    body["recipe"] = {**first_recipe, "init": first_recipe, "lr": 2e-05}  # as --init records it
    (later / MANIFEST_FILE).write_text(json.dumps(body), "utf-8")
    argv = ["--base", str(base), "--out", str(tmp_path / "soup"), str(shipped_reader()), str(later)]
    main([*argv, "--weights", "0.7", "0.3"])
    manifest, _ = load_reader_state(tmp_path / "soup", base.name)
    parts = manifest.recipe["soup"]
    assert [p["weight"] for p in parts] == [0.7, 0.3]
    assert [p["recipe"] for p in parts] == [first_recipe, body["recipe"]]
    assert parts[0]["sha256"] == parts[1]["sha256"] == body["sha256"]
