"""Staff sessions end: a working day after the login, or after hours without a request."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import HTTPConnection

from poleqa.web.middleware import ASGIApp, Receive, Scope, Send

log = logging.getLogger("poleqa.web")

MAX_AGE = 10 * 3600.0  # seconds a staff session lasts at most (a working day)
IDLE = 2 * 3600.0  # seconds without a request after which it ends (an open page keeps it)


class StaffSessionLifetime:
    """ASGI middleware of the staff area: Gradio's login tokens lived until a logout or a
    restart, so a session left open on a shared computer (or a token copied from it) stayed
    good for weeks. A token is ended (revoked in Gradio's own table) once MAX_AGE has passed
    since it was first seen, or IDLE without a request carrying it; the request that finds it
    ended meets the login page, as after « Se déconnecter »."""

    def __init__(
        self,
        app: ASGIApp,
        prefix: str,
        gradio_app: Any,
        max_age: float | None = None,
        idle: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.gradio_app = gradio_app
        self.max_age = MAX_AGE if max_age is None else max_age
        self.idle = IDLE if idle is None else idle
        self.clock = clock
        self._seen: dict[str, tuple[float, float]] = {}  # token → (first seen, last seen)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] in ("http", "websocket") else ""
        if path == self.prefix or path.startswith(self.prefix + "/"):
            self._check(HTTPConnection(scope).cookies)
        await self.app(scope, receive, send)

    def _check(self, cookies: dict[str, str]) -> None:
        cookie_id = self.gradio_app.cookie_id
        tokens = self.gradio_app.tokens
        now = self.clock()
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
