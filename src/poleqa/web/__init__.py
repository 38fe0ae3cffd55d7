"""The web edge: one FastAPI app serving the chat, the document pages and the staff area."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from poleqa.config import MAX_DOCUMENT_CHARS, MAX_QUESTION_CHARS
from poleqa.feedback import FeedbackBackend, FeedbackStore
from poleqa.web.server import (
    CONCURRENCY,
    FEEDBACK_PER_MINUTE,
    check_port,
    check_staff_password,
    private_temp,
    serve,
    server_config,
)

__all__ = [
    "CONCURRENCY",
    "FEEDBACK_PER_MINUTE",
    "check_port",
    "check_staff_password",
    "create_app",
    "private_temp",
    "serve",
    "server_config",
]

if TYPE_CHECKING:  # gradio and fastapi are imported only when the app is built
    import gradio as gr
    from fastapi import FastAPI

    from poleqa.web.auth import StaffAuth
    from poleqa.web.common import PipelineLike, Readiness
    from poleqa.web.middleware import Endpoints
    from poleqa.web.staff import StaffApp

STATIC = Path(__file__).parent / "static"
QUEUE_SIZE = 256  # questions waiting beyond the CONCURRENCY answered at once
# Gradio's own French, where it misleads: « télécharger » reads as « download » to most French
# readers, for a zone that takes a file from the user's computer.
GRADIO_FRENCH = {"upload_text.click_to_upload": "Cliquez pour choisir un fichier"}
# Gradio's English that no translation key reaches (its notices, its progress text), said in
# French in the browser: one script for every mount, the chat's and the staff area's.
GRADIO_FRENCH_JS = (STATIC / "gradio_fr.js").read_text(encoding="utf-8")


def create_app(
    pipeline: PipelineLike,
    data_dir: Path,
    index_pointer: Path | None = None,
    k: int = 5,
    concurrency: int = CONCURRENCY,
    queue_size: int = QUEUE_SIZE,
    staff_password: str | None = None,
    feedback_per_minute: int = FEEDBACK_PER_MINUTE,
    feedback_store: FeedbackBackend | None = None,
    readiness: Readiness | None = None,
    max_question_chars: int = MAX_QUESTION_CHARS,
    corpus_dir: Path | None = None,
    max_document_chars: int = MAX_DOCUMENT_CHARS,
) -> FastAPI:
    """The ASGI app: chat at /, documents at /document, staff area at /equipe/.

    The staff area is served only with a `staff_password` (user name « equipe »); without
    one, /equipe/ says how to turn it on; with a `corpus_dir`, the staff may add documents to
    it (refused above `max_document_chars`, as the index would) or take them out. Feedback
    goes to `feedback_store` (default: the file in `data_dir`). Until `readiness`
    is ready (default: at once), questions are answered with « Préparation de l'index en
    cours… » and the page says what is being prepared. Gradio is imported here, not earlier.
    """
    from fastapi import FastAPI

    from poleqa.web.app import ChatApp, build_blocks
    from poleqa.web.auth import STAFF_PATH, StaffAuth, add_staff_off_route
    from poleqa.web.common import IndexWatcher, Readiness
    from poleqa.web.documents import add_document_route
    from poleqa.web.guards import RateLimiter
    from poleqa.web.middleware import ApiGuard
    from poleqa.web.sessions import FrenchPages
    from poleqa.web.staff import StaffApp

    # Checked (and hashed) first: a bad password stops the start before anything is served.
    auth = StaffAuth(staff_password) if staff_password else None
    store = FeedbackStore(data_dir) if feedback_store is None else feedback_store
    watcher = IndexWatcher(pipeline, index_pointer)
    ready = readiness or Readiness()
    ready.on_ready(watcher.mark_seen)  # the index built while preparing is the one loaded
    limiter = RateLimiter(feedback_per_minute)
    chat = ChatApp(
        pipeline,
        store,
        watcher,
        k=k,
        feedback_limiter=limiter,
        readiness=ready,
        max_question_chars=max_question_chars,
    )
    demo = build_blocks(chat)
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    app = FastAPI(title="poleqa", docs_url=None, redoc_url=None, openapi_url=None)
    # Routes and mounts match in order: Gradio's root mount last, it catches everything else.
    add_document_route(app, pipeline, ready)
    mounts: dict[str, Endpoints] = {}
    if auth is None:
        add_staff_off_route(app)
    else:
        staff = StaffApp(
            pipeline,
            store,
            watcher,
            k=k,
            readiness=ready,
            corpus_dir=corpus_dir,
            max_document_chars=max_document_chars,
        )
        mounts[STAFF_PATH + "/"] = _mount_staff(app, staff, auth)
    # Citizens upload and download nothing: ApiGuard refuses the public app's upload and file
    # routes (Gradio would keep what is uploaded forever); the 1 KB cap is a second line.
    # No footer on the citizens' page: its « Utiliser via API » led to Gradio's English API
    # page, of no use to them (the API is in the README); the staff page keeps it.
    mounts["/"] = _mount(app, demo, "", uploads=None, max_file_size="1kb", footer_links=[])
    app.add_middleware(ApiGuard, mounts=mounts)
    app.add_middleware(FrenchPages)
    return app


def _mount_staff(app: FastAPI, staff: StaffApp, auth: StaffAuth) -> Endpoints:
    """The staff Blocks behind Gradio's login at /equipe/, failed logins throttled."""
    from fastapi.responses import RedirectResponse
    from gradio.utils import get_upload_folder

    from poleqa.web.auth import LOGIN_FAILURES_PER_MINUTE, STAFF_PATH
    from poleqa.web.common import STAFF_UPLOAD_MB
    from poleqa.web.guards import RateLimiter
    from poleqa.web.lifetime import StaffSessionLifetime
    from poleqa.web.login_page import SessionlessPages, gradio_session
    from poleqa.web.origins import StaffSameOrigin
    from poleqa.web.sessions import LoginThrottle, OwnLogout
    from poleqa.web.staff import build_staff_blocks

    # Gradio answers only below /equipe/; the bare address is what people type.
    app.add_api_route(STAFF_PATH, lambda: RedirectResponse("equipe/"), include_in_schema=False)
    blocks = build_staff_blocks(staff)
    # A few staff: each listener one task at a time; the long ones share theirs (staff.py).
    blocks.queue(default_concurrency_limit=1, max_size=32)
    endpoints = _mount(
        app,
        blocks,
        STAFF_PATH,
        uploads=Path(get_upload_folder()).resolve(),
        downloads=True,  # the evaluation's reports, the feedback export
        footer_links=["api"],  # « Utiliser via API » only: the staff's scripts call it
        auth=auth.verify,
        # said beforehand too: the refusal itself shows only once refused (static/login.js)
        auth_message=(
            "Espace équipe de poleqa : identifiant « equipe » et mot de passe. Après "
            f"{LOGIN_FAILURES_PER_MINUTE} échecs, la connexion est refusée pendant une minute, "
            "même avec le bon mot de passe."
        ),
        max_file_size=f"{STAFF_UPLOAD_MB}mb",  # question sets, documents: refuse anything huge
    )
    failures = RateLimiter(LOGIN_FAILURES_PER_MINUTE)
    app.add_middleware(LoginThrottle, path=STAFF_PATH + "/login", limiter=failures)
    app.add_middleware(OwnLogout, path=STAFF_PATH + "/logout")
    # Gradio's login page would describe the staff API (its endpoints, the documents) to anyone.
    gradio_app = _gradio_app(app, STAFF_PATH)
    sessions = gradio_session(gradio_app)
    app.add_middleware(SessionlessPages, prefix=STAFF_PATH + "/", has_session=sessions)
    # Gradio's tokens never end: a day's work, or hours unused (before anything reads them)
    app.add_middleware(StaffSessionLifetime, prefix=STAFF_PATH, gradio_app=gradio_app)
    # Gradio's CORS layer lets any site call the staff API with the staff's cookie: refused
    app.add_middleware(StaffSameOrigin, prefix=STAFF_PATH)
    return endpoints


def _gradio_app(app: FastAPI, path: str) -> Any:
    """The Gradio app mounted at `path` (it holds the logins' sessions)."""
    from starlette.routing import Mount  # late, as the staff mount's other web imports

    return next(r.app for r in app.routes if isinstance(r, Mount) and r.path == path)


def _mount(
    app: FastAPI,
    blocks: gr.Blocks,
    path: str,
    uploads: Path | None,
    downloads: bool = False,
    **options: Any,
) -> Endpoints:
    """Mounts a Gradio app with poleqa's settings; what it answers to by API, for `ApiGuard`."""
    import gradio as gr

    from poleqa.web.common import theme
    from poleqa.web.middleware import Endpoints, Inputs

    gr.mount_gradio_app(
        app,
        blocks,
        path=path,
        theme=theme(),
        css_paths=[STATIC / "poleqa.css"],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        # Gradio would keep every question and answer in the browser for its « runs » page: on a
        # shared computer the next person would read them (« Nouvelle conversation » clears
        # only the chat).
        run_history=False,
        i18n=gr.I18n(fr=GRADIO_FRENCH),
        js=GRADIO_FRENCH_JS,
        # FastAPI's schema of Gradio's routes at …/openapi.json, to anyone: poleqa's own app
        # serves none (Gradio's API description, …/gradio_api/openapi.json, asks the login)
        app_kwargs={"openapi_url": None},
        **options,
    )
    # Gradio checks that a file named in a request was uploaded only once `launch()` has run,
    # which a mounted app never calls: without this, any API call could have any file of the
    # server copied into Gradio's cache, from where it can be downloaded.
    blocks.has_launched = True
    fns = blocks.fns
    names = frozenset(f.api_name for f in fns.values() if f.api_visibility == "public")
    described = blocks.get_api_info()["named_endpoints"]
    arguments = {
        name.lstrip("/"): _arguments(endpoint["parameters"]) for name, endpoint in described.items()
    }
    # what a positional call's `data` holds: every input, the session states included
    inputs = {
        index: Inputs(
            len(f.inputs),
            tuple(i for i, c in enumerate(f.inputs) if c.stateful),
            tuple(i for i, c in enumerate(f.inputs) if isinstance(c, gr.File)),
            _named_files(f.inputs, described.get(f"/{f.api_name}", {}).get("parameters", [])),
        )
        for index, f in fns.items()
    }
    by_name = {f.api_name: index for index, f in fns.items() if isinstance(f.api_name, str)}
    direct = frozenset(index for index, f in fns.items() if not f.queue)
    return Endpoints(names, frozenset(fns), uploads, downloads, arguments, inputs, by_name, direct)


def _arguments(parameters: list[dict]) -> tuple[frozenset[str], frozenset[str]]:
    """(The names call/v2/ takes, those it needs) from Gradio's API description; an argument
    without a name cannot be given by name: needed under its position's, never taken."""
    names = [p.get("parameter_name") for p in parameters]
    required = [
        name or f"argument {i}"
        for i, (name, p) in enumerate(zip(names, parameters, strict=True))
        if not p.get("parameter_has_default", False)
    ]
    return frozenset(n for n in names if n), frozenset(required)


def _named_files(inputs: list[Any], parameters: list[dict]) -> frozenset[str]:
    """The names call/v2/ gives the file inputs: Gradio's API description lists, in order, the
    inputs it does not fill itself (the session states are left out)."""
    import gradio as gr

    described = [c for c in inputs if not c.skip_api]
    return frozenset(
        p["parameter_name"]
        for c, p in zip(described, parameters, strict=False)
        if isinstance(c, gr.File) and p.get("parameter_name")
    )
