"""--passage-order learned|fused (POLEQA_PASSAGE_ORDER) of ask, eval, serve, search."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support import FakeEmbedder
from test_evaluation import REPLIES, FakePipeline
from test_serve_env import SET_BY_SERVE, _free_port

from poleqa.cli import cli
from poleqa.cli.options import PASSAGE_ORDERS, ReadingChoice, rerank_from, settings_from
from poleqa.config import Settings
from poleqa.ranking import shipped_ranker

ASKED = "Où est le siège de Xylofutur ?"  # support.DOCS: « Le siège est à Bordeaux. »
HELP = (
    "--passage-order [learned|fused] Order in which the reader takes the first passages "
    "retrieved: learned (reordered by the learned passage ranker, default) or fused (the "
    "retrieval's own order). [env: POLEQA_PASSAGE_ORDER; default: learned]"
)
# test_evaluation's fake pipeline replies to it
QUESTION = {"id": "q1", "question": "question q1 ?", "answers": ["71"], "sources": ["a.txt"],
            "answerable": True}  # fmt: skip
INVALID = "Error: Invalid value for {}: 'random' is not one of 'learned', 'fused'.\n"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def ranked_index(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool]]:
    """tests/conftest's small corpus indexed into ./index with a fake embedder under the id the
    shipped ranker was fit under, so the learned order really runs; the (Settings.rerank,
    whether a ranker orders the passages) of each index loaded, in order."""
    monkeypatch.chdir(corpus.parent)
    for var in ("POLEQA_CORPUS", "POLEQA_INDEX", "POLEQA_MODEL", "POLEQA_PASSAGE_ORDER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("POLEQA_READER", "sentences")  # the judge was fit on the real embedder
    fake = FakeEmbedder()
    fake._id = shipped_ranker().meta["embedder"]
    monkeypatch.setattr("poleqa.embedding.get_embedder", lambda name, cache_dir=None: fake)
    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    import poleqa.pipeline

    loaded: list[tuple[bool, bool]] = []
    real = poleqa.pipeline.ranker_for

    def ranker_for(settings: Settings, embedder_id: str):
        ranker = real(settings, embedder_id)
        loaded.append((settings.rerank, ranker is not None))
        return ranker

    monkeypatch.setattr(poleqa.pipeline, "ranker_for", ranker_for)
    return loaded


@pytest.mark.parametrize("command", ["ask", "eval", "serve", "search"])
def test_the_help_lists_both_orders_and_the_environment_variable(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert HELP in " ".join(result.output.split())


def test_each_order_is_a_value_of_settings_rerank() -> None:
    assert PASSAGE_ORDERS == {"learned": True, "fused": False}
    assert [rerank_from(v) for v in ("learned", "fused", None)] == [True, False, None]
    assert settings_from(rerank=rerank_from("fused")).rerank is False
    assert settings_from(rerank=rerank_from(None)).rerank is True  # the default: learned


def test_the_reading_options_reach_the_settings_together(tmp_path: Path) -> None:
    """What ask, eval and serve take as one ReadingChoice lands in the four settings; an
    option not given keeps its default."""
    default = Settings()
    chosen = settings_from(ReadingChoice("sentences", tmp_path, "fp32", "fused"))
    assert (chosen.reader, chosen.reader_dir, chosen.reader_precision, chosen.rerank) == (
        "sentences",
        tmp_path,
        "fp32",
        False,
    )
    kept = settings_from(ReadingChoice())
    assert (kept.reader, kept.reader_dir, kept.reader_precision, kept.rerank) == (
        default.reader,
        default.reader_dir,
        default.reader_precision,
        default.rerank,
    )


@pytest.mark.parametrize(
    ("args", "env", "rerank"),
    [
        ((), {}, True),
        (("--passage-order", "learned"), {}, True),
        (("--passage-order", "fused"), {}, False),
        ((), {"POLEQA_PASSAGE_ORDER": "fused"}, False),
        (("--passage-order", "learned"), {"POLEQA_PASSAGE_ORDER": "fused"}, True),
    ],
)
def test_ask_answers_with_citations_in_either_order(ranked_index, args, env, rerank) -> None:
    result = run("ask", ASKED, "--index", "index", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["abstained"] is False
    assert answer["answer"] == "Le siège est à Bordeaux."
    assert answer["citations"][0]["source"] == "b_xylofutur.md"
    assert [c["n"] for c in answer["citations"]] == list(range(1, len(answer["citations"]) + 1))
    # learned: the shipped ranker reorders the passages; fused: none does
    assert ranked_index == [(rerank, rerank)]


@pytest.mark.parametrize(
    ("args", "env", "rerank"),
    [((), {}, True), (("--passage-order", "fused"), {}, False),
     ((), {"POLEQA_PASSAGE_ORDER": "fused"}, False)],
)  # fmt: skip
def test_search_shows_the_passages_in_the_order_asked(ranked_index, args, env, rerank) -> None:
    result = run("search", ASKED, "--index", "index", "--json", "--k", "3", *args, env=env)
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert len(hits) == 3
    assert "Le siège est à Bordeaux." in " ".join(h["text"] for h in hits)
    assert ranked_index == [(rerank, rerank)]


@pytest.mark.parametrize("env", [{}, {"POLEQA_PASSAGE_ORDER": "random"}])
def test_an_unknown_order_is_a_usage_error(env: dict[str, str]) -> None:
    args = ("--passage-order", "random") if not env else ()
    result = run("ask", ASKED, "--index", "none", *args, env=env)
    assert result.exit_code == 2
    named = "'POLEQA_PASSAGE_ORDER' (--passage-order)" if env else "'--passage-order'"
    assert result.output.endswith(INVALID.format(named))


def test_eval_takes_the_order_and_says_it_in_its_report(tmp_path: Path, monkeypatch) -> None:
    import poleqa.pipeline

    made: list[Settings] = []

    class Fake(FakePipeline):
        def __init__(self, settings: Settings) -> None:
            super().__init__(REPLIES)
            self.settings = settings
            made.append(settings)

        def ensure_index(self, progress: bool = False, replace: bool = False) -> None:
            return None

    monkeypatch.setattr(poleqa.pipeline, "Pipeline", Fake)
    monkeypatch.delenv("POLEQA_PASSAGE_ORDER", raising=False)
    questions = tmp_path / "set.jsonl"
    questions.write_text(json.dumps(QUESTION) + "\n", encoding="utf-8")
    for args, env, order in [
        ((), {}, "learned"),
        (("--passage-order", "fused"), {}, "fused"),
        ((), {"POLEQA_PASSAGE_ORDER": "fused"}, "fused"),
    ]:
        out = tmp_path / f"out-{len(made)}"
        result = run("eval", str(questions), "--out", str(out), *args, env=env)
        assert result.exit_code == 0, result.output
        assert made[-1].rerank is (order == "learned")
        assert f"- **passage order**: {order}\n" in (out / "report.md").read_text("utf-8")
    squad = run("eval", "--squad", str(questions), "--passage-order", "fused")
    assert squad.exit_code == 2
    assert squad.output.endswith(
        "Error: --squad evaluates the trained reader alone: --passage-order does not apply\n"
    )


@pytest.mark.parametrize(
    ("args", "env", "rerank"),
    [((), {}, True), (("--passage-order", "fused"), {}, False),
     ((), {"POLEQA_PASSAGE_ORDER": "fused"}, False)],
)  # fmt: skip
def test_serve_takes_the_order(tmp_path: Path, monkeypatch, args, env, rerank) -> None:
    # app.py is `poleqa serve`: the same options, the same environment
    import poleqa.cli.serve_cmd as serve_cmd

    for name in SET_BY_SERVE:  # serve sets them in this process: monkeypatch restores them
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("POLEQA_PASSAGE_ORDER", raising=False)
    # a bad feedback address stops serve right after its settings are made, before any loading
    # (serve takes it out of the environment: one run per test)
    monkeypatch.setenv("POLEQA_FEEDBACK_URL", "sqlite://oops/feedback.db")
    made: list[Settings] = []

    def recorded(*reading: ReadingChoice, **values: object) -> Settings:
        made.append(settings_from(*reading, **values))
        return made[-1]

    monkeypatch.setattr(serve_cmd, "settings_from", recorded)
    level = logging.getLogger("poleqa").level  # serve sets it
    port = str(_free_port())
    try:
        result = run("serve", "--port", port, "--index", str(tmp_path / "none"), *args, env=env)
    finally:
        logging.getLogger("poleqa").setLevel(level)
    assert result.exit_code == 1 and "POLEQA_FEEDBACK_URL" in result.output
    assert [s.rerank for s in made] == [rerank]
