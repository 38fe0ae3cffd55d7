"""`poleqa eval` through the CLI, the pipeline replaced by test_evaluation's fake."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from test_evaluation import QUESTIONS, REPLIES, FakePipeline


class _Fake(FakePipeline):
    def __init__(self, settings) -> None:
        super().__init__(REPLIES)
        self.settings = settings

    def ensure_index(self, progress: bool = False, replace: bool = False) -> None:
        return None


def _fake_set(tmp_path: Path, monkeypatch) -> Path:
    import poleqa.pipeline

    monkeypatch.setattr(poleqa.pipeline, "Pipeline", _Fake)
    qpath = tmp_path / "fake.jsonl"
    qpath.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": x.id,
                    "question": x.question,
                    "answers": list(x.answers),
                    "sources": list(x.sources),
                    "answerable": x.answerable,
                    "type": x.type,
                }
            )
            for x in QUESTIONS
        ),
        encoding="utf-8",
    )
    return qpath


def test_cli_eval_writes_reports_and_compares(tmp_path: Path, monkeypatch) -> None:
    from poleqa.cli import cli

    qpath = _fake_set(tmp_path, monkeypatch)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"answer_accuracy": 0.5, "n_questions": 5}), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["eval", str(qpath), "--out", str(out), "--k", "3", "--compare", str(old)]
    )
    assert res.exit_code == 0, res.output
    assert "fake: 5 questions (3 answerable, 2 unanswerable), k=3" in res.output
    assert "answer accuracy 0.333" in res.output
    assert "answer_accuracy       0.500       0.333     -0.167" in res.output
    assert "not in" not in res.stderr  # every source cited is a document of the corpus
    assert {p.name for p in out.iterdir()} == {
        "predictions.jsonl",
        "report.json",
        "report.md",
        "accuracy_by_type.png",
    }


def test_cli_eval_keeps_the_earlier_runs_reports(tmp_path: Path, monkeypatch) -> None:
    from poleqa.cli import cli

    qpath, out = _fake_set(tmp_path, monkeypatch), tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text('{"answer_accuracy": 0.5}', encoding="utf-8")
    (out / "report.md").write_text("the run before", encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    report = str(out / "report.json")
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out), "--compare", report])
    assert res.exit_code == 0, res.output
    assert f"The earlier run's reports were moved to {out / 'previous'}/.\n" in res.output
    assert f"Compared with {out / 'previous' / 'report.json'}:" in res.output
    assert (out / "previous" / "report.md").read_text(encoding="utf-8") == "the run before"
    assert json.loads((out / "previous" / "report.json").read_text())["answer_accuracy"] == 0.5
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # not a report: left
    assert json.loads((out / "report.json").read_text())["n_questions"] == 5
    # a third run: the second's reports replace the first's, never mixed with them
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert {p.name for p in (out / "previous").iterdir()} == {
        "predictions.jsonl",
        "report.json",
        "report.md",
        "accuracy_by_type.png",
    }
    assert json.loads((out / "previous" / "report.json").read_text())["n_questions"] == 5


def test_cli_eval_records_how_it_ran_and_says_when_two_runs_differ(
    tmp_path: Path, monkeypatch
) -> None:
    # two reports read alike whatever the reader or k that made them
    from poleqa.cli import cli

    qpath = _fake_set(tmp_path, monkeypatch)
    first, second = tmp_path / "k1", tmp_path / "k5"
    assert (
        CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(first), "--k", "1"]).exit_code
        == 0
    )
    report = json.loads((first / "report.json").read_text())
    assert (report["run/k"], report["run/reader"], report["run/passage order"]) == (
        "1",
        "trained",
        "learned",
    )
    assert all(not isinstance(v, dict | list) for v in report.values())  # flat still
    args = ["eval", str(qpath), "--out", str(second), "--compare", str(first / "report.json")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert res.output.rstrip().endswith("Note: the runs differ in k (1 → 5).")
    assert "run/" not in res.output.split("Compared with")[1].split("Note:")[0]  # no metric


def test_cli_eval_refuses_a_previous_that_is_not_a_folder_before_any_question(
    tmp_path: Path, monkeypatch
) -> None:
    from poleqa.cli import cli

    qpath, out = _fake_set(tmp_path, monkeypatch), tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}", encoding="utf-8")
    (out / "previous").write_text("a file, not a folder", encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out)])
    assert res.exit_code == 1
    assert f"{out / 'previous'} is not a folder of its own: an earlier run's reports" in res.stderr
    assert "fake:" not in res.output  # said before any question
    (out / "previous").unlink()
    (out / "previous").symlink_to(out, target_is_directory=True)  # moving there deleted them
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out)])
    assert res.exit_code == 1 and "is not a folder of its own" in res.stderr
    assert (out / "report.json").read_text(encoding="utf-8") == "{}"  # left as it was
    # a report's name taken by a folder: found when writing, after the whole run, once (a
    # traceback, and the run's results lost)
    (out / "previous").unlink()
    (out / "report.md").mkdir()
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out)])
    assert res.exit_code == 1 and "fake:" not in res.output
    taken = f"{out / 'report.md'} is a folder: the report of that name cannot be written."
    assert res.stderr == f"Error: {taken}\n"


def test_cli_eval_refuses_to_compare_with_a_report_it_would_replace(
    tmp_path: Path, monkeypatch
) -> None:
    from poleqa.cli import cli

    qpath, out = _fake_set(tmp_path, monkeypatch), tmp_path / "out"
    (out / "previous").mkdir(parents=True)
    (out / "previous" / "report.json").write_text('{"answer_accuracy": 0.9}', encoding="utf-8")
    old = str(out / "previous" / "report.json")
    # nothing in OUT to move there: it is compared with as it is
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out), "--compare", old])
    assert res.exit_code == 0 and f"Compared with {old}:" in res.output
    shutil.rmtree(out)
    (out / "previous").mkdir(parents=True)
    (out / "previous" / "report.json").write_text('{"answer_accuracy": 0.9}', encoding="utf-8")
    (out / "report.json").write_text('{"answer_accuracy": 0.5}', encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", str(qpath), "--out", str(out), "--compare", old])
    assert res.exit_code == 2  # a wrong --compare, as an unreadable one
    assert f"--compare {old}: this run replaces the reports in {out / 'previous'}" in res.stderr
    assert json.loads((out / "previous" / "report.json").read_text())["answer_accuracy"] == 0.9


def test_cli_eval_invalid_set_exits_2_before_indexing(tmp_path: Path) -> None:
    from poleqa.cli import cli

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\nnot json\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", str(bad), "--corpus", str(tmp_path / "none")])
    assert res.exit_code == 2
    lines = res.output.splitlines()  # one problem a line (they came as one, with « \n »)
    assert lines[0] == "Error: bad.jsonl: 2 problems, nothing was asked:"
    assert lines[1] == "  - line 1: missing key(s) question, answers, sources, answerable"
    assert lines[2].startswith("  - line 2: invalid JSON")
    assert not (tmp_path / "none").exists()


def test_cli_eval_refuses_squad_options_without_squad(tmp_path: Path) -> None:
    from poleqa.cli import cli

    questions = tmp_path / "q.jsonl"
    questions.write_text("", encoding="utf-8")
    for extra in (["--limit", "3"], ["--no-answer", "never"]):
        res = CliRunner().invoke(cli, ["eval", str(questions), *extra])
        assert res.exit_code == 2
        assert "Error: --limit and --no-answer go with --squad FILE" in res.output


def test_cli_eval_never_indexes_another_corpus_into_the_environments_index(
    tmp_path: Path, monkeypatch
) -> None:
    # POLEQA_INDEX names the chat's index on a server: `eval --corpus` once rebuilt it
    import poleqa.pipeline
    from poleqa.cli import cli

    seen: list[Path] = []

    class Fake(FakePipeline):
        def __init__(self, settings) -> None:
            super().__init__(REPLIES)
            seen.append(settings.index_dir)

        def ensure_index(self, progress: bool = False, replace: bool = False) -> None:
            return None

    monkeypatch.setattr(poleqa.pipeline, "Pipeline", Fake)
    monkeypatch.setenv("POLEQA_INDEX", str(tmp_path / "live"))
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "Q ?", "answers": [], "sources": [],
                    "answerable": False}), encoding="utf-8")  # fmt: skip
    out = tmp_path / "out"
    args = ["eval", str(questions), "--corpus", str(tmp_path / "corpus"), "--out", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert CliRunner().invoke(cli, [*args, "--index", str(tmp_path / "mine")]).exit_code == 0
    assert CliRunner().invoke(cli, ["eval", str(questions), "--out", str(out)]).exit_code == 0
    assert seen == [out / "index", tmp_path / "mine", tmp_path / "live"]
    # nor into the chat's index by way of --out: « --out . » in the folder holding it, or the
    # folder holding the one POLEQA_INDEX names
    monkeypatch.chdir(tmp_path)
    for env, where in ((None, Path(".")), (str(tmp_path / "srv" / "index"), tmp_path / "srv")):
        if env is None:
            monkeypatch.delenv("POLEQA_INDEX")
        else:
            monkeypatch.setenv("POLEQA_INDEX", env)
        res = CliRunner().invoke(
            cli, ["eval", str(questions), "--corpus", "c", "--out", str(where)]
        )
        assert res.exit_code == 1, res.output
        chats = (where / "index").resolve()
        assert res.output == (
            f"Error: --out {where} would index c into the chat's index ({chats}): choose another "
            "--out, or name an index with --index.\n"
        )
    assert len(seen) == 3  # refused before any pipeline was made


def test_cli_eval_says_which_cited_sources_the_corpus_lacks(tmp_path: Path, monkeypatch) -> None:
    import poleqa.pipeline
    from poleqa.cli import cli

    class Fake(FakePipeline):
        def __init__(self, settings) -> None:
            super().__init__(REPLIES)

        def ensure_index(self, progress: bool = False, replace: bool = False) -> None:
            return None

    monkeypatch.setattr(poleqa.pipeline, "Pipeline", Fake)
    known = QUESTIONS[0].sources[0]
    rows = [
        {"id": "a", "question": QUESTIONS[0].question, "answers": ["x"], "answerable": True,
         "sources": [known, "corpus/" + known]},
        {"id": "b", "question": QUESTIONS[0].question, "answers": ["x"], "answerable": True,
         "sources": ["nope.txt", "corpus/" + known]},
    ]  # fmt: skip
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", str(questions), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (
        "poleqa: 2 source(s) the questions cite are not in corpus (their questions' source hits "
        f"count as misses): corpus/{known}, nope.txt\n"
    ) in res.stderr


MADE: list[object] = []  # the settings of each _Fake made


class _Fake(FakePipeline):
    """The fake pipeline as `poleqa eval` makes it (from its settings), its index ready."""

    def __init__(self, settings) -> None:
        super().__init__(REPLIES)
        MADE.append(settings)

    def ensure_index(self, progress: bool = False, replace: bool = False) -> None:
        return None


def test_cli_eval_refuses_reports_inside_the_corpus(tmp_path: Path, monkeypatch) -> None:
    # report.md there would be indexed as a document the next time the corpus is
    import poleqa.pipeline
    from poleqa.cli import cli

    monkeypatch.setattr(poleqa.pipeline, "Pipeline", _Fake)
    MADE.clear()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": QUESTIONS[3].question, "answers": [], "sources": [],
                    "answerable": False}), encoding="utf-8")  # fmt: skip
    for corpus, out in (("corpus", "corpus/report"), (".", None), ("corpus", "corpus/../corpus")):
        args = ["eval", str(questions), "--corpus", corpus] + (["--out", out] if out else [])
        res = CliRunner().invoke(cli, args)
        shown = out or "eval/out/q"  # the default, in the corpus « . »
        assert (res.exit_code, res.output) == (
            1,
            f"Error: The reports' folder {shown} (--out) is inside the corpus folder {corpus}: "
            "its report.md would be indexed as a document next time; choose an --out outside "
            "the corpus.\n",
        )
    assert MADE == [] and list((tmp_path / "corpus").iterdir()) == []
    res = CliRunner().invoke(
        cli, ["eval", str(questions), "--corpus", "corpus", "--out", "corpus2"]
    )
    assert res.exit_code == 0, res.output  # a folder beside it, its name sharing the start


def test_cli_eval_names_the_questions_whose_gold_no_cited_document_holds(
    tmp_path: Path, monkeypatch
) -> None:
    import poleqa.pipeline
    from poleqa.cli import cli

    monkeypatch.setattr(poleqa.pipeline, "Pipeline", _Fake)
    asked = QUESTIONS[0].question
    rows = [  # the fake's a.txt reads « Texte : 71. »
        {"id": "a", "question": asked, "answers": ["71"], "sources": ["a.txt"]},
        {"id": "b", "question": asked, "answers": ["17"], "sources": ["a.txt"]},
        {"id": "c", "question": asked, "answers": ["Axelera"], "sources": ["a.txt"]},
    ]
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "".join(json.dumps(r | {"answerable": True}) + "\n" for r in rows), encoding="utf-8"
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["eval", str(questions), "--out", str(out)])
    assert res.exit_code == 0, res.output
    said = (
        "2 question(s) have none of their answers in the documents they cite (a typo in the "
        "gold makes each a miss, whatever the reply): b, c"
    )
    assert f"poleqa: {said}\n" in res.stderr
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"## Warnings\n\n- {said}\n" in report
    # each such failure says so, not « reading » (the reader was blamed for the set's typo)
    causes = [row.split(" | ")[5] for row in report.splitlines() if row.startswith("| b |")]
    causes += [row.split(" | ")[5] for row in report.splitlines() if row.startswith("| c |")]
    assert causes == ["expected answer: in none of its documents (see the warnings)"] * 2


def test_cli_eval_refuses_an_out_it_could_not_write_before_any_question(tmp_path: Path) -> None:
    # a folder under a file gave a traceback once every question had been asked; « --out "" »
    # wrote into the current folder; reports inside an index went with its next rebuild
    from poleqa.cli import cli

    squad = tmp_path / "s.json"
    squad.write_text('{"data": []}', encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    under_file = tmp_path / "a-file" / "out"
    res = CliRunner().invoke(cli, ["eval", "--squad", str(squad), "--out", str(under_file)])
    assert (res.exit_code, res.output) == (
        1,
        f"Error: Cannot make the reports' folder {under_file} (--out): {tmp_path / 'a-file'} "
        "is not a folder.\n",
    )
    empty = CliRunner().invoke(cli, ["eval", "--squad", str(squad), "--out", ""])
    assert empty.exit_code == 2 and "give a folder, not an empty name" in empty.output
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "Q ?", "answers": [], "sources": [],
                    "answerable": False}), encoding="utf-8")  # fmt: skip
    index, corpus = tmp_path / "index", tmp_path / "corpus"
    args = ["eval", str(questions), "--corpus", str(corpus), "--index", str(index)]
    res = CliRunner().invoke(cli, [*args, "--out", str(index / "r")])
    assert (res.exit_code, res.output) == (
        1,
        f"Error: The reports' folder {index / 'r'} (--out) is inside the index {index}: it "
        "would be deleted when the index is next rebuilt; choose an --out outside it.\n",
    )
