"""Running the web app: checks first, uvicorn, its private folder, its stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from poleqa.children import STOPPED_BUILD, stop_children
from poleqa.config import MAX_DOCUMENT_CHARS, MAX_QUESTION_CHARS
from poleqa.errors import PoleqaError

if TYPE_CHECKING:
    from poleqa.feedback import FeedbackBackend
    from poleqa.web.common import PipelineLike, Readiness

# Questions answered at once, whatever sent them (Envoyer, Enter, an example: one
# concurrency id); the others wait in the queue (up to QUEUE_SIZE of them).
CONCURRENCY = 8  # 20 web clients were served best by 8 (docs/reader.md, « Speed »)
# Opinions accepted per minute from one client address: a person gives a few a minute; more
# from one address is a script filling the disk.
FEEDBACK_PER_MINUTE = 10


def check_port(host: str, port: int) -> None:
    """PoleqaError now, rather than after loading everything, if the port cannot be used."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # as uvicorn binds: the connections of a server just stopped (TIME_WAIT, a minute)
        # do not keep the next one from starting. Not on Windows, where it lets a socket bind
        # a port in use.
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise PoleqaError(
                f"Cannot listen on {host}:{port}: {e.strerror or e} (another server running?)."
            ) from e


def check_staff_password(password: str | None) -> None:
    """PoleqaError now, rather than after loading the index, if the staff password is unusable
    (None or "" is fine: the staff area is then off)."""
    if password:
        from poleqa.web.auth import StaffAuth

        StaffAuth(password)


def serve(
    pipeline: PipelineLike,
    host: str = "127.0.0.1",
    port: int = 7860,
    data_dir: Path = Path("data"),
    index_pointer: Path | None = None,
    k: int = 5,
    concurrency: int = CONCURRENCY,
    staff_password: str | None = None,
    feedback_per_minute: int = FEEDBACK_PER_MINUTE,
    feedback_store: FeedbackBackend | None = None,
    prepare: Callable[[Readiness], None] | None = None,
    trusted_proxies: str = "",
    max_question_chars: int = MAX_QUESTION_CHARS,
    corpus_dir: Path | None = None,
    max_document_chars: int = MAX_DOCUMENT_CHARS,
) -> None:
    """Run the app until interrupted (PoleqaError if the port is taken or the staff password
    is too short or too long).

    `trusted_proxies` (uvicorn's `forwarded_allow_ips`: addresses or networks, commas between)
    are the proxies whose `X-Forwarded-For` gives the client's address; none by default.

    With `prepare` (building the index, loading the model: minutes on a first run), the server
    starts at once and runs `prepare(readiness)` in a thread; until it returns, the page says
    « Préparation de l'index… » and questions are asked to come back. If it fails, the server
    stops and its error is raised here.
    """
    import uvicorn

    from poleqa.web import create_app  # the package's, which imports this module first
    from poleqa.web.common import Readiness

    check_port(host, port)
    readiness = Readiness(ready=prepare is None)
    # private_temp inside: its folder is removed whenever SIGTERM comes
    with _stopped_like_ctrl_c(), private_temp():  # before the app: Gradio reads GRADIO_TEMP_DIR
        app = create_app(
            pipeline,
            data_dir,
            index_pointer,
            k=k,
            concurrency=concurrency,
            staff_password=staff_password,
            feedback_per_minute=feedback_per_minute,
            feedback_store=feedback_store,
            readiness=readiness,
            max_question_chars=max_question_chars,
            corpus_dir=corpus_dir,
            max_document_chars=max_document_chars,
        )
        server = uvicorn.Server(server_config(app, host, port, trusted_proxies))
        failures: list[BaseException] = []
        if prepare is not None:
            threading.Thread(
                target=_prepare,
                args=(prepare, readiness, server, failures),
                name="poleqa-prepare",
                daemon=True,
            ).start()
        print(f"poleqa: serving on http://{host}:{port}/", file=sys.stderr, flush=True)
        staff = f"http://{host}:{port}/equipe/" if staff_password else "off (no staff password)"
        print(f"poleqa: staff area {staff}", file=sys.stderr, flush=True)
        server.run()
        # Stopped by a signal uvicorn took without raising it again (SIGINT ignored, as in a
        # background job): a build under way held the process for as long as it ran. Its
        # end is then no failure to report.
        stopped = stop_children()
        if stopped:
            print(f"\npoleqa: {STOPPED_BUILD}", file=sys.stderr, flush=True)
    if failures and not stopped:
        raise failures[0]


class _Terminated(SystemExit):
    """SIGTERM received: the server stops, its folders removed, then the process ends."""


@contextmanager
def _stopped_like_ctrl_c() -> Iterator[None]:
    """SIGTERM (systemd, `docker stop`) stops the server as Ctrl-C does, its folders removed:
    uvicorn stops serving, then sends the signal to itself again, which ended the process
    before `private_temp` removed the staff's reports and the feedback export (citizens'
    comments). Here SIGTERM raises SystemExit, at any moment of the server's life, and once
    the folders are removed the process ends at once: the interpreter's own ending aborted
    (SIGABRT) when a thread was preparing the index in native code."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals go to the main thread only: a server run from another is stopped there
        return

    def stop(signum: int, frame: object) -> None:
        raise _Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except _Terminated as stopped:
        if stop_children():
            print(f"\npoleqa: {STOPPED_BUILD}", file=sys.stderr)  # after a progress bar
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(stopped.code or 0))
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def private_temp() -> Iterator[Path]:
    """A temporary folder of this server alone (mode 700), removed when it stops: Gradio's
    copies of the staff's downloads (citizens' comments, evaluation reports) went to the shared
    /tmp/gradio, readable by every local user, and poleqa's own report folders outlived the
    server. Gradio's copies go there unless GRADIO_TEMP_DIR says otherwise; so do the folders
    poleqa makes with `tempfile`."""
    folder = Path(tempfile.mkdtemp(prefix="poleqa-serve-"))
    gradio_set = "GRADIO_TEMP_DIR" in os.environ
    previous = tempfile.tempdir
    if not gradio_set:
        os.environ["GRADIO_TEMP_DIR"] = str(folder / "gradio")
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous
        if not gradio_set:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def server_config(app: Any, host: str, port: int, trusted_proxies: str = "") -> Any:
    """uvicorn's settings for `serve`. `X-Forwarded-For` is read only from `trusted_proxies`:
    uvicorn would otherwise trust it from 127.0.0.1, and a proxy on the same host that passes
    the client's own header through would let each client choose the address the feedback
    limit and the login throttle key on."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=5,
        proxy_headers=bool(trusted_proxies.strip()),
        forwarded_allow_ips=trusted_proxies.strip() or None,
    )


def _prepare(
    prepare: Callable[[Readiness], None],
    readiness: Readiness,
    server: Any,
    failures: list[BaseException],
) -> None:
    """The preparation thread of `serve`: ready when `prepare` returns; on an error, the
    server is stopped and the error kept for `serve` to raise."""
    try:
        prepare(readiness)
    except BaseException as e:  # any: re-raised by serve, in the main thread
        failures.append(e)
        server.should_exit = True
        return
    readiness.done()
    print("poleqa: ready, the chat answers questions", file=sys.stderr, flush=True)
