"""A server stopped while it builds its first index: one clear line, nothing after it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Paragraphs written for this test: enough text for the build to take a few seconds.
PARAGRAPH = (
    "Le pôle Vallée Cobalt réunit {n} entreprises et laboratoires autour des matériaux "
    "composites ; son comité de pilotage s'est réuni {n} fois depuis sa labellisation. "
)
STOPPED = "The index build under way was stopped: the index is as it was."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read(stream: int, until: bytes, seconds: float) -> bytes:
    """What `stream` (non-blocking) gives for `seconds`, or until `until` is in it."""
    out, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline and (not until or until not in out):
        try:
            out += os.read(stream, 65536)
        except BlockingIOError:
            time.sleep(0.05)
        except OSError:
            break
    return out


@pytest.mark.parametrize(
    ("sent", "ignored", "code", "said"),
    [
        (signal.SIGINT, False, 130, f"Interrupted.\n{STOPPED}\n"),  # Ctrl-C
        (signal.SIGTERM, False, 143, f"\npoleqa: {STOPPED}\n"),  # systemd, docker stop
        # a background job (`cmd &`) ignores SIGINT: uvicorn stopped serving, the build held
        # the process, published its index, and nothing was said
        (signal.SIGINT, True, 0, f"\npoleqa: {STOPPED}\n"),
    ],
)
def test_a_server_stopped_during_its_first_build_stops_the_build_and_says_so(
    tmp_path: Path, sent: signal.Signals, ignored: bool, code: int, said: str
) -> None:
    # the build's process went on: « the process that asked for this index build is gone »
    # came a second after the shell's prompt, then Python's warning of leaked semaphores
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):
        text = "".join(PARAGRAPH.format(n=i * 10 + j) for j in range(30))
        (corpus / f"note-{i:02d}.md").write_text(f"# Note {i}\n\n{text}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLEQA_", "GRADIO_"))}
    env.setdefault("XDG_CACHE_HOME", str(REPO / ".cache"))
    args = [sys.executable, str(REPO / "app.py"), "--port", str(_free_port()),
            "--corpus", "corpus", "--index", "index", "--data", "data"]  # fmt: skip
    disposition = signal.SIG_IGN if ignored else signal.SIG_DFL
    server = subprocess.Popen(
        args, cwd=tmp_path, env=env, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, disposition),
    )  # fmt: skip
    assert server.stderr is not None
    stream = server.stderr.fileno()
    os.set_blocking(stream, False)
    try:
        before = _read(stream, b"Embedding", 240)
        assert b"Embedding" in before, before.decode(errors="replace")
        server.send_signal(sent)
        assert server.wait(timeout=60) == code
        after = _read(stream, b"", 3).decode(errors="replace")  # a second and more after it
    finally:
        server.kill()
    assert after.endswith(said), after
    assert "is gone" not in after and "leaked" not in after and "Traceback" not in after
    assert not (tmp_path / "index" / "CURRENT").exists()  # nothing published
