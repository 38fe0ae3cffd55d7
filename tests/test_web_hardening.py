"""The real web server (uvicorn, Gradio, fake pipeline) against misuse: no URL fetched for
anyone, no file taken or given by the public app, malformed calls and /document's failures
answered in French, one staff member's logout."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from webfake import INFO, FakePipeline, logged_in, serving

from poleqa.errors import IndexCorruptedError
from poleqa.types import DocumentInfo
from poleqa.web import _arguments, create_app
from poleqa.web.middleware import NOT_JSON, _misnamed
from poleqa.web.render import GENERIC_ERROR, UNAVAILABLE
from poleqa.web.staff import STAFF_HEADER

PASSWORD = "un mot de passe d'équipe"
NO_URL = "Ce service ne relaie aucune adresse extérieure."
NO_UPLOAD = "Ce service n'accepte aucun fichier."
NO_DOWNLOAD = "Ce service ne fournit aucun fichier."
DATA = "Requête illisible : « data » doit être une liste."
SESSION = "Requête illisible : « session_hash » doit être un texte de 1 à 64 caractères."
EVENT_DATA = "Requête illisible : « event_data » doit être un objet JSON ou null."
UNKNOWN_ARGUMENT = "Requête illisible : argument inconnu "
TOO_FEW = "Requête illisible : « data » doit contenir "
DROP = object()  # a field left out of a call


@dataclass
class Site:
    url: str
    uploads: Path  # Gradio's upload folder for this server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    uploads = tmp_path_factory.mktemp("uploads")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GRADIO_TEMP_DIR", str(uploads))  # read by Gradio when the app is built
        app = create_app(FakePipeline(), uploads.parent / "data", staff_password=PASSWORD)
        with serving(app) as url:
            yield Site(url, uploads)


def _login(site: Site) -> httpx.Client:
    return logged_in(site.url, PASSWORD)


def _poleqa_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("poleqa")]


def test_no_mount_fetches_a_url_for_the_caller(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    # Gradio's `file=URL` resolves the host and streams the page back: an open proxy. Its
    # resolver is replaced by one that records the host, so that nothing leaves the machine.
    import safehttpx

    asked: list[str] = []

    async def resolve(host: str, *args: Any, **kwargs: Any) -> str:
        asked.append(host)
        raise OSError("the tests make no request outside")

    monkeypatch.setattr(safehttpx, "async_validate_url", resolve)
    public, staff = httpx.Client(base_url=site.url), _login(site)
    for client, mount in ((public, ""), (staff, "equipe/")):
        for route in ("file=", "file/", "proxy="):
            path = f"{mount}gradio_api/{route}https://www.example.org/page"
            assert client.head(path).status_code == 404, path
            r = client.get(path)
            assert (r.status_code, r.json()) == (404, {"detail": NO_URL}), path
    assert asked == []


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_no_mount_keeps_a_history_of_runs_in_the_browser(site: Site) -> None:
    # Gradio's run history stores each call (the questions, the answers) in the browser
    staff = _login(site)
    for client, mount in ((httpx.Client(base_url=site.url), ""), (staff, "equipe/")):
        assert client.get(mount + "config").json()["run_history"] is False
        assert client.get(mount + "gradio_api/runs").status_code == 404


def test_the_public_app_takes_and_gives_no_file(site: Site) -> None:
    before = _files(site.uploads)
    files = [("files", (f"f{i}.txt", f"{i}".encode() * 900, "text/plain")) for i in range(3)]
    upload = httpx.post(site.url + "gradio_api/upload", files=files)
    assert (upload.status_code, upload.json()) == (404, {"detail": NO_UPLOAD})
    assert _files(site.uploads) == before  # Gradio would have kept them, and forever
    progress = httpx.get(site.url + "gradio_api/upload_progress", params={"upload_id": "x"})
    assert (progress.status_code, progress.json()) == (404, {"detail": NO_UPLOAD})
    local = httpx.get(site.url + "gradio_api/file=/etc/hostname")
    assert (local.status_code, local.json()) == (404, {"detail": NO_DOWNLOAD})


def test_the_staff_upload_question_sets_and_download_reports(site: Site, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    questions = tmp_path / "questions.jsonl"
    row = {"id": "q1", "question": "Combien de pôles ?", "answers": ["38"], "sources": []}
    questions.write_text(json.dumps(row | {"answerable": True}) + "\n", encoding="utf-8")
    staff = Client(site.url + "equipe/", auth=("equipe", PASSWORD), verbose=False)
    # the client uploads the file, then downloads the reports through /equipe/gradio_api/file=
    _, _, reports = staff.predict(handle_file(str(questions)), 5, api_name="/evaluate")
    assert reports and {"predictions.jsonl", "report.json"} <= {Path(f).name for f in reports}
    assert json.loads(Path(next(f for f in reports if f.endswith(".json"))).read_text())
    _, export = staff.predict(api_name="/feedback_export")
    assert Path(export).read_text(encoding="utf-8").startswith("\ufeffid;time;rating;comment")


def _ask_index(site: Site) -> int:
    config = httpx.get(site.url + "config").json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == "ask")


def _status_index(site: Site) -> int:
    """The page's load event: the status line, read outside Gradio's queue."""
    config = httpx.get(site.url + "config").json()
    return next(d["id"] for d in config["dependencies"] if d["targets"][0][1] == "load")


def test_the_page_reads_its_status_line_outside_the_queue(site: Site) -> None:
    # Queued, that read could close the page's event stream under a question sent as it ended
    # (the question then never got its answer): the page calls it at run/predict instead.
    body = {"fn_index": _status_index(site), "data": [], "session_hash": "abc"}
    r = httpx.post(site.url + "gradio_api/run/predict", json=body)
    assert r.status_code == 200
    status, timer = r.json()["data"]
    # the fake pipeline is ready: nothing to say, the line left as it is (a reload's own event
    # may have put one there: the question left unanswered)
    assert status["__type__"] == "update" and "value" not in status
    assert timer["active"] is False  # and nothing to refresh


@pytest.mark.parametrize("index", ["ask", None, 9999, "7"])
def test_run_predict_takes_only_an_event_outside_the_queue(
    site: Site, caplog: pytest.LogCaptureFixture, index: object
) -> None:
    # Gradio would run a queued event there with an English 404, fail on a missing or unknown
    # index with a 500
    caplog.set_level(logging.WARNING, logger="poleqa")
    body = {"data": ["Combien ?", None], "session_hash": "abc"}
    if index is not None:
        body["fn_index"] = _ask_index(site) if index == "ask" else index
    r = httpx.post(site.url + "gradio_api/run/predict", json=body)
    assert (r.status_code, r.json()) == (400, {"detail": "Point d'accès inconnu."})
    assert len(_poleqa_lines(caplog)) == 1


@pytest.mark.parametrize(
    ("path", "fields", "message"),
    [
        ("call/ask", {"data": "Combien ?"}, DATA),
        ("call/ask", {"data": DROP}, DATA),
        ("call/ask", {"session_hash": 7}, SESSION),
        ("queue/join", {"data": {"question": "Combien ?"}}, DATA),
        ("queue/join", {"session_hash": DROP}, SESSION),
        ("queue/join", {"session_hash": ""}, SESSION),
        ("queue/join", {"session_hash": "s" * 65}, SESSION),
        ("queue/join", {"session_hash": ["s"]}, SESSION),
        ("queue/join", {"event_data": "pas un objet"}, EVENT_DATA),
        ("queue/join", {"event_data": [1]}, EVENT_DATA),
        (
            "queue/join",
            {"trigger_id": "x"},
            "Requête illisible : « trigger_id » n'est pas valable.",
        ),
        ("queue/join", {"fn_index": DROP}, "Point d'accès inconnu."),
        # too few values (Gradio failed with a 500 naming its Python objects)
        ("call/ask", {"data": []}, TOO_FEW + "1 valeur ou 2 (0 reçue)."),
        ("run/ask", {"data": []}, TOO_FEW + "1 valeur ou 2 (0 reçue)."),
        ("queue/join", {"data": []}, TOO_FEW + "1 valeur ou 2 (0 reçue)."),
        ("call/feedback_up", {"data": [None, "x"]}, TOO_FEW + "1 valeur ou 3 (2 reçues)."),
        # call/v2/ names its arguments at the top level: a file there is refused too
        (
            "call/v2/ask",
            {"question": {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}},
            NO_UPLOAD,
        ),
        # Gradio fails on an argument name its endpoint does not take with a 500
        ("call/v2/ask", {"questoin": "Combien ?"}, UNKNOWN_ARGUMENT + "« questoin »."),
        (
            "call/v2/ask",
            {"question": "Combien ?", "session_hash": "abc"},
            UNKNOWN_ARGUMENT + "« session_hash ».",
        ),
        ("call/v2/ask", {}, "Requête illisible : argument manquant « question »."),
        ("call/v2/new_conversation", {"question": "Combien ?"}, UNKNOWN_ARGUMENT + "« question »."),
    ],
)
def test_malformed_calls_get_a_french_400(
    site: Site,
    caplog: pytest.LogCaptureFixture,
    path: str,
    fields: dict[str, Any],
    message: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="poleqa")
    if path.startswith("call/v2/"):
        body = fields
    else:
        join = {"fn_index": _ask_index(site), "session_hash": "abc", "event_data": None}
        body = {"data": ["Combien ?", None]} | (join if path == "queue/join" else {}) | fields
    body = {key: value for key, value in body.items() if value is not DROP}
    r = httpx.post(site.url + "gradio_api/" + path, json=body)
    assert (r.status_code, r.json()) == (400, {"detail": message})
    assert len(_poleqa_lines(caplog)) == 1


@pytest.mark.parametrize(
    "kind", ["text/plain", "application/x-www-form-urlencoded", None, "application/jsonx"]
)
def test_calls_not_sent_as_json_get_a_french_415(
    site: Site, caplog: pytest.LogCaptureFixture, kind: str | None
) -> None:
    # Gradio reads the body as JSON only when told it is: it answered a JSON object sent as text
    # with a 422 in English (and a form or text is what another site can make a browser send)
    caplog.set_level(logging.WARNING, logger="poleqa")
    body = json.dumps({"data": ["Combien ?"]}).encode()
    headers = {"content-type": kind} if kind else {}
    r = httpx.post(site.url + "gradio_api/call/ask", content=body, headers=headers)
    assert (r.status_code, r.json()) == (415, {"detail": NOT_JSON})
    assert len(_poleqa_lines(caplog)) == 1
    for kind in ("application/json; charset=utf-8", "application/vnd.poleqa+json"):
        r = httpx.post(
            site.url + "gradio_api/call/ask", content=body, headers={"content-type": kind}
        )
        assert r.status_code == 200 and "event_id" in r.json(), kind


def test_argument_names_come_from_gradios_description() -> None:
    # an argument Gradio describes without a name cannot be given by name, only be missing
    described = [
        {"parameter_has_default": False},
        {"parameter_name": "k", "parameter_has_default": True},
    ]
    arguments = _arguments(described)
    assert arguments == (frozenset({"k"}), frozenset({"argument 0"}))
    assert _misnamed({"argument 0": 1}, arguments) == (
        "unknown argument 'argument 0'",
        "Requête illisible : argument inconnu « argument 0 ».",
    )
    assert _misnamed({}, None) == ("no API description for this name", "Point d'accès inconnu.")


def test_calls_naming_their_arguments_still_answer(site: Site) -> None:
    for path, body in (
        ("call/v2/ask", {"question": "Combien ?"}),
        ("call/v2/new_conversation", {}),
    ):
        r = httpx.post(site.url + "gradio_api/" + path, json=body)
        assert r.status_code == 200 and "event_id" in r.json()
    # the staff app's verify: the arguments with defaults may be left out
    staff = _login(site)
    body = {"query": "Combien ?", "date_from": None, "date_to": None}
    r = staff.post("equipe/gradio_api/call/v2/verify", json=body)
    assert r.status_code == 200 and "event_id" in r.json()


def test_calls_in_the_form_gradios_description_gives_answer(site: Site) -> None:
    # Gradio's API page describes `ask` with one value (the question; the session state is its
    # own) and its curl example sends that: Gradio itself then failed with a 500
    info = httpx.get(site.url + "gradio_api/info").json()["named_endpoints"]
    assert [p["parameter_name"] for p in info["/ask"]["parameters"]] == ["question"]
    r = httpx.post(site.url + "gradio_api/run/ask", json={"data": ["Combien de pôles ?"]})
    assert r.status_code == 200
    body = {"data": ["Combien de pôles ?"], "fn_index": _ask_index(site)}
    assert httpx.post(site.url + "gradio_api/run/ask", json=body).status_code == 200
    assert "Combien de pôles ?" in json.dumps(r.json()["data"], ensure_ascii=False)
    for path, data in (("call/ask", ["Combien ?"]), ("call/feedback_up", ["Très clair."])):
        r = httpx.post(site.url + "gradio_api/" + path, json={"data": data})
        assert r.status_code == 200 and "event_id" in r.json()
        events = httpx.get(site.url + f"gradio_api/{path}/{r.json()['event_id']}").text
        assert "event: complete" in events, events


def test_a_file_input_given_anything_else_gets_a_french_400(site: Site) -> None:
    staff = _login(site)
    for value in ("/etc/passwd", 123, {"path": "/etc/passwd"}, ["x"]):
        r = staff.post("equipe/gradio_api/call/evaluate", json={"data": [value, 5]})
        assert r.status_code == 400, value
        assert r.json() == {"detail": "Requête illisible : un fichier déposé est attendu."}
    # Gradio runs the function a call's fn_index names, whatever the route's name says
    config = staff.get("equipe/config").json()
    evaluate = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "evaluate")
    body = {"data": ["/etc/passwd", 5, "", "", 5], "fn_index": evaluate}
    r = staff.post("equipe/gradio_api/run/verify", json=body)
    assert r.status_code == 400, r.text
    # no file yet is the page's « Choisissez d'abord un fichier de questions. »
    r = staff.post("equipe/gradio_api/call/evaluate", json={"data": [None, 5]})
    assert r.status_code == 200 and "event_id" in r.json()


def test_every_page_says_it_is_french(site: Site) -> None:
    # Gradio's pages said lang="en": screen readers read their French in English. The chat,
    # the staff login page, the staff area once logged in:
    pages = (httpx.get(site.url), httpx.get(site.url + "equipe/"), _login(site).get("equipe/"))
    for r in pages:
        assert r.status_code == 200 and int(r.headers["content-length"]) == len(r.content)
        assert re.search(r'<html\s+lang="fr"', r.text) and 'lang="en"' not in r.text, r.url


def test_no_other_site_may_frame_the_staff_pages(site: Site) -> None:
    # a logged-in staff member's « Réindexer » could be clicked through another site's
    # invisible frame; the public chat may be shown in a pôle's own site; the document page
    # keeps its own stricter policy
    staff = _login(site)
    for r in (httpx.get(site.url + "equipe/"), staff.get("equipe/"), staff.get("equipe")):
        assert r.headers["x-frame-options"] == "SAMEORIGIN", r.url
        assert r.headers["content-security-policy"] == "frame-ancestors 'self'", r.url
    chat = httpx.get(site.url)
    assert "x-frame-options" not in chat.headers and "content-security-policy" not in chat.headers
    document = httpx.get(site.url + "document?source=absent.md")
    assert document.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_page_calls_still_join_the_queue(site: Site) -> None:
    # what Gradio's page and client send passes: the longest hash, an event's data, a trigger
    body = {"fn_index": _ask_index(site), "data": ["Combien ?", None], "trigger_id": 3}
    for session, event in (("s" * 64, None), ("abc", {"index": 0, "value": "x"})):
        join = body | {"session_hash": session, "event_data": event}
        r = httpx.post(site.url + "gradio_api/queue/join", json=join)
        assert r.status_code == 200 and "event_id" in r.json()


def test_logging_out_ends_this_session_only(site: Site) -> None:
    # the staff share one user name: the page's link must not log every colleague out
    link = html.unescape(re.search(r'href="(logout[^"]*)"', STAFF_HEADER)[1])
    mine, colleague = _login(site), _login(site)
    before = (mine.get("equipe/config").status_code, colleague.get("equipe/config").status_code)
    assert before == (200, 200)
    assert mine.get("equipe/" + link).status_code == 302
    assert mine.get("equipe/config").status_code == 401
    assert colleague.get("equipe/config").status_code == 200
    # nor may a bare logout, typed or followed from a link, nor one asking for every session
    for logout in ("equipe/logout", "equipe/logout?all_session=true", "equipe/" + link):
        mine = _login(site)
        kept = dict(mine.cookies)  # what someone who copied the cookie would send
        assert mine.get(logout).status_code == 302
        assert mine.get("equipe/config").status_code == 401
        assert colleague.get("equipe/config").status_code == 200
        # over plain HTTP the session's token was left valid on the server
        replay = httpx.Client(base_url=site.url, cookies=kept)
        assert replay.get("equipe/config").status_code == 401, logout


class BrokenPipeline(FakePipeline):
    """The fake pipeline whose index fails when asked for its documents."""

    failure: Exception = IndexCorruptedError("chunks.jsonl does not match the manifest")

    def sources(self) -> list[DocumentInfo]:
        raise self.failure


def test_document_says_when_the_index_is_broken_or_the_page_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="poleqa")
    pipeline = BrokenPipeline()
    with serving(create_app(pipeline, tmp_path / "data")) as url:
        broken = httpx.get(url + "document", params={"source": INFO.source})
        # the chat's message: the index is the team's to rebuild, the document was not removed
        assert (broken.status_code, broken.headers["retry-after"]) == (503, "60")
        assert html.escape(UNAVAILABLE) in broken.text and "introuvable" not in broken.text
        assert _poleqa_lines(caplog) == [
            "the index cannot serve documents: chunks.jsonl does not match the manifest"
        ]
        caplog.clear()
        pipeline.failure = ValueError("a bug")
        failed = httpx.get(url + "document", params={"source": INFO.source})
        assert failed.status_code == 500 and '<html lang="fr">' in failed.text
        assert html.escape(GENERIC_ERROR) in failed.text
        assert _poleqa_lines(caplog) == [f"unexpected error showing document {INFO.source!r}"]
        assert caplog.records[-1].exc_info is not None  # the traceback is in the log
