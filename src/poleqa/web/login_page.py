"""The staff area's pages as a visitor without a staff session gets them: no API description."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from poleqa.web.middleware import ASGIApp, Receive, Scope, Send
from poleqa.web.render import GENERIC_ERROR
from poleqa.web.sessions import with_length_changed

log = logging.getLogger(__name__)

# Gradio's page: `<script>window.gradio_api_info = {…};</script>`. Its JSON escapes « < », so
# the first « </script> » after it ends it.
_API_INFO = re.compile(
    rb"(<script>\s*window\.gradio_api_info\s*=\s*)(.*?)(;?\s*</script>)", re.DOTALL
)
# What the login page says instead: an API with no endpoint (Gradio's page reads the API's
# description only once logged in; an empty one, rather than none, leaves it nothing to fetch).
NO_API_INFO = b'{"named_endpoints":{},"unnamed_endpoints":{}}'

HasSession = Callable[[Mapping[str, str]], bool]


def gradio_session(gradio_app: Any) -> HasSession:
    """Whether a request's cookies hold a session of `gradio_app`'s login, read as Gradio reads
    them (its `get_current_user`): the secure cookie first, else the one set over HTTP."""

    def has_session(cookies: Mapping[str, str]) -> bool:
        cookie_id = gradio_app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(
            f"access-token-unsecure-{cookie_id}"
        )
        return token is not None and gradio_app.tokens.get(token) is not None

    return has_session


class SessionlessPages:
    """ASGI middleware of the staff mount: a page it sends to a client without a staff session
    (Gradio's login page) goes without the staff API's description.

    Gradio puts that description (`window.gradio_api_info`: every staff endpoint with its
    parameters, the corpus's documents among the choices of « Vérifier ») into every page it
    renders, its login page included, whoever asks; its /config, /gradio_api/info and
    openapi.json ask for the login. Keyed on the session, not on what the page looks like: a
    sessionless page holding the description in a form not recognised here is not sent (a
    French 500, logged), rather than sent whole.
    """

    def __init__(self, app: ASGIApp, prefix: str, has_session: HasSession) -> None:
        self.app = app
        self.prefix = prefix  # the mount's path, « /equipe/ »
        self.has_session = has_session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(self.prefix)
            or self.has_session(HTTPConnection(scope).cookies)
        ):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Sessionless(scope, send))


class _Sessionless:
    """The `send` of a sessionless request: a page is held whole, sent without the API's
    description, its Content-Length with it; anything else goes through as it comes."""

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self.send = send
        self.start: MutableMapping[str, Any] | None = None  # a page's, held until its end
        self.body = b""

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start" and _is_html(message):
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            await self.send(message)
            return
        self.body += message.get("body", b"")
        if message.get("more_body", False):
            return
        page = without_api_info(self.body, _is_compressed(self.start))
        if page is None:
            log.error("refused a staff page to a client without a session: API description kept")
            refusal = JSONResponse({"detail": GENERIC_ERROR}, status_code=500)
            await refusal(self.scope, _no_receive, self.send)
            return
        # by the change, not the new length: a HEAD whose app sent no page keeps its length
        await self.send(with_length_changed(self.start, len(page) - len(self.body)))
        await self.send({"type": "http.response.body", "body": page, "more_body": False})


def without_api_info(page: bytes, compressed: bool = False) -> bytes | None:
    """`page` whose API description says no endpoint; None if it may hold one still (in a form
    not recognised, or compressed)."""
    if compressed:
        return None
    emptied, count = _API_INFO.subn(lambda m: m[1] + NO_API_INFO + m[3], page)
    # each description replaced names it once; any other mention is one this did not replace
    return emptied if emptied.count(b"gradio_api_info") == count else None


def _is_html(start: Mapping[str, Any]) -> bool:
    headers = dict(start.get("headers", []))
    return headers.get(b"content-type", b"").startswith(b"text/html")


def _is_compressed(start: Mapping[str, Any]) -> bool:
    return any(k == b"content-encoding" for k, _ in start.get("headers", []))


async def _no_receive() -> MutableMapping[str, Any]:
    return {"type": "http.disconnect"}
