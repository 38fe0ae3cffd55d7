"""Quality floor: the real pipeline on the dev and seed sets stays above eval/floors.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from poleqa.config import Settings
from poleqa.evaluation import evaluate_file, write_reports

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "poleqa"
FLOORS = json.loads((ROOT / "eval" / "floors.json").read_text(encoding="utf-8"))


def below_floor(metrics: dict[str, float], floors: dict[str, float]) -> list[str]:
    return [
        f"{name} = {metrics.get(name)} < floor {floor}"
        for name, floor in floors.items()
        if not metrics.get(name, -1.0) >= floor
    ]


def _fresh(pipeline: object, index: Path) -> None:
    """The index `poleqa index` built (tests/prebuilt.py) is the one the library would have
    built: `ensure_index` keeps it."""
    current = (index / "CURRENT").read_text(encoding="utf-8")
    pipeline.ensure_index()  # type: ignore[attr-defined]
    assert (index / "CURRENT").read_text(encoding="utf-8") == current, "rebuilt"


def test_dev_set_above_floor(tmp_path: Path, dev_index: Path) -> None:
    """Library path: eval/dev/corpus indexed, the 120 dev questions asked, the reports written.
    The sentence scorer's floor: eval/dev is what it was fit on, and training data for the
    trained reader (which the domain dev split and the seeds check)."""
    from poleqa.pipeline import Pipeline

    settings = Settings(
        corpus_dir=ROOT / "eval" / "dev" / "corpus",
        index_dir=dev_index,
        cache_dir=CACHE,
        reader="sentences",
    )
    pipeline = Pipeline(settings)
    _fresh(pipeline, dev_index)
    result = evaluate_file(pipeline, ROOT / "eval" / "dev" / "questions.jsonl", k=5)
    paths = write_reports(result, tmp_path / "out")
    assert json.loads(paths["report_json"].read_text(encoding="utf-8"))["n_questions"] == 120
    assert below_floor(result.metrics, FLOORS["dev"]) == []
    # questions written on four dev documents after the method was built, never fit on
    probes = evaluate_file(pipeline, ROOT / "eval" / "dev" / "probes.jsonl", k=5)
    assert below_floor(probes.metrics, FLOORS["dev-probes"]) == []


def test_domain_dev_split_above_floor(domain_index: Path) -> None:
    """The in-domain dev split (eval/domain, 78 documents), with each reader; never the test
    split, which is only run to report (docs/quality.md)."""
    from poleqa.pipeline import Pipeline

    settings = Settings(
        corpus_dir=ROOT / "eval" / "domain" / "corpus",
        index_dir=domain_index,
        cache_dir=CACHE,
    )
    for reader in ("sentences", "trained"):
        pipeline = Pipeline(settings.with_(reader=reader))
        _fresh(pipeline, domain_index)
        result = evaluate_file(pipeline, ROOT / "eval" / "domain" / "dev.jsonl", k=5)
        assert below_floor(result.metrics, FLOORS[f"domain-dev-{reader}"]) == [], reader


@pytest.mark.parametrize("reader", ["sentences", "trained"])
def test_seed_set_above_floor_through_the_cli(tmp_path: Path, reader: str) -> None:
    """CLI path, as a user runs it: `poleqa eval eval/seeds.jsonl` on the shipped corpus."""
    out = tmp_path / "out"
    env = {**os.environ, "XDG_CACHE_HOME": str(CACHE.parent), "POLEQA_READER": reader}
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "poleqa"),
            "eval",
            str(ROOT / "eval" / "seeds.jsonl"),
            "--corpus",
            str(ROOT / "corpus"),
            "--index",
            str(tmp_path / "index"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "seeds: " in proc.stdout and "answer accuracy" in proc.stdout
    metrics = json.loads((out / "report.json").read_text(encoding="utf-8"))
    lines = (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == metrics["n_questions"]
    assert below_floor(metrics, FLOORS[f"seeds-{reader}"]) == []
