"""Training recipes from `--recipe`'s JSON: checked field by field, bf16 chosen by the CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from poleqa.errors import ReaderError
from poleqa.reading.recipe import Recipe, recipe_from

AMX = "flags\t\t: fpu sse2 avx512f amx_bf16 amx_tile\n"
NO_AMX = "flags\t\t: fpu sse2 avx2 avx512f\n"


def _cpu(folder: Path, text: str) -> Path:
    path = folder / "cpuinfo"
    path.write_text(text)
    return path


def test_bf16_left_out_follows_the_cpu_and_given_is_kept(tmp_path: Path) -> None:
    amx, plain = _cpu(tmp_path, AMX), tmp_path / "plain"
    plain.write_text(NO_AMX)
    assert recipe_from({}, amx).bf16 is True
    assert recipe_from({}, plain).bf16 is False
    assert recipe_from({"bf16": True}, plain).bf16 is True
    assert recipe_from({"bf16": False}, amx).bf16 is False
    assert recipe_from({}, tmp_path / "missing").bf16 is False  # not Linux: no AMX known
    # everything else is the dataclass's defaults, overrides applied as given
    got = recipe_from({"lr": 2, "piaf_epochs": 3, "extra": {"a": 1}}, amx)
    assert got == Recipe(lr=2, piaf_epochs=3, extra={"a": 1}, bf16=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([1], "--recipe must be a JSON object of recipe fields, not [1]."),
        ({"lr": "x"}, "Recipe field 'lr' must be of type float, not 'x'."),
        ({"batch": True}, "Recipe field 'batch' must be of type int, not True."),
        ({"batch": 2.5}, "Recipe field 'batch' must be of type int, not 2.5."),
        ({"bf16": 1}, "Recipe field 'bf16' must be of type bool, not 1."),
        ({"extra": []}, "Recipe field 'extra' must be of type dict, not []."),
    ],
)
def test_a_malformed_recipe_is_refused_naming_its_field(overrides: object, message: str) -> None:
    with pytest.raises(ReaderError) as caught:
        recipe_from(overrides)
    assert str(caught.value) == message


def test_an_unknown_field_stops_the_tool_with_one_line_before_any_data_is_read(
    tmp_path: Path,
) -> None:
    # a typo in a recipe would otherwise train hours with the default silently
    tool = [sys.executable, "-m", "poleqa.reading.training", "--piaf", "missing.json"]
    tool += ["--base", "b", "--checkpoints", "ck", "--out", "out", "--recipe", '{"lrr": 1}']
    run = subprocess.run(tool, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    fields = sorted(Recipe.__dataclass_fields__)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == f"Error: Unknown recipe fields ['lrr']; the fields are {fields}.\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []
