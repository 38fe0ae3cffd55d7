"""Staff sessions end: a working day after the login, or after hours without a request."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.requests import HTTPConnection

from poleqa.web.middleware import ASGIApp, Receive, Scope, Send

log = logging.getLogger("poleqa.web")

MAX_AGE = 10 * 3600.0  # seconds a staff session lasts at most (a working day)
IDLE = 2 * 3600.0  # seconds without a request carrying the session after which it ends
CLOCK: Callable[[], float] = time.monotonic  # read at each request (tests move it)
_REPLACED = (b"content-length", b"content-type")
ENDED = "Session terminée ou absente : rechargez la page pour vous reconnecter."


class StaffSessionLifetime:
    """ASGI middleware of the staff area: Gradio's login tokens lived until a logout or a
    restart, so a session left open on a shared computer (or a token copied from it) stayed
    good for weeks. A token is ended (revoked in Gradio's own table) once MAX_AGE has passed
    since it was first seen, or IDLE without a request carrying it; the page that finds it
    ended meets the login page, as after « Se déconnecter », and a call of the staff API
    Gradio's English 401, said in French (ENDED)."""

    def __init__(
        self,
        app: ASGIApp,
        prefix: str,
        gradio_app: Any,
        max_age: float | None = None,
        idle: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.gradio_app = gradio_app
        self.max_age = MAX_AGE if max_age is None else max_age
        self.idle = IDLE if idle is None else idle
        self.clock = clock  # None: CLOCK
        self._seen: dict[str, tuple[float, float]] = {}  # token → (first seen, last seen)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] in ("http", "websocket") else ""
        if path == self.prefix or path.startswith(self.prefix + "/"):
            self._check(HTTPConnection(scope).cookies)
            if scope["type"] == "http":
                send = _french_unauthorized(send)
        await self.app(scope, receive, send)

    def _check(self, cookies: dict[str, str]) -> None:
        cookie_id = self.gradio_app.cookie_id
        tokens = self.gradio_app.tokens
        now = (self.clock or CLOCK)()
        with self._lock:
            for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
                token = cookies.get(name)
                if token is None or token not in tokens:
                    continue
                first, last = self._seen.get(token, (now, now))
                if now - first > self.max_age or now - last > self.idle:
                    tokens.pop(token, None)
                    self._seen.pop(token, None)
                    why = "its day is over" if now - first > self.max_age else "unused for long"
                    log.info("a staff session ended: %s", why)
                else:
                    self._seen[token] = (first, now)
            # the tokens Gradio no longer knows (logged out) are forgotten here too
            for gone in [t for t in self._seen if t not in tokens]:
                del self._seen[gone]


def _french_unauthorized(send: Send) -> Send:
    """Gradio's 401 (« Not authenticated », JSON) of a session ended or absent, in French."""
    replaced = False

    async def said(message: MutableMapping[str, Any]) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message["status"] == 401:
            replaced = True
            body = json.dumps({"detail": ENDED}, ensure_ascii=False).encode("utf-8")
            headers = [(k, v) for k, v in message.get("headers", []) if k not in _REPLACED]
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({**message, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if replaced:  # Gradio's own body: not sent
            return
        await send(message)

    return said
