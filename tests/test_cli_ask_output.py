"""`poleqa ask`'s plain output: an answer cut from a longer sentence (as the chat shows it), the
commands it advises."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from webfake import INFO

from poleqa.cli import cli
from poleqa.cli.ask_cmd import print_answer
from poleqa.cli.freshness import FileChanges
from poleqa.serialise import answer_to_json
from poleqa.types import Answer, Citation


def test_ask_marks_an_answer_cut_from_a_longer_sentence(capsys: pytest.CaptureFixture) -> None:
    """As the chat does: « … » where the sentence the answer was cut from goes on; --json keeps
    the exact span."""
    passage = (
        "Quatre pôles y ont leur siège : la Cosmetic Valley avec 300 adhérents, S2E2 avec 130 "
        "adhérents, Elastopole et Dream. Fin."
    )
    middle = "la Cosmetic Valley avec 300 adhérents, S2E2 avec 130 adhérents"
    start = passage.index(middle)
    cite = Citation(1, INFO, 0, len(passage), passage, 1.0, start, start + len(middle))
    answer = Answer("Q ?", middle, False, 0.9, citations=(cite,))
    print_answer(answer)
    assert capsys.readouterr().out.splitlines()[0] == f"Réponse : … {middle} …"
    assert answer_to_json(answer)["answer"] == middle


def test_the_commands_advised_quote_folders_with_spaces(tmp_path: Path) -> None:
    # copied and pasted, « --index nouvel index » named two things
    args = ["ask", "Combien ?", "--index", str(tmp_path / "nouvel index"), "--corpus", "mon corpus"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert (
        f"run `poleqa index --corpus 'mon corpus' --index '{tmp_path}/nouvel index'` first."
        in result.output
    )


def test_ask_prints_file_names_escaped(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # printed raw, a newline in a name broke the citation line, an escape sequence acted
    odd = replace(INFO, source="a\nb\x1b[2J.txt", title="Pôles AURA")
    cite = Citation(1, odd, 0, 5, "Texte", 1.0)
    (tmp_path / "x.txt").write_text("Texte", encoding="utf-8")  # the index's corpus folder
    # an index that does not record its folder (built before it was recorded)
    manifest = SimpleNamespace(corpus_dir=None, corpus_from_index=None)
    pipeline = SimpleNamespace(
        sources=lambda: [replace(INFO, source="x.txt"), odd],
        index=SimpleNamespace(manifest=manifest),
    )
    changes = FileChanges(pipeline, tmp_path, tmp_path / "index", named=False)  # type: ignore[arg-type]
    noted = changes.noted(Answer("Q ?", None, True, 0.1, citations=(cite,)))
    print_answer(noted)
    out, err = capsys.readouterr()
    assert out.splitlines()[-3:] == [
        "Passages peut-être utiles :",
        "  [1] Pôles AURA, 2023-03-30 — a\\nb\\x1b[2J.txt [0-5]",
        "      « Texte »",
    ]
    gone = "Note : Le fichier a\\nb\\x1b[2J.txt n'est plus dans le dossier des documents "
    assert f"{gone}depuis son indexation.\n" in out
    assert err.startswith(f"poleqa: a\\nb\\x1b[2J.txt is no longer in {tmp_path}: update ")


def test_a_documents_control_characters_act_on_no_terminal(capsys: pytest.CaptureFixture) -> None:
    # a document holding « ESC[2J » cleared the screen of whoever printed an answer citing it,
    # « ESC]0;…BEL » in its title retitled the window
    passage = "Le pôle Escape est \x1b[31mrouge\x1b[0m.\tFin."
    titled = replace(INFO, title="Titre\x1b]0;PWNED\x07")
    start = passage.index("rouge") - 5
    cite = Citation(1, titled, 0, len(passage), passage, 1.0, start, start + 10)
    print_answer(Answer("Q ?", passage[:-5], False, 0.9, "\x1b[31mrouge", citations=(cite,)))
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "Réponse : Le pôle Escape est \\x1b[31mrouge\\x1b[0m." in out.splitlines()
    assert "  [1] Titre\\x1b]0;PWNED\\x07, 2023-03-30 — " in out
