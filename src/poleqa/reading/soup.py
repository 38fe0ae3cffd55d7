"""A model soup: the weight-by-weight mean of readers trained from one start by one recipe.

python -m poleqa.reading.soup --base BASE_FOLDER --out DIR READER_DIR READER_DIR [...] \
    [--weights W W ...]
Readers from one start, or a reader and one trained from it (WiSE-FT along the fine-tuning path);
Wortsman et al. 2022; docs/reader.md, « A soup of two stage-2 runs »)
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import torch

from poleqa.errors import ReaderError, run_tool
from poleqa.reading.weights import ReaderManifest, load_reader_state, save_reader

log = logging.getLogger("poleqa.reading.soup")


def mean_state(
    states: Sequence[dict[str, torch.Tensor]], weights: Sequence[float] | None = None
) -> dict[str, torch.Tensor]:
    """The mean of state dicts that hold the same tensors with the same shapes, weighted by
    `weights` (positive, summing to 1; equal when None)."""
    if not states:
        raise ReaderError("A soup needs at least one reader.")
    mix = torch.tensor(soup_weights(len(states), weights), dtype=torch.float32)
    names = set(states[0])
    for state in states[1:]:
        if set(state) != names:
            odd = sorted(names ^ set(state))[:3]
            raise ReaderError(f"These readers hold different tensors: {odd}.")
    out = {}
    for name in states[0]:
        shapes = {tuple(s[name].shape) for s in states}
        if len(shapes) > 1:
            raise ReaderError(f"Tensor {name} has different shapes across readers: {shapes}.")
        stacked = torch.stack([s[name].float() for s in states])
        out[name] = torch.tensordot(mix, stacked, dims=1)
    return out


def soup_weights(n: int, weights: Sequence[float] | None) -> list[float]:
    """The weight of each of n readers: equal when None, else checked (positive, sum 1)."""
    mix = [1.0 / n] * n if weights is None else list(weights)
    # isfinite: NaN passes every comparison, and would give a reader of NaN
    good = all(math.isfinite(w) and w > 0 for w in mix) and math.isclose(sum(mix), 1.0)
    if len(mix) != n or not good:
        raise ReaderError(
            f"The soup's weights must be {n} positive numbers summing to 1, not {mix}."
        )
    return mix


def check_compatible(manifests: Sequence[ReaderManifest]) -> None:
    """Only readers that read alike (window, stride, start) can be averaged."""
    layouts = {(m.max_length, m.stride) for m in manifests}
    if len(layouts) > 1:
        raise ReaderError(f"These readers read windows of different layouts: {layouts}.")
    starts = {str(m.recipe.get("init")) for m in manifests}
    if len(starts) > 1 and not _one_path(manifests):
        # fine-tunes from different starts need not share a basin: their mean can be noise
        raise ReaderError(
            "These readers were not trained from the same start (recipe.init), nor one from "
            "the other."
        )


def _one_path(manifests: Sequence[ReaderManifest]) -> bool:
    """Two readers, the second trained from the first: a mix lies on its fine-tuning path."""
    if len(manifests) != 2:
        return False
    first, second = (m.recipe for m in manifests)
    return second.get("init") == first or first.get("init") == second


def make_soup(
    readers: Sequence[Path], base: Path, out: Path, weights: Sequence[float] | None = None
) -> ReaderManifest:
    loaded = [load_reader_state(folder, base.name) for folder in readers]
    manifests = [m for m, _ in loaded]
    check_compatible(manifests)
    state = mean_state([s for _, s in loaded], weights)  # checks the weights before writing
    recipe = dict(manifests[0].recipe)
    recipe["soup_of"] = [m.recipe.get("seed") for m in manifests]  # seeds of the averaged runs
    # each part as it was: enough to rebuild the soup from its readers
    recipe["soup"] = [
        {"weight": w, "sha256": m.sha256, "recipe": m.recipe}
        for w, m in zip(soup_weights(len(manifests), weights), manifests, strict=True)
    ]
    return save_reader(
        out,
        state,
        base.name,
        manifests[0].max_length,
        manifests[0].stride,
        recipe,
        {},
    )


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("readers", type=Path, nargs="+", help="reader folders to average")
    ap.add_argument("--base", type=Path, required=True, help="the rebuilt e5 base folder")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--weights", type=float, nargs="+", help="one per reader, summing to 1 (default: equal)"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    manifest = make_soup(args.readers, args.base, args.out, args.weights)
    log.info(
        "soup of %d readers written to %s (sha256 %s)",
        len(args.readers),
        args.out,
        manifest.sha256[:12],
    )


if __name__ == "__main__":
    run_tool(main)
