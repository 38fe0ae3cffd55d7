"""`poleqa ask`: plain and JSON output, --jsonl batches, error lines and exit codes; abstentions
on the seed corpus with the real model (slow; answers: tests/test_real_answers.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import ANSWER_KEYS as KEYS
from support import CITATION_KEYS, build_seed_index

from poleqa.cli import cli
from poleqa.pipeline import Pipeline
from poleqa.serialise import UNCERTAIN_TEXT

ANSWERED = "Où est le siège de Xylofutur ?"  # support.DOCS: « Le siège est à Bordeaux. »


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


# the last: « pôles » typed in a Latin-1 terminal (Python's stand-in for the byte 0xF4)
@pytest.mark.parametrize("question", ["", "   ", "?!…", "x" * 2001, "Combien de p\udcf4les ?"])
def test_bad_question_exit_2(question: str, tmp_path: Path) -> None:
    result = run("ask", question, "--index", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert result.output.startswith("Error: The question")


def test_no_index_says_what_to_run(tmp_path: Path) -> None:
    result = run("ask", "Combien de pôles ?", "--index", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "run `poleqa index" in result.output


def test_ask_json_schema(fake_index: Path) -> None:
    result = run("ask", ANSWERED, "--index", "index", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == KEYS
    assert data["question"] == ANSWERED
    assert data["abstained"] is False
    assert 0.0 <= data["confidence"] <= 1.0
    assert data["citations"] and list(data["citations"][0]) == CITATION_KEYS
    assert [c["n"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
    for c in data["citations"]:  # each passage is the document's text at its offsets
        text = (fake_index.parent / "corpus" / c["source"]).read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == c["passage"]
    assert data["answer"] in data["citations"][0]["passage"]
    assert data["short_answer"] in data["answer"]
    assert data["resolved_question"] is None and data["language"] == "fr"
    first = data["citations"][0]  # the answer's own offsets, inside its passage
    text = (fake_index.parent / "corpus" / first["source"]).read_text(encoding="utf-8")
    assert first["start"] <= first["answer_start"] < first["answer_end"] <= first["end"]
    assert text[first["answer_start"] : first["answer_end"]] == data["answer"]
    assert text[first["short_start"] : first["short_end"]] == data["short_answer"]


def test_ask_plain_output(fake_index: Path) -> None:
    result = run("ask", ANSWERED, "--index", "index", "--k", "1")
    assert result.exit_code == 0, result.output
    assert "Confiance : " in result.output
    assert "  [1] " in result.output and "  [2] " not in result.output  # --k 1


def test_ask_jsonl_goes_on_after_bad_lines(fake_index: Path) -> None:
    lines = [
        ANSWERED,
        "",
        "???",
        json.dumps({"question": "Combien de membres compte Medicen ?"}),
        json.dumps({"nope": 1}),
        "x" * 2001,
        '{"question": "O\\u00f9 est le si\\udce8ge de Xylofutur ?"}',  # a lone surrogate
        '{"question": ' + "[" * 100_000,  # too deep for json: read as text (a traceback once)
        '{"question": "Où est Xylofutur ?", "id": 7,}',  # was asked as its text
    ]
    result = run("ask", "--jsonl", "-", "--index", "index", stdin="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 9
    assert out[8]["error"].startswith("the line is not valid JSON (Expecting property name")
    assert out[7]["error"].startswith("The question is too long (100013 characters")
    assert out[6]["question"] == "Où est le si\ufffdge de Xylofutur ?" and list(out[6]) == KEYS
    assert list(out[0]) == KEYS and list(out[3]) == KEYS
    assert out[0]["short_answer"] == "Bordeaux"  # the same answer as `ask` alone
    assert out[3]["question"] == "Combien de membres compte Medicen ?"
    assert [sorted(o) for o in (out[1], out[2], out[4], out[5])] == [["error", "question"]] * 4
    assert out[2]["error"] == "The question holds no words, only punctuation."
    assert out[4]["error"] == 'the JSON object has no "question" string'
    assert out[5]["error"].startswith("The question is too long")
    # a refused line is echoed cut, not whole (a 10 MB line gave 10 MB of output)
    assert out[5]["question"] == "x" * 2000 + "…" and out[7]["question"] == lines[7][:2000] + "…"


def test_ask_jsonl_answers_carry_the_id_their_line_gave(fake_index: Path) -> None:
    # they had none: a question set asked through --jsonl was matched by position only
    lines = [
        json.dumps({"id": "q1", "question": ANSWERED}),
        json.dumps({"id": 2, "question": "???"}),
        json.dumps({"id": "q3"}),
        json.dumps({"id": True, "question": ANSWERED}),  # no id of a question's
        ANSWERED,
        json.dumps({"id": 2.5, "question": "???"}),
        json.dumps({"id": "x" * 3000, "question": "???"}),  # cut as a refused question is
    ]
    result = run("ask", "--jsonl", "-", "--index", "index", stdin="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert list(out[0]) == ["id", *KEYS] and out[0]["id"] == "q1"
    assert out[1] == {
        "id": 2,
        "question": "???",
        "error": "The question holds no words, only punctuation.",
    }
    assert out[2] == {
        "id": "q3",
        "question": lines[2],
        "error": 'the JSON object has no "question" string',
    }
    assert list(out[3]) == KEYS and list(out[4]) == KEYS
    assert out[5]["id"] == 2.5 and out[6]["id"] == "x" * 2000 + "…"
    assert out[3]["short_answer"] == out[0]["short_answer"] == "Bordeaux"


def test_ask_jsonl_exits_2_when_no_line_is_answered(fake_index: Path) -> None:
    # a binary or wrong file gave one error per line and exit 0, as if all had gone well
    result = run("ask", "--jsonl", "-", "--index", "index", stdin="???\n\n" + "x" * 2001 + "\n")
    assert result.exit_code == 2
    assert [json.loads(line)["error"] for line in result.stdout.splitlines()] == [
        "The question holds no words, only punctuation.",
        "The question is empty.",
        "The question is too long (2001 characters; at most 2000).",
    ]
    assert result.stderr == 'Error: no line was answered (3 refused: see each line\'s "error")\n'
    empty = run("ask", "--jsonl", "-", "--index", "index", stdin="")
    assert (empty.exit_code, empty.stdout) == (2, "")
    assert empty.stderr == "Error: no line was answered (no line given)\n"
    # one answered line is enough for a run that went well (exit 0), refused lines beside it
    mixed = run("ask", "--jsonl", "-", "--index", "index", stdin=f"???\n{ANSWERED}\n")
    assert (mixed.exit_code, mixed.stderr) == (0, "")


def test_ask_jsonl_answers_the_utf8_lines_of_a_file_that_has_others(
    fake_index: Path, tmp_path: Path
) -> None:
    # a file saved in Windows-1252 once stopped the run with a traceback before any answer
    questions = tmp_path / "questions.txt"
    questions.write_bytes(
        "\ufeffQui préside Medicen Paris Region ?\r\n".encode()
        + "Où est le siège du pôle ?\r\n".encode("cp1252")
        + b"???\n"
    )
    result = run("ask", "--jsonl", str(questions), "--index", "index")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert out[0]["question"] == "Qui préside Medicen Paris Region ?" and list(out[0]) == KEYS
    assert out[1] == {
        "question": "",
        "error": "The line is not UTF-8 text (byte 2): save the file as UTF-8.",
    }
    assert out[2]["error"] == "The question holds no words, only punctuation."


EXCLUSIVE = (
    "Usage: cli ask [OPTIONS] [QUESTION]\nTry 'cli ask --help' for help.\n\n"
    "Error: give either a QUESTION or --jsonl, not both\n"
)


def test_question_and_jsonl_are_exclusive(fake_index: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", "Q ?", "--jsonl", "-"], input="a\n")
    assert (result.exit_code, result.output) == (2, EXCLUSIVE)


# -- end to end with the real model on the seed corpus ------------------------------------------


@pytest.fixture(scope="module")
def seed_pipeline(tmp_path_factory):
    from poleqa.config import Settings
    from poleqa.pipeline import Pipeline

    corpus_dir, index_dir, cache = build_seed_index(tmp_path_factory)
    return Pipeline(Settings(corpus_dir=corpus_dir, index_dir=index_dir, cache_dir=cache))


@pytest.mark.slow
@pytest.mark.parametrize("reader", ["trained", "sentences"])
def test_real_questions_outside_the_documents_are_not_answered(seed_pipeline, reader) -> None:
    pipeline = Pipeline(seed_pipeline.settings.with_(reader=reader))
    for question in (
        "Quelle est la capitale de l'Australie ?",
        "Quelle est la recette de la tarte Tatin ?",
        "Qui a gagné la Coupe du monde de football en 1998 ?",
    ):
        a = pipeline.ask(question)
        assert a.abstained and a.text is None, (reader, question, a.text)
        assert a.citations  # the closest passages, "peut-être utile"


@pytest.mark.slow
@pytest.mark.parametrize("reader", ["trained", "sentences"])
def test_real_near_miss_abstains(seed_pipeline, reader: str) -> None:
    # a pôle and a role the documents name, a fact they lack: the trained reader's weak spot
    # (it abstains on 7 of the 10 unanswerable seed questions since passages of 500 characters,
    # 6 before, when this one was answered; docs/quality.md)
    pipeline = Pipeline(seed_pipeline.settings.with_(reader=reader))
    a = pipeline.ask("Quel est le salaire annuel du directeur général du pôle Axelera ?")
    assert a.abstained and a.text is None


def test_filters_restrict_the_cited_documents(fake_index: Path) -> None:
    """--source and --date-from/--date-to reach retrieval: only matching documents are cited."""
    q = "Quel pôle est consacré à l'eau ?"
    only = run("ask", q, "--index", "index", "--json", "--source", "b_xylofutur.md")
    assert {c["source"] for c in json.loads(only.output)["citations"]} == {"b_xylofutur.md"}
    dated = run("ask", q, "--index", "index", "--json", "--date-from", "2017", "--date-to", "2018")
    assert {c["source"] for c in json.loads(dated.output)["citations"]} == {"c_aqua.md"}
    hits = run("search", q, "--index", "index", "--json", "--date-to", "2016-12")
    assert {h["source"] for h in json.loads(hits.output)["hits"]} == {"a_medicen.md"}


NOT_A_DATE = "is not a date written YYYY, YYYY-MM or YYYY-MM-DD."
NOT_A_SOURCE = (
    "in the index (sources are paths relative to the corpus folder, with /, as `poleqa search` "
    "lists them)."
)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--date-from", "2013-1"), f"--date-from '2013-1' {NOT_A_DATE}"),
        (("--date-to", "01/2013"), f"--date-to '01/2013' {NOT_A_DATE}"),
        (("--date-from", "2013-02-30"), f"--date-from '2013-02-30' {NOT_A_DATE}"),
        (("--date-from", "2013", "--date-to", "2010-06"),
         "The dates are the wrong way round: from 2013 to 2010-06."),
        (("--source", "corpus/c_aqua.md"), f"No document 'corpus/c_aqua.md' {NOT_A_SOURCE}"),
    ],
)  # fmt: skip
def test_filters_that_would_match_nothing_or_the_wrong_documents_are_refused(
    fake_index: Path, args: tuple[str, ...], error: str
) -> None:
    # compared as text, « 2013-1 » once dropped January to September 2013 without a word
    for command in ("ask", "search"):
        result = run(command, "Quel pôle est consacré à l'eau ?", "--index", "index", *args)
        assert (result.exit_code, result.output) == (2, f"Error: {error}\n")
    fine = run(
        "ask", "Quel pôle ?", "--index", "index", "--date-from", "2013-06", "--date-to", "2013"
    )
    assert fine.exit_code == 0, fine.output


# -- exact output on the fixed small index (support.DOCS, fake embedder, sentence scorer) -------

ASK_OUTPUT = """\
Réponse : Le siège est à Bordeaux.
Réponse courte : Bordeaux
Confiance : 99 %
Sources :
  [1] Xylofutur, 2019-05-02 — b_xylofutur.md [68-228], réponse [204-228]
      « Xylofutur est le pôle de la filière forêt-bois-papier en Nouvelle-Aquitaine. Il réunit \
des scieries, des papetiers et des laboratoires. Le siège est à Bordeaux. »
  [2] Aqua-Valley, 2018-03-04 — c_aqua.md [65-192]
      « Aqua-Valley est un pôle consacré à l'eau, basé à Montpellier. Il a fusionné avec Hydreos \
pour former un pôle national de l'eau. »
"""

ABSTAIN_OUTPUT = """\
Je n'ai pas trouvé de réponse à cette question dans les documents.
Confiance : 0 %
Passages peut-être utiles :
  [1] Aqua-Valley, 2018-03-04 — c_aqua.md [65-192]
      « Aqua-Valley est un pôle consacré à l'eau, basé à Montpellier. Il a fusionné avec Hydreos \
pour former un pôle national de l'eau. »
  [2] Xylofutur, 2019-05-02 — b_xylofutur.md [68-228]
      « Xylofutur est le pôle de la filière forêt-bois-papier en Nouvelle-Aquitaine. Il réunit \
des scieries, des papetiers et des laboratoires. Le siège est à Bordeaux. »
"""

SEARCH_OUTPUT = """\
1. Medicen Paris Region (2016-10-01)
   a_medicen.md [77:311]  score 0.349, dense 0.299, bm25 0.50
   Medicen Paris Region est un pôle de compétitivité dédié à la santé. Il comptait 276 \
adhérents à l'automne 2016. Son président est Christian Lajoux. Le pôle couvre Paris et les \
départements voisins. Les biothérapies sont une priorité.

2. Aqua-Valley (2018-03-04)
   c_aqua.md [65:192]  score -0.055, dense -0.055
   Aqua-Valley est un pôle consacré à l'eau, basé à Montpellier. Il a fusionné avec Hydreos \
pour former un pôle national de l'eau.
"""


def test_ask_exact_output(fake_index: Path) -> None:
    # support.DOCS: the offsets are those of « Le siège est à Bordeaux. » in b_xylofutur.md
    text = (fake_index.parent / "corpus" / "b_xylofutur.md").read_text(encoding="utf-8")
    assert text[204:228] == "Le siège est à Bordeaux."
    result = run("ask", ANSWERED, "--index", "index", "--k", "2")
    assert result.output == ASK_OUTPUT


def test_ask_exact_output_of_an_uncertain_answer(fake_index: Path, monkeypatch) -> None:
    ask = Pipeline.ask  # the trained reader marks the answers its judge rates below one half

    def uncertain(self: Pipeline, *args, **kwargs):  # type: ignore[no-untyped-def]
        return replace(ask(self, *args, **kwargs), uncertain=True)

    monkeypatch.setattr(Pipeline, "ask", uncertain)
    result = run("ask", ANSWERED, "--index", "index", "--k", "2")
    assert result.output == UNCERTAIN_TEXT + "\n" + ASK_OUTPUT
    assert result.output.startswith("Réponse incertaine : le passage cité ne répond peut-être")
    result = run("ask", ANSWERED, "--index", "index", "--k", "2", "--json")
    assert json.loads(result.output)["uncertain"] is True


def test_ask_exact_output_when_the_documents_do_not_say(fake_index: Path) -> None:
    result = run("ask", "Quelle est la recette de la tarte Tatin ?", "--index", "index", "--k", "2")
    assert result.output == ABSTAIN_OUTPUT


def test_search_exact_output(fake_index: Path) -> None:
    result = run("search", "Qui préside Medicen ?", "--index", "index", "--k", "2")
    assert result.output.rstrip("\n") == SEARCH_OUTPUT.rstrip("\n")


def test_any_option_also_comes_from_its_environment_variable() -> None:
    # POLEQA_<COMMAND>_<OPTION>, as docs/deployment.md says: checked like the option itself
    result = CliRunner().invoke(cli, ["ask", "Combien ?"], env={"POLEQA_ASK_K": "0"})
    assert result.exit_code == 2
    assert result.output.endswith(
        "Error: Invalid value for 'POLEQA_ASK_K' (--k): 0 is not in the range 1<=x<=50.\n"
    )


# -- what the date filter leaves out ---------------------------------------------------------


def test_ask_says_how_many_undated_documents_the_date_filter_left_out(fake_index: Path) -> None:
    corpus = fake_index.parent / "corpus"
    (corpus / "d_lille.md").write_text("# Nordpôle\n\nNordpôle est à Lille.\n", encoding="utf-8")
    (corpus / "e_nantes.txt").write_text("Le pôle Atlantis est à Nantes.\n", encoding="utf-8")
    assert run("index", "--corpus", "corpus", "--index", "index").exit_code == 0
    dated = ("--index", "index", "--date-from", "2017")
    result = run("ask", "Où est Nordpôle ?", *dated)
    left_out = "Note : 2 documents sans date ont été écartés par le filtre de dates.\n"
    assert result.stdout.startswith(ABSTAIN_OUTPUT.split("\n")[0] + "\n")  # not in the dates
    assert left_out in result.stdout and left_out + "Passages peut-être utiles :\n" in result.stdout
    one = run("ask", "Où est Nordpôle ?", *dated, "--source", "d_lille.md", "--source", "c_aqua.md")
    assert "Note : 1 document sans date a été écarté par le filtre de dates.\n" in one.stdout
    assert "sans date" not in run("ask", "Où est Nordpôle ?", "--index", "index").stdout
    assert "sans date" not in run("ask", "Où est Nordpôle ?", *dated, "--json").stdout
    hits = run("search", "Où est Nordpôle ?", *dated)
    assert hits.stdout.endswith("Note: 2 document(s) without a date left out by the date filter.\n")
