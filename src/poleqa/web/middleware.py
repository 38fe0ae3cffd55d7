"""ASGI middleware in front of the Gradio apps' API: calls checked, refused in French."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradio.data_classes import PredictBody
from pydantic import ValidationError
from starlette.responses import JSONResponse

from poleqa.jsontext import parse_json
from poleqa.names import resolved_within
from poleqa.web.render import count_fr

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CALL = re.compile(
    r"^(?P<mount>.*/)gradio_api/(?P<route>call/v2/|call/|run/|api/)(?P<name>[^/]+)(?:/[^/]+)?/?$"
)
_JOIN = re.compile(r"^(?P<mount>.*/)gradio_api/queue/join/?$")
# Gradio's routes that send a file, or fetch a URL on the server for the caller; the mount is
# matched lazily because the target may itself hold « gradio_api/ ».
_FILES = re.compile(
    r"^(?P<mount>.*?/)gradio_api/(?P<route>file=|file/|proxy=)(?P<target>.*)$", re.DOTALL
)
_UPLOADS = re.compile(r"^(?P<mount>.*/)gradio_api/(?:upload|upload_progress|process_recording)/?$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, … : not a file of this server
MAX_BODY = 1_000_000  # bytes of one API call (files go to Gradio's upload route, not here)
DIRECT = "predict"  # …/run/predict: the page's route for the events outside Gradio's queue
MAX_SESSION_HASH = 64  # Gradio's page makes hashes of 11 characters, its Python client of 36

Refusal = tuple[int, str, str]  # HTTP status, English for the log, French for the client
# Gradio would answer both with a 422 in English
_NOT_OBJECT = ("body is not a JSON object", "Requête illisible : un objet JSON est attendu.")
NOT_JSON = "Requête illisible : le corps doit être du JSON (Content-Type: application/json)."


@dataclass(frozen=True)
class Inputs:
    """What a positional call's `data` holds for one function."""

    count: int  # every input, the session states included
    # the positions of the session states: Gradio reads them from the session, and its API
    # description leaves them out
    states: tuple[int, ...] = ()
    files: tuple[int, ...] = ()  # the positions of file inputs: a file record or null
    # the names call/v2/ gives the file inputs (Gradio checks them with pydantic, in English,
    # before the handler that would refuse them in French is reached)
    named_files: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Endpoints:
    """What one mounted Gradio app answers to."""

    names: frozenset[str]  # public API names
    fn_indexes: frozenset[int]  # every event, as the page calls them
    uploads: Path | None  # the folder any file named in a call must be in; None: no file
    downloads: bool = False  # whether its events give files to download (`…/file=PATH`)
    # by API name: (the arguments call/v2/ may name, those it must name); Gradio fails on any
    # other with a 500 and a traceback
    arguments: Mapping[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    inputs: Mapping[int, Inputs] = field(default_factory=dict)  # by function index
    by_name: Mapping[str, int] = field(default_factory=dict)  # function index by API name
    # the events outside Gradio's queue, which the page calls at …/run/predict by function index
    direct: frozenset[int] = frozenset()


class ApiGuard:
    """ASGI middleware before the Gradio apps' API: refuses in French, with one log line, the
    calls Gradio would fail on with a 500 and a traceback or answer in English — an unknown API
    name or function index, an argument name call/v2/ does not know or lacks, a malformed body
    or one not sent as JSON, and on an app taking no upload, a file reference (Gradio would try
    to copy it) — and what no mount is for: a URL for the server to fetch (Gradio's `file=URL`
    and `proxy=`), a file from a mount that gives none, an upload to a mount that takes none."""

    def __init__(self, app: ASGIApp, mounts: dict[str, Endpoints]) -> None:
        self.app = app
        self.mounts = mounts  # by mount path: "/", "/equipe/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        refusal = self._route_refusal(path)
        if refusal is not None:
            await _refuse(scope, send, *refusal)
            return
        call, join = _CALL.match(path), _JOIN.match(path)
        match = call or join
        mount = self.mounts.get(match["mount"]) if match else None
        if match is None or mount is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        route, name = (call["route"], call["name"]) if call else ("join", None)
        if body is None:
            await _refuse(scope, send, 413, "request body too large", "Requête trop volumineuse.")
            return
        if not _json_type(scope):  # FastAPI would not read the body and answer in English
            await _refuse(scope, send, 415, "body not sent as JSON", NOT_JSON)
            return
        # Parsed once, here; Gradio reads the bytes passed on (the same ones, or the states put in).
        payload = _payload(body)
        problem = _NOT_OBJECT if payload is None else _problem(payload, mount, route, name)
        if problem is not None:
            await _refuse(scope, send, 400, *problem)
            return
        passed = body if route == "call/v2/" else _with_states(payload, body, mount, name)
        if passed is not body:  # the Content-Length sent is the length of the body sent
            scope = with_length(scope, len(passed))
        await self.app(scope, replay(passed, receive), send)

    def _route_refusal(self, path: str) -> Refusal | None:
        """The refusal of a route whatever its method and body, or None."""
        files, uploads, call = _FILES.match(path), _UPLOADS.match(path), _CALL.match(path)
        if files:
            target = files["target"]
            if files["route"] == "proxy=" or _SCHEME.match(target):
                # on every mount: poleqa fetches nothing for anyone (an open proxy otherwise)
                french = "Ce service ne relaie aucune adresse extérieure."
                return 404, f"URL to fetch: {target[:200]!r}", french
            mount = self.mounts.get(files["mount"])
            if mount is not None and not mount.downloads:
                french = "Ce service ne fournit aucun fichier."
                return 404, "file asked of a mount giving none", french
        if uploads:
            mount = self.mounts.get(uploads["mount"])
            if mount is not None and mount.uploads is None:
                return 404, "upload to a mount taking none", "Ce service n'accepte aucun fichier."
        mount = self.mounts.get(call["mount"]) if call else None
        direct = call is not None and _direct(call["route"], call["name"])
        if call and mount is not None and call["name"] not in mount.names and not direct:
            name = call["name"][:100]
            return 404, f"unknown API name {name!r}", f"Point d'accès inconnu : « {name} »."
        return None


def _direct(route: str, name: str | None) -> bool:
    """Whether a call is the page's call of an event outside the queue (…/run/predict)."""
    return route == "run/" and name == DIRECT


def _payload(body: bytes) -> dict[str, Any] | None:
    """The call's JSON object, or None if the body is not one (read as Gradio reads it)."""
    try:
        payload = parse_json(body)
    except ValueError:  # UnicodeDecodeError (a body not in UTF-8) included
        return None
    return payload if isinstance(payload, dict) else None


def _json_type(scope: Scope) -> bool:
    """Whether the body is sent as JSON, as FastAPI wants it to parse it: application/json or
    application/…+json, parameters allowed. Not waived: a form or text/plain is what another
    site can make a browser send without asking (the staff's session cookie with it)."""
    kind = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    kind = kind.split(b";", 1)[0].strip().lower()
    main, _, sub = kind.partition(b"/")
    return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))


def _problem(
    payload: dict[str, Any], mount: Endpoints, route: str, name: str | None
) -> tuple[str, str] | None:
    """(English for the log, French for the client), or None if the call may go on. `route` is
    "join" (the page's queue) or the API route: "call/", "call/v2/", "run/", "api/"; `name` the
    API name called (None for the queue)."""
    index = payload.get("fn_index")
    # Gradio would run any index there, or fail in English
    outside_queue = isinstance(index, int) and index in mount.direct
    if _direct(route, name) and not outside_queue:
        return f"fn_index {str(index)[:20]!r} not outside the queue", "Point d'accès inconnu."
    known = isinstance(index, int) and index in mount.fn_indexes
    if not known and (index is not None or route == "join"):  # the queue needs to know which
        return f"unknown fn_index {str(index)[:20]!r}", "Point d'accès inconnu."
    inputs = mount.inputs.get(_fn_index(payload, mount, name))
    # call/v2/ takes the arguments by name, at the top level
    malformed = (
        _misnamed(payload, mount.arguments.get(name or "")) or _unfiled(payload, inputs)
        if route == "call/v2/"
        else _malformed(payload, route == "join") or _counted(payload["data"], inputs)
    )
    if malformed is not None:
        return malformed
    # The whole body: call/v2/ names its arguments at the top level, not in `data`.
    files = _file_paths(payload)
    if files and mount.uploads is None:
        return "file reference in a call", "Ce service n'accepte aucun fichier."
    for name in files:
        # a folder of uploads is none: Gradio kept it as a file it made, and its clean-up of
        # old files then failed on it (IsADirectoryError) for the rest of the server's life
        if mount.uploads is None or resolved_within(name, mount.uploads) is None:
            return f"file not uploaded: {name[:300]!r}", "Seuls les fichiers déposés sont acceptés."
    return None


def _malformed(payload: dict[str, Any], join: bool) -> tuple[str, str] | None:
    """What in a call's fields Gradio would refuse with a 422 (or a 400) in English."""
    if not isinstance(payload.get("data"), list):
        return "data is not a list", "Requête illisible : « data » doit être une liste."
    session = payload.get("session_hash")
    if (session is not None or join) and not (
        isinstance(session, str) and 0 < len(session) <= MAX_SESSION_HASH
    ):
        return "bad session_hash", (
            f"Requête illisible : « session_hash » doit être un texte de 1 à {MAX_SESSION_HASH} "
            "caractères."
        )
    event_data = payload.get("event_data")
    if event_data is not None and not isinstance(event_data, dict):
        return "event_data is not an object", (
            "Requête illisible : « event_data » doit être un objet JSON ou null."
        )
    # The rest as Gradio checks it, with its own model (its fields change with its versions).
    try:
        PredictBody.model_validate(payload)
    except ValidationError as e:
        field = str(e.errors()[0]["loc"][0])[:50]
        return f"invalid field {field!r}", f"Requête illisible : « {field} » n'est pas valable."
    return None


def _fn_index(payload: dict[str, Any], mount: Endpoints, name: str | None) -> int | None:
    """The function a positional call is for, as Gradio finds it: its `fn_index`, else its API
    name's."""
    index = payload.get("fn_index")
    return index if isinstance(index, int) else mount.by_name.get(name or "")


def _counted(data: list[Any], inputs: Inputs | None) -> tuple[str, str] | None:
    """Too few values in `data`, or a file input given something else than a file record
    (Gradio would fail with a 500 and a traceback, or answer in English): the form its API
    description gives (without the session states) and the full one both pass."""
    if inputs is None:
        return None
    described = inputs.count - len(inputs.states)
    if len(data) < inputs.count and len(data) != described:
        return f"{len(data)} values for {described}", (
            f"Requête illisible : « data » doit contenir {count_fr(described, 'valeur')}"
            + (f" ou {inputs.count}" if inputs.states else "")
            + f" ({len(data)} reçue{'s' if len(data) >= 2 else ''})."
        )
    given = _full(data, inputs)
    for position in inputs.files:
        value = given[position]
        if value is not None and not (isinstance(value, dict) and _is_file_record(value)):
            return "not a file record", "Requête illisible : un fichier déposé est attendu."
    return None


# What a file argument must be, for a caller who named a file of their own computer.
FILE_RECORD = (
    'envoyé à gradio_api/upload, puis donné comme {"path": CHEMIN, "meta": '
    '{"_type": "gradio.FileData"}}'
)
_KINDS_FR = {str: "un texte", bool: "un booléen", int: "un nombre", float: "un nombre"}


def _unfiled(payload: dict[str, Any], inputs: Inputs | None) -> tuple[str, str] | None:
    """A file argument of call/v2/ given something else than a file record or null."""
    for key in sorted(inputs.named_files if inputs else ()):
        value = payload.get(key)
        if value is not None and not (isinstance(value, dict) and _is_file_record(value)):
            kind = _KINDS_FR.get(type(value), "une liste" if isinstance(value, list) else "")
            return f"{key!r} not a file record", (
                f"Requête illisible : « {key} » doit être un fichier déposé ({FILE_RECORD}), "
                f"pas {kind or 'un objet qui ne décrit pas un fichier déposé'}."
            )
    return None


def _full(data: list[Any], inputs: Inputs) -> list[Any]:
    """`data` with a null at each session state's place if it left them out."""
    if len(data) >= inputs.count:
        return data
    full = list(data)
    for position in inputs.states:
        full.insert(position, None)
    return full


def _with_states(payload: dict[str, Any], body: bytes, mount: Endpoints, name: str | None) -> bytes:
    """The body with a null at each session state's place when the call left them out, as
    Gradio's own client sends it (Gradio reads a state from the session, not from the call)."""
    inputs = mount.inputs.get(_fn_index(payload, mount, name))
    if inputs is None or len(payload["data"]) >= inputs.count:
        return body
    return json.dumps(payload | {"data": _full(payload["data"], inputs)}).encode()


def _misnamed(
    payload: dict[str, Any], arguments: tuple[frozenset[str], frozenset[str]] | None
) -> tuple[str, str] | None:
    """An argument call/v2/ does not know, or one it needs that is missing."""
    if arguments is None:  # Gradio's call/v2/ would fail to find its description (a 500)
        return "no API description for this name", "Point d'accès inconnu."
    allowed, required = arguments
    # Gradio drops an « oauth_token » its endpoint does not take
    unknown = sorted(set(payload) - allowed - {"oauth_token"})
    if unknown:
        key = str(unknown[0])[:50]
        return f"unknown argument {key!r}", f"Requête illisible : argument inconnu « {key} »."
    missing = sorted(required - set(payload))
    if missing:
        key = missing[0]
        return f"missing argument {key!r}", f"Requête illisible : argument manquant « {key} »."
    return None


def _is_file_record(item: dict[str, Any]) -> bool:
    meta = item.get("meta")
    return isinstance(meta, dict) and meta.get("_type") == "gradio.FileData"


def _file_paths(data: Any) -> list[str]:
    """The paths of Gradio's file records in a JSON value (walked without recursion)."""
    paths, todo = [], [data]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            if _is_file_record(item):
                paths.append(str(item.get("path")))
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return paths


async def read_body(receive: Receive, limit: int = MAX_BODY) -> bytes | None:
    """The request's body, or None once it passes `limit` bytes (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """The request body again, for the app behind, then whatever comes next (a disconnect)."""
    sent = False

    async def replayed() -> MutableMapping[str, Any]:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def with_length(scope: Scope, length: int) -> Scope:
    """`scope` whose Content-Length says `length` (a body read, then passed on changed)."""
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


async def _refuse(scope: Scope, send: Send, status: int, english: str, french: str) -> None:
    log.warning("refused API call %s: %s", scope["path"][:200], english)

    async def no_receive() -> MutableMapping[str, Any]:
        return {"type": "http.disconnect"}

    await JSONResponse({"detail": french}, status_code=status)(scope, no_receive, send)
