"""A model soup: the weight-by-weight mean of readers trained from one start by one recipe.

python -m poleqa.reading.soup --base BASE_FOLDER --out DIR READER_DIR READER_DIR [...]
(Wortsman et al. 2022; docs/reader.md, « A soup of two stage-2 runs »)
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from poleqa.errors import ReaderError, run_tool
from poleqa.reading.weights import ReaderManifest, load_reader_state, save_reader

log = logging.getLogger("poleqa.reading.soup")


def mean_state(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of state dicts that hold the same tensors with the same shapes."""
    if not states:
        raise ReaderError("A soup needs at least one reader.")
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
        out[name] = torch.stack([s[name].float() for s in states]).mean(dim=0)
    return out


def check_compatible(manifests: Sequence[ReaderManifest]) -> None:
    """Only readers that read alike (window, stride, start) can be averaged."""
    layouts = {(m.max_length, m.stride) for m in manifests}
    if len(layouts) > 1:
        raise ReaderError(f"These readers read windows of different layouts: {layouts}.")
    starts = {str(m.recipe.get("init")) for m in manifests}
    if len(starts) > 1:  # a soup of fine-tunes from different starts is not one basin
        raise ReaderError("These readers were not trained from the same start (recipe.init).")


def make_soup(readers: Sequence[Path], base: Path, out: Path) -> ReaderManifest:
    loaded = [load_reader_state(folder, base.name) for folder in readers]
    manifests = [m for m, _ in loaded]
    check_compatible(manifests)
    recipe = dict(manifests[0].recipe)
    recipe["soup_of"] = [m.recipe.get("seed") for m in manifests]  # seeds of the averaged runs
    return save_reader(
        out,
        mean_state([s for _, s in loaded]),
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
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    manifest = make_soup(args.readers, args.base, args.out)
    log.info(
        "soup of %d readers written to %s (sha256 %s)",
        len(args.readers),
        args.out,
        manifest.sha256[:12],
    )


if __name__ == "__main__":
    run_tool(main)
