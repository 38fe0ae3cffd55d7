"""The app's own page for a whole document, scrolled to a cited span (text escaped, no scripts)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse

from poleqa.errors import PoleqaError
from poleqa.web.app import PipelineLike
from poleqa.web.render import document_page, error_page

log = logging.getLogger(__name__)

# The page is static: forbid every script, frame and remote resource as a second line of defence.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def add_document_route(app: FastAPI, pipeline: PipelineLike) -> None:
    @app.get("/document", response_class=HTMLResponse)
    def document(
        source: str = Query(..., max_length=1000),
        start: int | None = Query(None, ge=0),
        end: int | None = Query(None, ge=0),
    ) -> HTMLResponse:
        known = False
        try:
            known = any(info.source == source for info in pipeline.sources())
            doc = pipeline.document(source) if known else None
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
        return HTMLResponse(document_page(doc, start, end), headers=_HEADERS)
