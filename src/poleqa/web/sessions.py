"""ASGI middleware of the pages and the staff sessions: pages said French, the staff login
page titled and heard, a staff logout ending its own session only, failed staff logins
throttled, malformed ones refused in French."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, RedirectResponse

from poleqa.web.auth import STAFF_PATH
from poleqa.web.guards import RateLimiter
from poleqa.web.middleware import ASGIApp, Receive, Scope, Send, read_body, replay
from poleqa.web.render import GENERIC_ERROR, error_page

log = logging.getLogger(__name__)

# The login page's title, after the chat's « poleqa — pôles de compétitivité » and the staff
# page's « poleqa — espace équipe » (Gradio titles only the pages of a Blocks, from its config).
LOGIN_TITLE = "poleqa — connexion à l'espace équipe"
_LOGIN_JS = (Path(__file__).parent / "static" / "login.js").read_text(encoding="utf-8")
_TITLE = html.escape(LOGIN_TITLE, quote=False)
LOGIN_HEAD = f"<title>{_TITLE}</title><script>{_LOGIN_JS}</script>".encode()


class FrenchPages:
    """ASGI middleware: Gradio's pages (the chat, the staff area and its login) say
    `<html lang="en">`; screen readers would read their French in English. Its login page has
    no title, and tells screen readers nothing of a failed login, nor anyone of the throttle's
    refusal: it is given `LOGIN_TITLE` and `static/login.js`. An address nothing answers gets
    `NOT_FOUND_PAGE` in a browser, not Gradio's English JSON. Changed in the page as it is sent,
    its Content-Length with it; for a HEAD request too, whose page the app sends as for a GET
    (Starlette does; the server drops it), so that its length is the one a GET receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: MutableMapping[str, Any] | None = None  # a page's, held until its body comes
        browsing = b"text/html" in dict(scope.get("headers", [])).get(b"accept", b"")
        if scope["path"] == STAFF_PATH or scope["path"].startswith(STAFF_PATH + "/"):
            send = _framed_by_itself_only(send)

        async def french(message: MutableMapping[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and (
                _is_page(message) or (browsing and message["status"] == 404)
            ):
                start = message
                return
            if start is not None:
                if message["type"] == "http.response.body":
                    # A page (or an error) is sent whole: its <head>, its JSON in the first part.
                    sent = message.get("body", b"")
                    if _is_page(start):
                        message = {**message, "body": french_page(sent)}
                        start = with_length_changed(start, len(message["body"]) - len(sent))
                    elif sent.strip() == GRADIO_NOT_FOUND:
                        message = {**message, "body": NOT_FOUND_PAGE}
                        start = not_found_start(start)
                await send(start)
                start = None
            await send(message)

        await self.app(scope, receive, french)


# What a browser shows for an address no route answers, instead of Gradio's English JSON; API
# clients, which do not ask for HTML, keep the JSON, and poleqa's own 404s are left as they are.
GRADIO_NOT_FOUND = b'{"detail":"Not Found"}'
NOT_FOUND_PAGE = error_page(
    "Page introuvable",
    "Cette adresse ne correspond à aucune page de poleqa.",
    "Les questions se posent à l'accueil du site.",
).encode()


def not_found_start(start: Mapping[str, Any]) -> MutableMapping[str, Any]:
    """The 404's start for `NOT_FOUND_PAGE`: its type and length, its other headers kept."""
    kept = [
        (k, v) for k, v in start.get("headers", []) if k not in (b"content-type", b"content-length")
    ]
    kept += [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(NOT_FOUND_PAGE)).encode()),
    ]
    return {**start, "headers": kept}


_ENGLISH = re.compile(rb'(<html\s+lang=")en(")')
_HEAD = re.compile(rb"<head\b[^>]*>", re.IGNORECASE)
# Gradio's own script, which no page of poleqa's holds (their text is escaped: no « <script> »)
_GRADIO_PAGE = re.compile(rb"<script>\s*window\.gradio_config\s*=")
# Gradio says its own texts in the browser's language (« Drop File Here », its login form, its
# API panel were English in an English browser, around poleqa's French): the page tells it
# French first, before Gradio's scripts (modules: they run after the page is read).
IN_FRENCH = (
    b"<script>for (const [name, value] of [['language', 'fr-FR'], ['languages', ['fr-FR', 'fr']]])"
    b" Object.defineProperty(navigator, name, {get: () => value});</script>"
)
# Gradio's link-preview tags (« Click to try out the app! », @Gradio, its own picture) stood
# for poleqa wherever its address was shared: replaced by poleqa's own, in French.
_PREVIEW_TAGS = re.compile(rb'\s*<meta\s+(?:property="og:|name="twitter:)[^>]*>')
OWN_PREVIEW = (
    '<meta property="og:type" content="website" />'
    '<meta property="og:title" content="poleqa — pôles de compétitivité" />'
    '<meta property="og:description" content="Questions sur les pôles de compétitivité : la '
    'réponse est recopiée des documents officiels, avec ses sources numérotées." />'
).encode()
# Gradio's login page: the config it is given when the app asks for a login first.
_LOGIN_PAGE = re.compile(rb'window\.gradio_config\s*=\s*\{\s*"auth_required"\s*:\s*true\b')


def french_page(body: bytes) -> bytes:
    """A page of Gradio's said French, its own texts too; its login page also titled, with
    `static/login.js`."""
    body = _ENGLISH.sub(rb"\1fr\2", body, count=1)
    if _GRADIO_PAGE.search(body):  # poleqa's own pages (a document's) allow no script
        body = _PREVIEW_TAGS.sub(b"", body)
        body = _HEAD.sub(lambda m: m[0] + IN_FRENCH + OWN_PREVIEW, body, count=1)
    if _LOGIN_PAGE.search(body):
        body = body.replace(b"</head>", LOGIN_HEAD + b"</head>", 1)
    return body


def _is_page(start: Mapping[str, Any]) -> bool:
    """An HTML page sent as is (a compressed one is left alone)."""
    headers = dict(start.get("headers", []))
    kind = headers.get(b"content-type", b"")
    return kind.startswith(b"text/html") and b"content-encoding" not in headers


def with_length_changed(start: MutableMapping[str, Any], change: int) -> MutableMapping[str, Any]:
    """The response's start with its Content-Length (if it says one) changed by `change`."""
    if not change:
        return start
    headers = [
        (k, str(int(v) + change).encode() if k == b"content-length" else v)
        for k, v in start.get("headers", [])
    ]
    return {**start, "headers": headers}


NOT_A_LOGOUT = "La déconnexion se fait par le lien « Se déconnecter » de l'espace équipe."


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
            if scope["method"] not in ("GET", "HEAD"):  # Gradio's 405 says it in English
                await _answer(scope, send, 405, NOT_A_LOGOUT, {"Allow": "GET"})
                return
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


# What a login is answered, in French (Gradio's, and FastAPI's for a malformed form, are English).
THROTTLED = "Trop de tentatives de connexion : réessayez dans une minute."
INCORRECT = "Identifiant ou mot de passe incorrect."
MISSING = "Saisissez l'identifiant (« equipe ») et le mot de passe."
UNREADABLE = (
    "Requête de connexion illisible : un formulaire avec les champs « username » et "
    "« password » est attendu."
)
TOO_LARGE = "Requête de connexion trop volumineuse."
NOT_POSTED = "La connexion se fait par le formulaire de l'espace équipe."
# A user name and a password of MAX_PASSWORD_CHARS characters, percent-encoded: under 16 KB.
# Gradio's form parser would read up to a thousand fields of 1 MB each (files to disk besides).
MAX_LOGIN_BODY = 32_768


# Another site may not show the staff pages in a frame: a logged-in staff member's
# « Réindexer » or « Exporter les avis » could be clicked through an invisible one
# (clickjacking). The public chat may be framed (a pôle's own site may show it); a page that
# sets its own policy (documents.py) keeps it.
_FRAME_HEADERS = [
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
]


def _framed_by_itself_only(send: Send) -> Send:
    async def guarded(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            named = {name.lower() for name, _ in headers}
            headers += [(n, v) for n, v in _FRAME_HEADERS if n not in named]
            message = {**message, "headers": headers}
        await send(message)

    return guarded


class LoginThrottle:
    """ASGI middleware of the staff login: after a few failed logins from one address, refused
    for a minute; a body too large refused unread; Gradio's refusals said in French."""

    def __init__(self, app: ASGIApp, path: str, limiter: RateLimiter) -> None:
        self.app = app
        self.paths = {path, path + "/"}
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _not_posted(scope, send)
            return
        client = scope.get("client")
        key = str(client[0]) if client else "inconnu"
        # Counted before the password is checked, returned if it was right: attempts sent
        # together cannot all pass while the first ones are still being hashed.
        if not self.limiter.allow(key):
            log.warning("refused staff login from %s: too many failures", key)
            await _answer(scope, send, 429, THROTTLED, {"Retry-After": "60"})
            return
        body = await read_body(receive, MAX_LOGIN_BODY)
        if body is None:  # counted as a failure, as every malformed login
            log.warning("refused staff login from %s: body too large", key)
            await _answer(scope, send, 413, TOO_LARGE)
            return

        def settle(right: bool) -> None:
            if right:
                self.limiter.release(key)
            else:
                log.warning("failed staff login from %s", key)

        await self.app(scope, replay(body, receive), FrenchLogin(scope, send, settle))


class FrenchLogin:
    """The `send` of a login passed to Gradio: a success goes through; a refusal is replaced
    by its French (Gradio's « Incorrect credentials. », FastAPI's list of missing fields).
    `settle(right)` is called before the client hears: its next try finds the throttle
    settled."""

    def __init__(self, scope: Scope, send: Send, settle: Callable[[bool], None]) -> None:
        self.scope = scope
        self.send = send
        self.settle = settle
        self.status = 0  # the status Gradio answered with
        self.refusal = b""

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.status < 400:
                self.settle(True)
        if self.status < 400:
            await self.send(message)
            return
        if message["type"] != "http.response.body":
            return
        self.refusal += message.get("body", b"")
        if message.get("more_body", False):
            return
        if self.status == 422 and _fields_left_empty(self.scope, self.refusal):
            self.settle(True)  # no password was tried: not a failure
            await _answer(self.scope, self.send, 422, MISSING)
            return
        self.settle(False)
        if self.status >= 500:
            await _answer(self.scope, self.send, 500, GENERIC_ERROR)
        else:  # Gradio's page tells a wrong password by its 400 alone
            wrong = self.status == 400 and b"Incorrect credentials" in self.refusal
            await _answer(self.scope, self.send, 400, INCORRECT if wrong else UNREADABLE)


def _fields_left_empty(scope: Scope, refusal: bytes) -> bool:
    """Whether FastAPI's 422 says only that the form's user name or password is empty (the
    login form sent as the page sends it, a field left blank), not that the request is not
    that form."""
    kind = dict(scope.get("headers", [])).get(b"content-type", b"").split(b";")[0].strip()
    if kind not in (b"multipart/form-data", b"application/x-www-form-urlencoded"):
        return False
    try:
        errors = json.loads(refusal)["detail"]
        return bool(errors) and all(
            e["type"] == "missing" and e["loc"][-1] in ("username", "password") for e in errors
        )
    except (ValueError, KeyError, TypeError, IndexError):
        return False


async def _not_posted(scope: Scope, send: Send) -> None:
    """A login's address asked otherwise than by the form: a visit is sent to the login page
    (« ../ » from « …/login/ »), anything else refused in French."""
    if scope["method"] in ("GET", "HEAD"):
        page = "../" if scope["path"].endswith("/") else "./"
        await RedirectResponse(page, status_code=303)(scope, _no_receive, send)
    else:
        await _answer(scope, send, 405, NOT_POSTED, {"Allow": "POST"})


async def _answer(
    scope: Scope, send: Send, status: int, french: str, headers: Mapping[str, str] | None = None
) -> None:
    """A JSON answer `{"detail": french}`, as Gradio's and FastAPI's (the page reads it)."""
    response = JSONResponse({"detail": french}, status_code=status, headers=headers)
    await response(scope, _no_receive, send)


async def _no_receive() -> MutableMapping[str, Any]:
    return {"type": "http.disconnect"}
