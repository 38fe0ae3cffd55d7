"""The staff area answers its own pages only: what another site's page asks of it is refused."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from poleqa.web.middleware import ASGIApp, Receive, Scope, Send

log = logging.getLogger("poleqa.web")

CROSS_SITE = (
    "Requête refusée : l'espace équipe ne répond qu'à ses propres pages. "
    "Ouvrez-le directement à son adresse."
)
# What Gradio's CORS layer grants any origin, with the staff's cookie, on any host but localhost
_CORS = re.compile(rb"^access-control-allow-", re.IGNORECASE)
_SAME_SITE_NONE = re.compile(rb";\s*samesite=none", re.IGNORECASE)


class StaffSameOrigin:
    """ASGI middleware of the staff area. Gradio's CORS layer allows any origin with
    credentials, and its login cookie is `SameSite=None`: a page of any site visited by a
    logged-in staff member could call « Réindexer », « Exporter les avis » or « Vérifier » and
    read the answers. So, under the staff prefix:

    - a request the browser says another site made (`Sec-Fetch-Site` cross-site or same-site)
      is refused in French, unless it is a visit (a link followed: GET or HEAD navigation);
      without that header (older browsers), an `Origin` naming another host than `Host` is;
    - responses carry no CORS permission, and the login cookie is `SameSite=Lax` (browsers no
      longer send it with another site's requests at all).

    A reverse proxy must pass the client's `Host` (nginx: `proxy_set_header Host $host;`)."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if _from_another_site(scope["method"], headers):
            log.warning(
                "refused a cross-site request to %s (origin %r, fetch site %r)",
                path[:200],
                headers.get("origin", "")[:200],
                headers.get("sec-fetch-site", ""),
            )
            response = JSONResponse({"detail": CROSS_SITE}, status_code=403)
            await response(scope, _no_receive, send)
            return
        await self.app(scope, receive, _own_site_only(send))


def _from_another_site(method: str, headers: Headers) -> bool:
    site = headers.get("sec-fetch-site")
    if site is not None:
        visit = method in ("GET", "HEAD") and headers.get("sec-fetch-mode") == "navigate"
        return site in ("cross-site", "same-site") and not visit
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


def _own_site_only(send: Send) -> Send:
    async def guarded(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (name, _lax(value) if name == b"set-cookie" else value)
                for name, value in message.get("headers", [])
                if not _CORS.match(name)
            ]
            message = {**message, "headers": headers}
        await send(message)

    return guarded


def _lax(cookie: bytes) -> bytes:
    return _SAME_SITE_NONE.sub(b"; SameSite=Lax", cookie)


async def _no_receive() -> MutableMapping[str, Any]:
    return {"type": "http.disconnect"}
