"""bench/screenshots.py's scripted pipeline keeps up with what the web app asks of a pipeline."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

from poleqa.web.common import PipelineLike

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "screenshots.py"


def test_the_demo_pipeline_has_every_method_the_web_app_calls() -> None:
    """The docs' screenshots are taken with it: a method the app gained and the demo lacks broke
    « Évaluer » once (the app answered « erreur inattendue » and the script timed out)."""
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    path = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path  # the script puts tests/ on the path, which pytest has already
    demo = module.DemoPipeline
    wanted = [n for n in vars(PipelineLike) if not n.startswith("_")]
    assert wanted  # the protocol's methods were found
    for name in wanted:
        expected = list(inspect.signature(getattr(PipelineLike, name)).parameters)
        assert hasattr(demo, name), f"DemoPipeline lacks {name}"
        assert list(inspect.signature(getattr(demo, name)).parameters) == expected, name
