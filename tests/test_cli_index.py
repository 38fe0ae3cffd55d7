"""`poleqa index` and `poleqa search`: output, JSON schema, error lines and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import DOCS, MODEL_CACHE, run_poleqa

from poleqa.cli import cli, first_run
from poleqa.cli.index_cmd import summary_lines
from poleqa.config import Settings
from poleqa.embedding import convert, onnx_backend
from poleqa.embedding.convert import ensure_st_folder
from poleqa.index.builder import BuildReport


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_index_then_search(folders, fake_models) -> None:
    corpus, _ = folders
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "notes.xyz").write_text("?", encoding="utf-8")
    result = run("index", "--corpus", "corpus", "--index", "index", "--model", "fake-a")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Indexed: 3 documents, ")
    assert lines[0].endswith(" sentences in index (flat index).")  # with sentence vectors
    assert lines[1].startswith("added 3, changed 0, removed 0, unchanged 0, skipped 2; embedded ")
    assert "skipped empty.txt: the file is empty\n" in result.stderr
    assert "skipped notes.xyz: unsupported file type '.xyz'\n" in result.stderr
    assert "Embedding chunks: 100%" in result.stderr  # the progress bar

    result = run("index", "--corpus", "corpus", "--index", "index", "--model", "fake-a")
    assert result.exit_code == 0
    assert result.stdout.startswith("Index up to date: 3 documents, ")
    assert "added 0, changed 0, removed 0, unchanged 3, skipped 2; embedded 0 chunks" in (
        result.stdout
    )

    result = run("search", "Où sont les scieries ?", "--index", "index", "--model", "fake-a")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1. Xylofutur (2019-05-02)\n   b_xylofutur.md [")


def test_search_json_schema(folders, fake_models) -> None:
    assert run("index", "--model", "fake-a").exit_code == 0  # defaults: ./corpus, ./index
    result = run("search", "Qui préside Medicen ?", "--json", "--k", "2", "--model", "fake-a")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["query", "hits"]
    assert data["query"] == "Qui préside Medicen ?"
    assert 1 <= len(data["hits"]) <= 2
    for hit in data["hits"]:
        assert list(hit) == ["source", "title", "date", "start", "end", "text", "score"]
        assert isinstance(hit["start"], int) and isinstance(hit["end"], int)
        assert isinstance(hit["score"], float)
        text = DOCS[hit["source"]]
        assert text[hit["start"] : hit["end"]] == hit["text"]
    top = data["hits"][0]
    assert (top["source"], top["title"], top["date"]) == (
        "a_medicen.md",
        "Medicen Paris Region",
        "2016-10-01",
    )


def test_options_are_read_from_variables_named_after_them(folders, fake_models) -> None:
    # POLEQA_<COMMAND>_<OPTION> as the docs write it (--json: POLEQA_SEARCH_JSON), and click's
    # own name after the Python parameter (POLEQA_SEARCH_AS_JSON), which worked before
    assert run("index", "--model", "fake-a").exit_code == 0
    for name in ("POLEQA_SEARCH_JSON", "POLEQA_SEARCH_AS_JSON"):
        result = CliRunner().invoke(
            cli, ["search", "Qui préside Medicen ?", "--model", "fake-a"], env={name: "1"}
        )
        assert result.exit_code == 0, result.output
        assert list(json.loads(result.stdout)) == ["query", "hits"], name
    result = CliRunner().invoke(
        cli,
        ["search", "Qui préside Medicen ?", "--json", "--model", "fake-a"],
        env={"POLEQA_SEARCH_SOURCE": "b_xylofutur.md"},
    )
    assert {h["source"] for h in json.loads(result.stdout)["hits"]} == {"b_xylofutur.md"}


def test_search_without_index(folders, fake_models) -> None:
    result = run("search", "Combien de pôles ?", "--index", "index")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: No index in index: run `poleqa index --index index` to build it.\n"
    )


def test_search_with_another_model(folders, fake_models) -> None:
    assert run("index", "--model", "fake-a").exit_code == 0
    result = run("search", "Combien de pôles ?", "--model", "fake-b")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: The index in index was built with the embedding model fake-a/32 (fake-a/32), "
        "not fake-b/32: run `poleqa index --index index --model <the model you ask with>` "
        "to rebuild it, or ask with --model fake-a/32.\n"
    )


def test_a_hand_edited_manifest_is_one_error_line_and_poleqa_index_repairs_it(
    folders, fake_models
) -> None:
    assert run("index", "--model", "fake-a").exit_code == 0
    manifest = Path("index") / (Path("index") / "CURRENT").read_text().strip() / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["files"] = [data["files"]]  # a list where a mapping is expected
    manifest.write_text(json.dumps(data), encoding="utf-8")
    result = run("search", "Combien de pôles ?", "--model", "fake-a")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: The manifest of the index in index is malformed (files is not a JSON object): "
        "run `poleqa index --index index` to rebuild it.\n"
    )
    result = run("index", "--model", "fake-a")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Indexed: 3 documents, ")
    assert result.stderr.endswith(  # not silently, as a first build; once it is done
        "\nNote: The manifest of the index in index is malformed (files is not a JSON object): "
        "it was built again from the documents.\n"
    )
    assert run("search", "Combien de pôles ?", "--model", "fake-a").exit_code == 0
    assert "Note:" not in run("index", "--model", "fake-a").stderr  # whole again


def test_bad_arguments(folders, fake_models) -> None:
    result = run("index", "--chunk-size", "200", "--chunk-overlap", "200")
    assert result.exit_code == 2
    assert "the overlap (200) must be smaller than the chunk size (200)" in result.stderr
    assert run("index", "--model", "fake-a").exit_code == 0
    result = run("search", "  ?! ", "--model", "fake-a")
    assert result.exit_code == 2
    assert result.stderr == "Error: The question holds no words, only punctuation.\n"


# -- real processes ----------------------------------------------------------------------------


def test_real_process_error_line(tmp_path: Path) -> None:
    proc = run_poleqa("index", "--corpus", "missing", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == "Error: Corpus folder not found: missing\n"


@pytest.mark.slow
def test_real_process_search_json(seed_index) -> None:
    corpus_dir, index_dir, _ = seed_index
    proc = run_poleqa(
        "search",
        "Combien de pôles de compétitivité compte la région Auvergne-Rhône-Alpes ?",
        "--index",
        str(index_dir),
        "--json",
        "--k",
        "3",
        cwd=index_dir.parent,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["hits"]) == 3
    top = data["hits"][0]
    assert top["source"] == "2023-03-30_auvergne-rhone-alpes-poles-labellises.txt"
    text = (corpus_dir / top["source"]).read_text(encoding="utf-8")
    assert text[top["start"] : top["end"]] == top["text"]


def test_embedding_progress_shows_totals_and_time_left(folders, fake_models) -> None:
    result = run("index", "--model", "fake-a")
    assert result.exit_code == 0, result.output
    # tqdm estimates the time left ("elapsed<left") only for a bar that knows its total.
    bars = re.findall(
        r"Embedding (chunks|sentences): 100%\|[^|]*\| (\d+)/(\d+) \[\d\d:\d\d<(\d\d:\d\d)",
        result.stderr,
    )
    assert [kind for kind, *_ in bars][-2:] == ["chunks", "sentences"]
    assert all(done == total != "0" for _, done, total, _ in bars)


def test_an_index_without_sentence_vectors_serves_search_only(folders, fake_models) -> None:
    result = run("index", "--model", "fake-a", "--no-sentence-vectors")
    assert result.exit_code == 0, result.output
    assert re.match(r"Indexed: 3 documents, \d+ chunks, \d+ sentences \(without vectors\) in ",
                    result.stdout)  # fmt: skip
    assert re.search(r"embedded \d+ chunks and 0 sentences", result.stdout)
    assert "Embedding sentences" not in result.stderr

    for reader in ("sentences", "trained"):  # both readers read the sentence vectors
        result = run("ask", "Qui préside Medicen ?", "--model", "fake-a", "--reader", reader)
        assert result.exit_code == 1
        assert result.stderr == (
            "Error: The index in index was built without sentence vectors, which the readers "
            "need: rebuild it with `poleqa index --index index --sentence-vectors` (only the "
            "sentences are embedded; the chunks are kept).\n"
        )
    assert run("search", "Medicen", "--model", "fake-a").exit_code == 0

    result = run("index", "--model", "fake-a")  # the default embeds them, the chunks are kept
    assert result.exit_code == 0, result.output
    assert "unchanged 3, skipped 0; embedded 0 chunks and " in result.stdout
    assert " 0 sentences in " not in result.stdout and "without vectors" not in result.stdout
    assert run("index", "--model", "fake-a").stdout.startswith("Index up to date")
    result = run("index", "--model", "fake-a", "--no-sentence-vectors")
    assert "(without vectors)" in result.stdout and "embedded 0 chunks and 0 sentences" in (
        result.stdout
    )
    # the --reader of older scripts is accepted, said to be ignored, and changes nothing
    result = run("index", "--model", "fake-a", "--no-sentence-vectors", "--reader", "trained")
    assert result.exit_code == 0 and result.stdout.startswith("Index up to date")
    assert result.stderr == (
        "Note: `poleqa index --reader` is ignored; both readers read the sentence vectors "
        "(--no-sentence-vectors builds an index for search only).\n"
    )


def test_the_first_runs_model_set_up_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[str] = []
    # the conversion and the export themselves are tested in test_embedding*.py; here, only
    # that a command meeting a fresh cache says what it does, and a done one says nothing
    monkeypatch.setattr(convert, "ensure_st_folder", lambda cache, w: built.append("st") or cache)
    monkeypatch.setattr(onnx_backend, "ensure_onnx_folder", lambda f: built.append("onnx"))
    first_run.ensure_model(Settings(cache_dir=tmp_path / "cache"))
    err = capsys.readouterr().err
    assert built == ["st", "onnx"]
    assert f"poleqa: first run: building the embedding model once into {tmp_path / 'cache'} " in err
    assert "(about 930 MB)" in err and re.search(r"poleqa: model built in \d+ s\.", err)
    other = Settings(cache_dir=tmp_path / "other", model="fake-a", reader="sentences")
    first_run.ensure_model(other)
    first_run.ensure_model(other.with_(reader="trained"), reads=False)  # index, search
    assert built == ["st", "onnx"] and capsys.readouterr().err == ""  # other models: nothing
    # … but the trained reader reads with the default model's weights, whatever the index's
    first_run.ensure_model(other.with_(reader="trained"))
    assert built == ["st", "onnx", "st"]
    assert "(about 465 MB)" in capsys.readouterr().err

    monkeypatch.undo()
    # the real cache, converted once for the suite: nothing to do, nothing said
    ensure_st_folder(MODEL_CACHE)
    first_run.ensure_model(Settings(cache_dir=MODEL_CACHE, model="multilingual-e5-small-st"))
    assert capsys.readouterr().err == ""


def test_the_advice_to_rebuild_names_the_corpus_to_read(folders, fake_models, monkeypatch):
    # `poleqa index --index index` alone reads ./corpus: an index of another folder (one that
    # `poleqa eval --corpus` built, say) would be rebuilt from the wrong documents
    Path("corpus").rename("docs")
    built = run("index", "--corpus", "docs", "--model", "fake-a", "--no-sentence-vectors")
    assert built.exit_code == 0, built.output
    no_vectors = (
        "Error: The index in index was built without sentence vectors, which the readers need: "
        "rebuild it with `poleqa index --corpus {} --index index --sentence-vectors` (only the "
        "sentences are embedded; the chunks are kept).{}\n"
    )
    ask = ("ask", "Qui préside Medicen ?", "--model", "fake-a", "--reader", "sentences")
    assert run(*ask, "--corpus", "docs").stderr == no_vectors.format("docs", "")
    monkeypatch.setenv("POLEQA_CORPUS", "docs")
    assert run(*ask).stderr == no_vectors.format("docs", "")
    monkeypatch.delenv("POLEQA_CORPUS")
    where = " FOLDER: the folder the index was built from (none of its documents is in corpus)."
    assert run(*ask).stderr == no_vectors.format("FOLDER", where)
    result = run("search", "Qui préside Medicen ?", "--model", "fake-b", "--corpus", "docs")
    assert result.stderr == (
        "Error: The index in index was built with the embedding model fake-a/32 (fake-a/32), "
        "not fake-b/32: run `poleqa index --corpus docs --index index --model <the model you "
        "ask with>` to rebuild it, or ask with --model fake-a/32.\n"
    )


def test_the_build_summary_says_one_document_in_the_singular(tmp_path: Path) -> None:
    one = BuildReport(1, 1, 1, 0, 0, 0, (), 0.4, "flat", sentences=1, embedded_chunks=1)
    assert summary_lines(one, tmp_path / "i") == [
        f"Indexed: 1 document, 1 chunk, 1 sentence in {tmp_path / 'i'} (flat index).",
        "added 1, changed 0, removed 0, unchanged 0, skipped 0; embedded 1 chunk and "
        "0 sentences in 0.4 s.",
    ]


def _chunking() -> tuple[int, int]:
    manifest = Path("index") / (Path("index") / "CURRENT").read_text().strip() / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return data["chunk_size"], data["chunk_overlap"]


def test_a_plain_index_keeps_the_chunking_the_index_was_built_with(folders, fake_models) -> None:
    # a plain `poleqa index` rebuilt it with the default chunking, embedding it all again
    built = run("index", "--model", "fake-a", "--chunk-size", "300")
    assert (built.exit_code, _chunking()) == (0, (300, 80))
    assert "Note:" not in built.stderr  # no index before: nothing changed
    again = run("index", "--model", "fake-a")
    assert again.stdout.startswith("Index up to date: 3 documents, ")
    assert (again.stderr, _chunking()) == ("", (300, 80))

    # a flag changes its part alone, and says so: everything is embedded again
    changed = run("index", "--model", "fake-a", "--chunk-overlap", "40")
    assert changed.exit_code == 0, changed.output
    assert changed.stderr.startswith(
        "Note: the index in index was built with chunks of 300 characters overlapping by 80; "
        "now 300 and 40: every document is chunked and embedded again.\n"
    )
    assert "added 3, changed 0, removed 0, unchanged 0, skipped 0; embedded " in changed.stdout
    assert _chunking() == (300, 40)
    same = run("index", "--model", "fake-a", "--chunk-size", "300")  # what it holds: no note
    assert same.stdout.startswith("Index up to date") and same.stderr == ""

    # an overlap kept from the index that the new size cannot hold: said which it is
    run("index", "--model", "fake-a", "--chunk-size", "400", "--chunk-overlap", "250")
    refused = run("index", "--model", "fake-a", "--chunk-size", "200")
    assert refused.exit_code == 2
    assert refused.stderr.endswith(
        "Error: Invalid value for '--chunk-size': the overlap the index was built with (250) "
        "must be smaller than the chunk size (200)\n"
    )
    assert _chunking() == (400, 250)


def test_a_date_in_a_header_that_is_not_one_is_said_and_the_document_indexed(
    folders, fake_models
) -> None:
    # dropped without a word, while a sidecar's is refused
    corpus, _ = folders
    (corpus / "d_orion.md").write_text(
        "# Orion\nDate: 2021-02-30\n\nLe pôle Orion compte 40 membres.", encoding="utf-8"
    )
    result = run("index", "--model", "fake-a")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Indexed: 4 documents, ")
    assert result.stderr.endswith(
        "Note: d_orion.md indexed without a date: the date '2021-02-30' in its header is not "
        "one (expected YYYY-MM-DD, YYYY-MM or YYYY).\n"
    )
    hits = json.loads(run("search", "Orion", "--model", "fake-a", "--json", "--k", "1").stdout)
    assert [(h["source"], h["date"]) for h in hits["hits"]] == [("d_orion.md", None)]
    # said by the build that reads the file, as a skipped file is: not by the next, up to date
    again = run("index", "--model", "fake-a")
    assert again.stdout.startswith("Index up to date") and again.stderr == ""
