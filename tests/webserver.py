"""A real poleqa web server for the test session: `python app.py` on a copy of the corpus."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT_DOC = (
    "# Document piégé <script>window.__pwned=3</script>\n"
    "Source: https://example.org/piege\n"
    "Date: 2024-01-15\n\n"
    "Le pôle Hydrogène <script>window.__pwned=4</script> compte 42 adhérents "
    '<img src=x onerror="window.__pwned=5"> en Bourgogne.\n'
)
SEED_QUESTION = "Combien de pôles de compétitivité ont été labellisés en 2023 ?"
FOLLOW_UP = "Et en Auvergne-Rhône-Alpes ?"
# The staff area at /equipe/ is on only with a password, passed as by an administrator.
STAFF_USER = "equipe"
STAFF_PASSWORD = "mot-de-passe-des-tests"


@dataclass
class Server:
    url: str
    corpus: Path
    data: Path
    process: subprocess.Popen
    index: Path | None = None
    env: dict[str, str] | None = None


_SERVER: Server | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(base: Path) -> Server:
    """One `python app.py` for the whole test session (shared with test_browser.py)."""
    global _SERVER
    if _SERVER is not None and _SERVER.process.poll() is None:
        return _SERVER
    corpus, index, data = base / "corpus", base / "index", base / "data"
    shutil.copytree(REPO / "corpus", corpus)
    (corpus / "zz_piege.md").write_text(SCRIPT_DOC, encoding="utf-8")
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", GRADIO_ANALYTICS_ENABLED="False")
    env["POLEQA_STAFF_PASSWORD"] = STAFF_PASSWORD
    env.setdefault("XDG_CACHE_HOME", str(REPO / ".cache"))  # where the converted model lives
    args = [sys.executable, str(REPO / "app.py"), "--port", str(port), "--corpus", str(corpus)]
    args += ["--index", str(index), "--data", str(data)]
    log = open(base / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(args, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)
    atexit.register(_stop, process)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(base / 'server.log').read_text()[-3000:]}")
        # The server answers at once; /etat says when the index is ready (built on first run).
        try:
            with urllib.request.urlopen(url + "etat", timeout=5) as r:
                if r.status == 200 and json.loads(r.read())["pret"]:
                    break
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    else:
        _stop(process)
        raise RuntimeError(f"server not up: {(base / 'server.log').read_text()[-3000:]}")
    _SERVER = Server(url, corpus, data, process, index, env)
    return _SERVER


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def require_staff_area(server: Server) -> None:
    """Fails plainly if the server's staff area is off (POLEQA_STAFF_PASSWORD not wired)."""
    try:
        with urllib.request.urlopen(server.url + "equipe/", timeout=10):
            return
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
    raise AssertionError(
        "the staff area is off: `poleqa serve` must read POLEQA_STAFF_PASSWORD and pass it to "
        "poleqa.web.serve(staff_password=...)"
    )


def staff_client(server: Server):  # type: ignore[no-untyped-def]
    """A gradio_client logged in to the staff area (webserver.py sets its password)."""
    from gradio_client import Client

    require_staff_area(server)
    return Client(server.url + "equipe/", auth=(STAFF_USER, STAFF_PASSWORD), verbose=False)


def message_text(message: dict) -> str:
    """The text of one chat message as Gradio's API returns it."""
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def ask_http(client, url: str, question: str) -> str:  # type: ignore[no-untyped-def]
    """The chat's /ask over plain HTTP (Gradio's queue API); the assistant's HTML."""
    joined = client.post(f"{url}gradio_api/call/ask", json={"data": [question]})
    joined.raise_for_status()
    event_id = joined.json()["event_id"]
    event = None
    with client.stream("GET", f"{url}gradio_api/call/ask/{event_id}") as r:
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                assert event == "complete", line
                return message_text(json.loads(line[5:])[1][-1])
    raise AssertionError("no result")
