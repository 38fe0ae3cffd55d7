"""ASGI middleware of the pages and the staff sessions: pages said French, a staff logout
ending its own session only, failed staff logins throttled."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

from starlette.responses import JSONResponse

from poleqa.web.guards import RateLimiter
from poleqa.web.middleware import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


class FrenchPages:
    """ASGI middleware: Gradio's pages (the chat, the staff area and its login) say
    `<html lang="en">`; screen readers would read their French in English. Replaced in the
    page as it is sent (the same length: its Content-Length holds)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        page = False

        async def french(message: MutableMapping[str, Any]) -> None:
            nonlocal page
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                page = kind.startswith(b"text/html")
            elif page and message["type"] == "http.response.body":
                body, found = _ENGLISH.subn(rb"\1fr\2", message.get("body", b""), count=1)
                if found:
                    message = {**message, "body": body}
                    page = False
            await send(message)

        await self.app(scope, receive, french)


_ENGLISH = re.compile(rb'(<html\s+lang=")en(")')


class OwnLogout:
    """ASGI middleware: a logout ends the caller's session only. The staff share one user
    name, and Gradio's logout ends every session of it unless told `all_session=false`: a
    bare « /equipe/logout » (typed, or a link followed) logged every colleague out. Told so,
    Gradio revokes only the token of its `access-token-…` cookie, which browsers send over
    HTTPS only: over plain HTTP the token (in `access-token-unsecure-…`) stayed valid. It is
    passed under the name Gradio revokes."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.paths = {path, path + "/"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
            cookies = b"; ".join(v for k, v in scope["headers"] if k == b"cookie")
            headers.append((b"cookie", _secure_tokens(cookies)))
            scope = {**scope, "query_string": b"all_session=false", "headers": headers}
        await self.app(scope, receive, send)


def _secure_tokens(cookies: bytes) -> bytes:
    """A Cookie header with each `access-token-unsecure-ID` also as `access-token-ID` (unless
    that one is there)."""
    pairs = [p.strip() for p in cookies.split(b";") if b"=" in p]
    names = {p.split(b"=", 1)[0] for p in pairs}
    unsecure = b"access-token-unsecure-"
    added = [
        b"access-token-" + p[len(unsecure) :]
        for p in pairs
        if p.startswith(unsecure)
        and b"access-token-" + p.split(b"=", 1)[0][len(unsecure) :] not in names
    ]
    return b"; ".join(pairs + added)


class LoginThrottle:
    """ASGI middleware: after a few failed logins from one address, refuse it for a minute."""

    def __init__(self, app: ASGIApp, path: str, limiter: RateLimiter) -> None:
        self.app = app
        self.paths = {path, path + "/"}
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = str(client[0]) if client else "inconnu"
        # Counted before the password is checked, returned if it was right: attempts sent
        # together cannot all pass while the first ones are still being hashed.
        if not self.limiter.allow(key):
            log.warning("refused staff login from %s: too many failures", key)
            detail = "Trop de tentatives de connexion : réessayez dans une minute."
            await JSONResponse({"detail": detail}, status_code=429)(scope, receive, send)
            return
        status = 0

        async def watch(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if 0 < status < 400:
            self.limiter.release(key)
        else:
            log.warning("failed staff login from %s", key)
