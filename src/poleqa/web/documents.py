"""The app's own page for a whole document, scrolled to a cited span (text escaped, no scripts)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from poleqa.errors import IndexError_, PoleqaError
from poleqa.web.common import PREPARING, PipelineLike, Readiness
from poleqa.web.render import GENERIC_ERROR, UNAVAILABLE, document_page, error_page

log = logging.getLogger(__name__)

MAX_SOURCE_CHARS = 1000
MAX_OFFSET = 10**12
# The page is static: forbid every script, frame and remote resource as a second line of defence.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CHANGED = (
    "Ce document a changé depuis cette réponse : le passage cité n'y est plus repéré. "
    "Posez la question de nouveau pour une citation à jour."
)
NO_SUCH_PASSAGE = (
    "Le passage indiqué par ce lien n'existe pas dans ce document : il est affiché en entier."
)
BAD_LINK = (
    "Ce lien vers un document est incomplet ou abîmé. "
    "Revenez au chat et utilisez le lien « Ouvrir le document » d'une source."
)


class BadLink(ValueError):
    """A query parameter of /document that no link of the app would carry."""


def _offset(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_OFFSET:
        raise BadLink(f"{name}={raw[:50]!r} is not an offset")
    return int(raw)


def _parameters(request: Request) -> tuple[str, int | None, int | None, str]:
    """The parameters read by hand: FastAPI's own checks would answer in English JSON."""
    params = request.query_params
    source = params.get("source", "")
    if not source.strip() or len(source) > MAX_SOURCE_CHARS:
        raise BadLink(f"source missing or longer than {MAX_SOURCE_CHARS} characters")
    start, end = _offset(params.get("start"), "start"), _offset(params.get("end"), "end")
    if (start is None) != (end is None):
        raise BadLink("start and end go together")
    version = params.get("v", "")
    if len(version) > 64 or not all(c in "0123456789abcdef" for c in version):
        raise BadLink(f"v={version[:50]!r} is not a content hash")
    return source, start, end, version


def add_document_route(
    app: FastAPI, pipeline: PipelineLike, readiness: Readiness | None = None
) -> None:
    """/document (a whole document, scrolled to a span) and /etat (whether the chat answers
    yet: `{"pret": bool, "etape": str}`, read by scripts waiting for the start-up)."""
    readiness = readiness or Readiness()

    @app.get("/etat", include_in_schema=False)
    def state() -> JSONResponse:
        return JSONResponse({"pret": readiness.ready, "etape": readiness.status()})

    @app.get("/document", response_class=HTMLResponse)
    def document(request: Request) -> HTMLResponse:
        if not readiness.ready:
            page = error_page("Préparation en cours", PREPARING)
            return HTMLResponse(page, status_code=503, headers=_HEADERS | {"Retry-After": "5"})
        try:
            return _document_response(pipeline, request)
        except IndexError_ as e:  # its French says what to run: the team's business
            log.error("the index cannot serve documents: %s", e.message)
            page = error_page("Service indisponible", UNAVAILABLE)
            return HTMLResponse(page, status_code=503, headers=_HEADERS | {"Retry-After": "60"})
        except Exception:
            source = request.query_params.get("source", "")
            log.exception("unexpected error showing document %r", source[:200])
            page = error_page("Erreur inattendue", GENERIC_ERROR)
            return HTMLResponse(page, status_code=500, headers=_HEADERS)


def _document_response(pipeline: PipelineLike, request: Request) -> HTMLResponse:
    """The page of the document a link names (IndexError_ if the index cannot say)."""
    try:
        source, start, end, version = _parameters(request)
    except BadLink as e:
        log.warning("refused /document: %s", e)
        page = error_page("Lien non valable", BAD_LINK)
        return HTMLResponse(page, status_code=400, headers=_HEADERS)
    try:
        known = any(info.source == source for info in pipeline.sources())
        doc = pipeline.document(source) if known else None
    except IndexError_:
        raise  # a broken index, not a missing document
    except (PoleqaError, KeyError, OSError) as e:
        log.warning("document %r unavailable: %s", source[:200], e)
        doc = None
    if doc is None:
        page = error_page(
            "Document introuvable",
            "Ce document n'existe pas (ou plus) dans le corpus. "
            "Il a peut-être été retiré lors d'une mise à jour de l'index.",
        )
        return HTMLResponse(page, status_code=404, headers=_HEADERS)
    if version and not doc.info.content_hash.startswith(version):
        # offsets of another version of the file: marking them would show the wrong text
        return HTMLResponse(document_page(doc, None, None, CHANGED), headers=_HEADERS)
    if start is not None and end is not None and not start < min(end, len(doc.text)):
        # no link of the app carries these (an edited or made-up link): the page says so
        return HTMLResponse(document_page(doc, None, None, NO_SUCH_PASSAGE), headers=_HEADERS)
    return HTMLResponse(document_page(doc, start, end), headers=_HEADERS)
