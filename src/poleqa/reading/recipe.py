"""A training run's recipe: every choice that decides the trained weights, read from --recipe."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from poleqa.errors import ReaderError
from poleqa.reading.span_model import AUTO, CPUINFO, resolve_precision
from poleqa.reading.windows import MAX_LENGTH, STRIDE


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights (recorded in the shipped manifest)."""

    piaf_epochs: int = 1
    piaf_sample: int = 0  # PIAF questions drawn per epoch (0: all; a later stage keeps a few)
    piaf_heldout: float = 0.10  # share of PIAF articles never trained on (reader EM/F1)
    fr_negatives: float = 0.5  # French negatives per PIAF question and epoch
    hard_negatives: float = 0.7  # share of them taken from the question's own article
    near_miss: float = 0.0  # near-miss negatives (answer sentences cut out) per answerable question
    swap: float = 0.0  # swapped negatives (reading.swap) per answerable question
    swap_nouns: float = 0.0  # noun-swapped negatives (reading.swap.noun_swaps) per answerable one
    squad1: int = 5000  # English SQuAD 1.1 questions sampled
    squad2: int = 6000  # SQuAD 2.0 dev questions sampled (about half unanswerable)
    squad2_heldout_articles: int = 4  # SQuAD 2.0 dev articles kept out (no-answer check)
    domain_epochs: int = 3  # passes over in-domain training questions, when given
    max_length: int = MAX_LENGTH
    stride: int = STRIDE
    batch: int = 16
    lr: float = 1e-4
    warmup: float = 0.05
    weight_decay: float = 0.01
    # weight of the shared-normalisation loss over each question's windows (reading.shared_norm;
    # 0: every window on its own, as the shipped stages were trained)
    shared_norm: float = 0.0
    # autocast over fp32 master weights: about 2x faster on a CPU with AMX; without AMX, fp32
    # (false) trains 1.5x faster, the loss the same (docs/reader.md, « Reproducing »); a recipe
    # that leaves it out gets the faster on this CPU (recipe_from)
    bf16: bool = True
    seed: int = 13
    extra: dict = field(default_factory=dict)


# The JSON types each recipe field accepts (an int where a float is asked is fine).
_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,)}


def recipe_from(overrides: object, cpuinfo: Path = CPUINFO) -> Recipe:
    """The recipe that `--recipe`'s JSON object asks for, checked field by field; without "bf16",
    autocast in bf16 only on a CPU with AMX, where it is the faster (fp32 elsewhere)."""
    if not isinstance(overrides, Mapping):
        raise ReaderError(f"--recipe must be a JSON object of recipe fields, not {overrides!r}.")
    kinds = {f.name: str(f.type) for f in fields(Recipe)}
    unknown = sorted(set(overrides) - set(kinds))
    if unknown:
        raise ReaderError(f"Unknown recipe fields {unknown}; the fields are {sorted(kinds)}.")
    for name, value in overrides.items():
        want = _TYPES.get(kinds[name], (dict,))
        # bool is an int to Python, never a count or a rate here
        if not isinstance(value, want) or (isinstance(value, bool) and bool not in want):
            kind = kinds[name]
            raise ReaderError(f"Recipe field {name!r} must be of type {kind}, not {value!r}.")
    values = dict(overrides)
    values.setdefault("bf16", resolve_precision(AUTO, cpuinfo) == "bf16")
    return Recipe(**values)
