"""The web edge: a FastAPI app serving the Gradio chat and the document pages on one port."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from poleqa.errors import PoleqaError
from poleqa.feedback import FeedbackStore

if TYPE_CHECKING:  # gradio and fastapi are imported only when the app is built
    from fastapi import FastAPI

    from poleqa.web.app import PipelineLike

STATIC = Path(__file__).parent / "static"
# Questions answered at once; the others wait in the queue (up to QUEUE_SIZE of them).
CONCURRENCY = 4
QUEUE_SIZE = 256


def create_app(
    pipeline: PipelineLike,
    data_dir: Path,
    index_pointer: Path | None = None,
    k: int = 5,
    concurrency: int = CONCURRENCY,
    queue_size: int = QUEUE_SIZE,
) -> FastAPI:
    """The ASGI app: chat at /, documents at /document. Gradio is imported here, not earlier."""
    import gradio as gr
    from fastapi import FastAPI

    from poleqa.web.app import ChatApp, IndexWatcher, build_blocks, theme
    from poleqa.web.documents import add_document_route

    chat = ChatApp(pipeline, FeedbackStore(data_dir), IndexWatcher(pipeline, index_pointer), k=k)
    demo = build_blocks(chat)
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    app = FastAPI(title="poleqa", docs_url=None, redoc_url=None, openapi_url=None)
    add_document_route(app, pipeline)  # before mounting: Gradio's routes catch everything else
    return gr.mount_gradio_app(
        app,
        demo,
        path="",
        footer_links=["api"],
        theme=theme(),
        css_paths=[STATIC / "poleqa.css"],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        max_file_size="20mb",  # question sets are small; refuse anything huge
    )


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


def serve(
    pipeline: PipelineLike,
    host: str = "127.0.0.1",
    port: int = 7860,
    data_dir: Path = Path("data"),
    index_pointer: Path | None = None,
    k: int = 5,
    concurrency: int = CONCURRENCY,
) -> None:
    """Run the app until interrupted (PoleqaError if the port is taken)."""
    import uvicorn

    check_port(host, port)
    app = create_app(pipeline, data_dir, index_pointer, k=k, concurrency=concurrency)
    print(f"poleqa: serving on http://{host}:{port}/", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
