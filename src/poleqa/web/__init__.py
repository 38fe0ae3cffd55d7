"""The web edge: one FastAPI app serving the chat, the document pages and the staff area."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from poleqa.errors import PoleqaError
from poleqa.feedback import FeedbackStore

if TYPE_CHECKING:  # gradio and fastapi are imported only when the app is built
    import gradio as gr
    from fastapi import FastAPI

    from poleqa.web.auth import StaffAuth
    from poleqa.web.common import PipelineLike
    from poleqa.web.middleware import Endpoints
    from poleqa.web.staff import StaffApp

STATIC = Path(__file__).parent / "static"
# Questions answered at once; the others wait in the queue (up to QUEUE_SIZE of them).
CONCURRENCY = 4
QUEUE_SIZE = 256
FEEDBACK_PER_MINUTE = 10  # opinions accepted per minute from one client address


def create_app(
    pipeline: PipelineLike,
    data_dir: Path,
    index_pointer: Path | None = None,
    k: int = 5,
    concurrency: int = CONCURRENCY,
    queue_size: int = QUEUE_SIZE,
    staff_password: str | None = None,
    feedback_per_minute: int = FEEDBACK_PER_MINUTE,
) -> FastAPI:
    """The ASGI app: chat at /, documents at /document, staff area at /equipe/.

    The staff area is served only with a `staff_password` (user name « equipe »); without
    one, /equipe/ says how to turn it on. Gradio is imported here, not earlier.
    """
    from fastapi import FastAPI

    from poleqa.web.app import ChatApp, build_blocks
    from poleqa.web.auth import STAFF_PATH, StaffAuth, add_staff_off_route
    from poleqa.web.common import IndexWatcher
    from poleqa.web.documents import add_document_route
    from poleqa.web.guards import RateLimiter
    from poleqa.web.middleware import ApiGuard
    from poleqa.web.staff import StaffApp

    # Checked (and hashed) first: a bad password stops the start before anything is served.
    auth = StaffAuth(staff_password) if staff_password else None
    store = FeedbackStore(data_dir)
    watcher = IndexWatcher(pipeline, index_pointer)
    limiter = RateLimiter(feedback_per_minute)
    demo = build_blocks(ChatApp(pipeline, store, watcher, k=k, feedback_limiter=limiter))
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    app = FastAPI(title="poleqa", docs_url=None, redoc_url=None, openapi_url=None)
    # Routes and mounts match in order: Gradio's root mount last, it catches everything else.
    add_document_route(app, pipeline)
    mounts: dict[str, Endpoints] = {}
    if auth is None:
        add_staff_off_route(app)
    else:
        staff = StaffApp(pipeline, store, watcher, k=k)
        mounts[STAFF_PATH + "/"] = _mount_staff(app, staff, auth)
    # Citizens upload nothing: any file sent to the public app is refused by size.
    mounts["/"] = _mount(app, demo, "", uploads=None, max_file_size="1kb")
    app.add_middleware(ApiGuard, mounts=mounts)
    return app


def _mount_staff(app: FastAPI, staff: StaffApp, auth: StaffAuth) -> Endpoints:
    """The staff Blocks behind Gradio's login at /equipe/, failed logins throttled."""
    from fastapi.responses import RedirectResponse
    from gradio.utils import get_upload_folder

    from poleqa.web.auth import LOGIN_FAILURES_PER_MINUTE, STAFF_PATH
    from poleqa.web.guards import RateLimiter
    from poleqa.web.middleware import LoginThrottle
    from poleqa.web.staff import build_staff_blocks

    # Gradio answers only below /equipe/; the bare address is what people type.
    app.add_api_route(STAFF_PATH, lambda: RedirectResponse("equipe/"), include_in_schema=False)
    blocks = build_staff_blocks(staff)
    blocks.queue(default_concurrency_limit=1, max_size=32)  # a few staff, one task at a time
    endpoints = _mount(
        app,
        blocks,
        STAFF_PATH,
        uploads=Path(get_upload_folder()).resolve(),
        auth=auth.verify,
        auth_message="Espace équipe de poleqa : identifiant « equipe » et mot de passe.",
        max_file_size="20mb",  # question sets are small; refuse anything huge
    )
    failures = RateLimiter(LOGIN_FAILURES_PER_MINUTE)
    app.add_middleware(LoginThrottle, path=STAFF_PATH + "/login", limiter=failures)
    return endpoints


def _mount(
    app: FastAPI, blocks: gr.Blocks, path: str, uploads: Path | None, **options: Any
) -> Endpoints:
    """Mounts a Gradio app with poleqa's settings; what it answers to by API, for `ApiGuard`."""
    import gradio as gr

    from poleqa.web.common import theme
    from poleqa.web.middleware import Endpoints

    gr.mount_gradio_app(
        app,
        blocks,
        path=path,
        footer_links=["api"],
        theme=theme(),
        css_paths=[STATIC / "poleqa.css"],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        **options,
    )
    # Gradio checks that a file named in a request was uploaded only once `launch()` has run,
    # which a mounted app never calls: without this, any API call could have any file of the
    # server copied into Gradio's cache, from where it can be downloaded.
    blocks.has_launched = True
    fns = blocks.fns
    names = frozenset(f.api_name for f in fns.values() if f.api_visibility == "public")
    return Endpoints(names, frozenset(fns), uploads)


def check_port(host: str, port: int) -> None:
    """PoleqaError now, rather than after loading everything, if the port cannot be used."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
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
) -> None:
    """Run the app until interrupted (PoleqaError if the port is taken or the staff password
    is too short or too long)."""
    import uvicorn

    check_port(host, port)
    app = create_app(
        pipeline,
        data_dir,
        index_pointer,
        k=k,
        concurrency=concurrency,
        staff_password=staff_password,
        feedback_per_minute=feedback_per_minute,
    )
    print(f"poleqa: serving on http://{host}:{port}/", file=sys.stderr, flush=True)
    staff = f"http://{host}:{port}/equipe/" if staff_password else "off (no staff password)"
    print(f"poleqa: staff area {staff}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
