"""`poleqa index` on corpora with problems: missing, empty, unreadable folders and file names,
documents too long, an index inside its corpus."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from poleqa.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_folder_that_cannot_be_opened_is_said_not_dropped_silently(
    folders, fake_models, monkeypatch
) -> None:
    # its documents left the index with « skipped 0 » (root reads any folder: for it, the
    # refusal the kernel gives other users is made here)
    corpus, _ = folders
    locked = corpus / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text("Le pôle Verrou compte 12 membres.", encoding="utf-8")
    build = ("index", "--corpus", "corpus", "--index", "index", "--model", "fake-a")
    assert run(*build).exit_code == 0
    locked.chmod(0)
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if isinstance(path, str | os.PathLike) and Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    try:
        result = run(*build)
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 0, result.output
    assert "removed 1, unchanged 3, skipped 1;" in result.stdout
    assert "skipped locked/: cannot read the folder: permission denied\n" in result.stderr


def test_an_index_inside_its_corpus_is_refused(folders, fake_models) -> None:
    # the next walk read its files: 27 « unsupported » lines, its README.md a document
    result = run("index", "--corpus", "corpus", "--index", "corpus/idx", "--model", "fake-a")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: The index folder corpus/idx is inside the corpus folder corpus: its files "
        "would be read as documents. Choose an index folder outside the corpus.\n"
    )
    assert not Path("corpus/idx").exists()
    hidden = run("index", "--corpus", "corpus", "--index", "corpus/.idx", "--model", "fake-a")
    assert hidden.exit_code == 0, hidden.output  # hidden folders are not walked


def test_missing_corpus(folders, fake_models) -> None:
    result = run("index", "--corpus", "nowhere", "--index", "index")
    assert result.exit_code == 1
    assert result.stderr == "Error: Corpus folder not found: nowhere\n"
    assert result.stdout == ""
    assert not Path("index").exists()


def test_empty_corpus(folders, fake_models) -> None:
    Path("empty").mkdir()
    result = run("index", "--corpus", "empty", "--index", "index")
    assert result.exit_code == 1
    assert result.stderr == "Error: No readable document in empty; the index was not changed.\n"
    # every file skipped: which, and why (it said « 2 files skipped » only)
    Path("empty/a.txt").write_bytes(b"")
    Path("empty/b.txt").write_bytes(b"\x00\x01")
    result = run("index", "--corpus", "empty", "--index", "index")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: No readable document in empty (skipped a.txt: the file is empty; b.txt: binary "
        "file (it holds NUL bytes), not text); the index was not changed.\n"
    )
    # metadata files that no document reads come after the documents' reasons, which they
    # hid behind « and 2 more »
    for name in ("0a", "0b", "0c", "0d", "0e"):
        Path(f"empty/{name}.txt.meta.json").write_text("{}", encoding="utf-8")
    result = run("index", "--corpus", "empty", "--index", "index")
    assert "(skipped a.txt: the file is empty; b.txt: binary file (it holds NUL bytes), not " in (
        result.stderr
    )
    assert result.stderr.endswith("; and 2 more); the index was not changed.\n")


def test_max_document_chars_skips_longer_documents(folders, fake_models) -> None:
    result = run("index", "--max-document-chars", "300", "--model", "fake-a")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Indexed: 2 documents, ")
    skip = "skipped a_medicen.md: 311 characters, above the limit of 300 (--max-document-chars)"
    assert f"{skip}\n" in result.stderr
    result = run("index", "--model", "fake-a")  # the default limit takes it in
    assert result.exit_code == 0, result.output
    assert "added 1, changed 0, removed 0, unchanged 2, skipped 0;" in result.stdout
    result = run("index", "--max-document-chars", "0")
    assert result.exit_code == 2 and "--max-document-chars" in result.stderr


def test_a_file_name_that_is_not_utf8_is_skipped_and_the_rest_indexed(folders, fake_models):
    # a Windows archive unpacked on Linux: « café » in Latin-1 bytes; the build once failed on
    # writing its manifest, for this file and every later build
    corpus, _ = folders
    name = os.fsdecode(b"rapport caf\xe9.txt")
    (corpus / name).write_text("Le pôle Alpha compte 210 membres.", encoding="utf-8")
    (corpus / os.fsdecode(b"notes\xe9.xyz")).write_text("?", encoding="utf-8")
    for _ in range(2):  # and again: nothing of it was remembered
        result = run("index", "--model", "fake-a")
        assert result.exit_code == 0, result.output
        assert "skipped 2;" in result.stdout
        assert (
            "skipped rapport caf\ufffd.txt: the file name is not UTF-8 text: rename the file\n"
            in (result.stderr)
        )
        assert "skipped notes\ufffd.xyz: unsupported file type '.xyz'\n" in result.stderr
    assert "3 documents" in result.stdout
    (corpus / name).rename(corpus / "rapport café.txt")
    result = run("index", "--model", "fake-a")
    assert "added 1, changed 0, removed 0, unchanged 3, skipped 1;" in result.stdout


def test_names_with_control_characters_are_printed_escaped(folders, fake_models) -> None:
    # printed raw: a newline split a line in two, an escape sequence acted on the terminal
    corpus, _ = folders
    text = "Le pôle Gamma compte 310 membres."
    (corpus / "gamma\nbis.txt").write_text(text, encoding="utf-8")
    (corpus / "copie\x1b[2J.txt").write_text(text, encoding="utf-8")
    (corpus / "vide\t.txt").write_bytes(b"")
    result = run("index", "--model", "fake-a")
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert skipped == [
        "skipped gamma\\nbis.txt: same file as copie\\x1b[2J.txt",
        "skipped vide\\t.txt: the file is empty",
    ]
    result = run("search", "Gamma membres", "--model", "fake-a", "--k", "1")
    assert result.stdout.splitlines()[1].startswith("   copie\\x1b[2J.txt [0:33]  score ")
    # and in an error's line
    for name in ("a_medicen.md", "b_xylofutur.md", "c_aqua.md"):
        (corpus / name).unlink()
    for name in ("gamma\nbis.txt", "copie\x1b[2J.txt"):
        (corpus / name).write_bytes(b"")
    result = run("index", "--model", "fake-a")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: No readable document in corpus (skipped copie\\x1b[2J.txt: the file is empty; "
        "gamma\\nbis.txt: the file is empty; vide\\t.txt: the file is empty); the index was "
        "not changed.\n"
    )
