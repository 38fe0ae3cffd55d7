"""Model soups: the mean of readers from one start, checked before averaging, loadable after."""

from __future__ import annotations

import json
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
