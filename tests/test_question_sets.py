"""Question sets: parsing JSONL and CSV, their errors, and the developer tools reading them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from poleqa.errors import QuestionSetError, writable
from poleqa.evaluation import (
    Question,
    load_questions,
    parse_questions,
    set_name,
)


# -- question sets ----------------------------------------------------------------------------
def test_load_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"id": "s1", "question": "Combien de pôles ?", "answers": ["71"], '
        '"sources": ["./seeds/a.txt"], "answerable": true, "type": "number", '
        '"tags": ["temporal"]}\n'
        "\n"
        '{"id": 2, "question": "Qui préside X ?", "answers": [], "sources": [], '
        '"answerable": false}\n',
        encoding="utf-8",
    )
    assert load_questions(path) == [
        Question(
            "s1", "Combien de pôles ?", ("71",), ("seeds/a.txt",), True, "number", ("temporal",), 1
        ),
        Question("2", "Qui préside X ?", (), (), False, "unanswerable", (), 3),
    ]


def test_malformed_jsonl_lists_every_problem_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"id": "a", "question": "Combien ?", "answers": ["3"], "sources": [], '
                '"answerable": true}',
                '{"id": "b", "question": "Quoi ?"',  # truncated JSON
                '{"id": "c", "question": "Qui ?", "sources": [], "answerable": true}',
                '{"id": "d", "question": "Où ?", "answers": [], "sources": [], "answerable": true}',
                '{"id": "a", "question": "Quand ?", "answers": [], "sources": [], '
                '"answerable": "peut-être"}',
                "[1, 2]",
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(QuestionSetError) as err:
        load_questions(path)
    msg = err.value.message
    assert "5 problems" in msg
    assert "line 2: invalid JSON" in msg
    assert "line 3: missing key(s) answers" in msg
    assert "line 4: answerable question without answers" in msg
    assert "line 5: answerable must be true or false" in msg
    assert "line 6: not a JSON object" in msg
    assert "ligne 3 : clé(s) manquante(s) : answers" in err.value.message_fr
    assert "ligne 4 : question marquée « avec réponse » mais sans réponse attendue" in (
        err.value.message_fr
    )


def test_odd_lines_are_named_or_mended_before_anything_is_asked() -> None:
    # a lone surrogate (a JSON « \\udce8 » escape) once passed here and broke the reports only
    # after every question had been asked; a line nested thousands deep raised RecursionError
    (q,) = parse_questions(
        '{"id": "s\\udce8", "question": "O\\udce8 est le si\\u00e8ge ?", "answers": ["x\\ud800"], '
        '"sources": ["a\\udfff.md"], "answerable": true, "type": "n\\ud800"}',
        "jsonl",
    )
    assert (q.id, q.question, q.answers, q.sources, q.type) == (
        "s\ufffd", "O\ufffd est le siège ?", ("x\ufffd",), ("a\ufffd.md",), "n\ufffd"
    )  # fmt: skip
    with pytest.raises(QuestionSetError) as err:
        parse_questions("[" * 100_000, "jsonl")
    assert err.value.message.endswith("line 1: JSON nested too deeply")
    assert err.value.message_fr.endswith("ligne 1 : JSON imbriqué trop profond")
    with pytest.raises(QuestionSetError) as err:  # json.loads' own ValueError, not a decode error
        parse_questions('{"id": 1' + "0" * 5000 + "}", "jsonl")
    assert err.value.message.endswith("line 1: invalid JSON (a number of more than 4,300 digits)")
    assert err.value.message_fr.endswith(
        "ligne 1 : JSON invalide (nombre de plus de 4 300 chiffres)"
    )
    # punctuation only: not an empty question, a question without a word (as `ask` says it)
    with pytest.raises(QuestionSetError) as err:
        line = '{"id": 1, "question": "???", "answers": [], "sources": [], "answerable": false}'
        parse_questions(line, "jsonl")
    assert err.value.message.endswith("line 1: question holds no word, only punctuation")
    assert err.value.message_fr.endswith("ligne 1 : la question ne contient aucun mot")


def test_answerable_may_be_1_or_0_in_json_lines_as_in_csv() -> None:
    rows = [
        {"id": "a", "question": "Q ?", "answers": ["x"], "sources": [], "answerable": 1},
        {"id": "b", "question": "R ?", "answers": [], "sources": [], "answerable": 0},
    ]
    questions = parse_questions("\n".join(json.dumps(r) for r in rows), "jsonl")
    assert [q.answerable for q in questions] == [True, False]
    with pytest.raises(QuestionSetError):  # 2 is neither
        parse_questions(json.dumps({**rows[0], "answerable": 2}), "jsonl")


@pytest.mark.parametrize(
    ("whole", "said"),
    [
        # a SQuAD file given without --squad got « missing key(s) id, question… »
        ({"version": "1.1", "data": []}, 'the file is in SQuAD format (a "data" list)'),
        # one question pretty-printed got one « invalid JSON » line per line of it
        (
            {"id": "a", "question": "Q ?", "answers": [], "sources": [], "answerable": False},
            "the file is one JSON object over several lines",
        ),
    ],
)
def test_one_json_object_over_lines_is_told_what_it_is(whole: dict, said: str) -> None:
    with pytest.raises(QuestionSetError) as err:
        parse_questions(json.dumps(whole, indent=2), "jsonl", name="set.json")
    assert said in err.value.message and "1 problem," in err.value.message


def test_a_json_array_is_told_that_json_lines_is_expected() -> None:
    # it was « line 1: not a JSON object », with no word of the format
    rows = [{"id": "a", "question": "Q ?", "answers": [], "sources": [], "answerable": False}]
    with pytest.raises(QuestionSetError) as err:
        parse_questions(json.dumps(rows, indent=1), "jsonl", name="set.json")
    assert err.value.message.endswith(
        "the file is one JSON array; JSON Lines is expected: one question object per line"
    )
    assert err.value.message_fr.endswith(
        "le fichier est un tableau JSON ; le format attendu est JSON Lines : une question (un "
        "objet JSON) par ligne"
    )


def test_a_file_of_thousands_of_bad_lines_lists_the_first_twenty() -> None:
    with pytest.raises(QuestionSetError) as err:
        parse_questions("\n".join(["[1]"] * 5000), "jsonl")
    lines = err.value.message_fr.splitlines()
    assert lines[0].endswith("(5000 problèmes) :")
    assert lines[1:] == [f"  - ligne {n} : ce n'est pas un objet JSON" for n in range(1, 21)] + [
        "  - … et 4980 autre(s)"
    ]
    assert err.value.message.splitlines()[-1] == "  - … and 4980 more"


def test_duplicate_ids_and_empty_file(tmp_path: Path) -> None:
    line = '{"id": "x", "question": "Qui ?", "answers": [], "sources": [], "answerable": false}'
    dup = tmp_path / "dup.jsonl"
    dup.write_text(line + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(
        QuestionSetError, match=r"line 2: duplicate id 'x' \(first on line 1\)"
    ) as e:
        load_questions(dup)
    assert "identifiant « x » en double (déjà ligne 1)" in e.value.message_fr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="no questions"):
        load_questions(empty)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(QuestionSetError, match="not UTF-8"):
        load_questions(binary)


def test_load_csv_with_semicolons_and_pipes(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text(
        "id;question;answers;sources;answerable;type;tags\n"
        "c1;Quels pôles ?;Axelera | Tenerrdis;a.txt|b.txt;oui;list;\n"
        "c2;Qui préside ?;;;non;;\n",
        encoding="utf-8",
    )
    assert load_questions(path) == [
        Question(
            "c1", "Quels pôles ?", ("Axelera", "Tenerrdis"), ("a.txt", "b.txt"), True, "list", (), 2
        ),
        Question("c2", "Qui préside ?", (), (), False, "unanswerable", (), 3),
    ]


@pytest.mark.parametrize("sep", [",", ";"])
def test_csv_doubled_quotes_are_escaped_quotes(sep: str) -> None:
    # the dialect was sniffed from the header alone, which has no quotes: `""` inside a
    # quoted cell stayed doubled and the gold answer could never be matched
    header = sep.join(["id", "question", "answers", "sources", "answerable"])
    cells = ["q1", f'"Que veut dire ""pôle""{sep} au fond ?"', '"un ""cluster"""', "a.md", "true"]
    assert parse_questions(f"{header}\r\n{sep.join(cells)}\r\n", "csv") == [
        Question("q1", f'Que veut dire "pôle"{sep} au fond ?', ('un "cluster"',), ("a.md",), True,
                 line=2)
    ]  # fmt: skip


def test_jsonl_unicode_line_breaks_inside_strings_are_kept() -> None:
    # JSON allows U+2028, U+2029 and U+0085 raw inside strings (json.dumps(ensure_ascii=False)
    # writes them so); only "\n" ends a record, and a "\r" before it is dropped
    text = (
        '{"id": "q1", "question": "Combien de pôles\u2028en 2023\u0085?\u2028", '
        '"answers": ["55\u2029"], "sources": ["a.md"], "answerable": true}\r\n'
        "\r\n"
        '{"id": "q2", "question": "Qui\u2029 ?", "answers": [], "sources": [], '
        '"answerable": false}\n'
        "[1]\n"
    )
    with pytest.raises(QuestionSetError) as err:
        parse_questions(text, "jsonl")
    assert err.value.message == (
        "questions: 1 problem, nothing was asked:\n  - line 4: not a JSON object"
    )
    assert parse_questions(text.removesuffix("[1]\n"), "jsonl") == [
        Question(
            "q1", "Combien de pôles\u2028en 2023\u0085?", ("55",), ("a.md",), True, "other", (), 1
        ),
        Question("q2", "Qui\u2029 ?", (), (), False, "unanswerable", (), 3),
    ]


def test_malformed_csv(tmp_path: Path) -> None:
    no_col = tmp_path / "nocol.csv"
    no_col.write_text("id,question,answers\n1,Qui ?,X\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="line 1: CSV header lacks column"):
        load_questions(no_col)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,question,answers,sources,answerable\n"
        "1,Qui ?,X,a.txt,maybe\n"
        "2,Quoi ?,Y\n"
        "3,Où ?,Z,a.txt,1\n",
        encoding="utf-8",
    )
    with pytest.raises(QuestionSetError) as err:
        load_questions(bad)
    assert "2 problems" in err.value.message
    assert "line 2: answerable must be true or false" in err.value.message
    assert "line 3: 3 cells, expected 5" in err.value.message


def test_set_name() -> None:
    assert set_name(Path("eval/dev/questions.jsonl")) == "dev"
    assert set_name(Path("eval/seeds.jsonl")) == "seeds"


def test_developer_tools_print_one_line_for_poleqa_errors(tmp_path: Path) -> None:
    """`python -m poleqa.reading.…` tools translate poleqa's errors at their edge: one line on
    stderr, exit 2 for a bad question file and 1 for the rest, no traceback, nothing written."""
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "corpus").mkdir()
    out = tmp_path / "out.json"
    tool = [sys.executable, "-m", "poleqa.reading.domain_data", str(bad), "corpus", str(out)]
    run = subprocess.run(tool, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stderr, run.stdout) == (
        2,
        "Error: bad.jsonl: not UTF-8 text (byte 0); save it as UTF-8 (in Excel: « CSV UTF-8 »).\n",
        "",
    )
    assert not out.exists()
    # the output is checked before any question is read (calibrate and mined read for minutes)
    blocked = tmp_path / "a-file"
    blocked.write_text("x", "utf-8")
    tool[-1] = str(blocked / "sub" / "out.json")
    run = subprocess.run(tool, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout) == (1, "")
    assert (
        run.stderr
        == f"Error: Cannot write {blocked}/sub/out.json: {blocked} is a file, not a folder\n"
    )
    assert writable(tmp_path / "new" / "deep" / "f.json").parent.is_dir()
    missing = tmp_path / "nowhere"
    soup = [sys.executable, "-m", "poleqa.reading.soup", "--base", "corpus", "--out", "s"]
    run = subprocess.run(
        [*soup, str(missing), str(missing)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr == (
        f"Error: No usable reader manifest at {missing}/reader.json: [Errno 2] "
        f"No such file or directory: '{missing}/reader.json'\n"
    )


def test_a_csv_split_by_another_character_is_told_which_ones_are_read() -> None:
    # « id|question|answers|… » got « colonne(s) absente(s) » with every column listed
    with pytest.raises(QuestionSetError) as err:
        parse_questions("id|question|answers|sources|answerable\na|Q ?|x|s.md|true\n", "csv")
    assert err.value.message_fr.endswith(
        "l'en-tête CSV n'a qu'une colonne : séparez les colonnes par « , », « ; » ou une tabulation"
    )
