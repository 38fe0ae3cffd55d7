"""The staff area's API on the real web server (uvicorn, Gradio, fake pipeline): « Évaluer »
called by name (`call/v2/`), its file argument refused in French unless it is an uploaded
file."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from webfake import FakePipeline, logged_in, serving

from poleqa.web import create_app
from poleqa.web.middleware import FILE_RECORD
from poleqa.web.origins import CROSS_SITE

PASSWORD = "un mot de passe d'équipe"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    uploads = tmp_path_factory.mktemp("uploads")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GRADIO_TEMP_DIR", str(uploads))  # read by Gradio when the app is built
        app = create_app(FakePipeline(), uploads.parent / "data", staff_password=PASSWORD)
        with serving(app) as served:
            yield served


def _login(url: str) -> httpx.Client:
    return logged_in(url, PASSWORD)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("questions.jsonl", "un texte"),
        (12, "un nombre"),
        (["questions.jsonl"], "une liste"),
        ({"path": "/etc/passwd"}, "un objet qui ne décrit pas un fichier déposé"),
    ],
)
def test_a_file_argument_named_in_call_v2_given_anything_else_gets_a_french_400(
    url: str, caplog: pytest.LogCaptureFixture, value: object, kind: str
) -> None:
    # call/v2/ skipped the check of the file inputs: Gradio answered a file's name with
    # pydantic's English (« 1 validation error for FileData… ») before StaffApp.evaluate ran
    caplog.set_level(logging.WARNING, logger="poleqa")
    r = _login(url).post("equipe/gradio_api/call/v2/evaluate", json={"upload": value, "k": 5})
    said = f"Requête illisible : « upload » doit être un fichier déposé ({FILE_RECORD}), "
    said += f"pas {kind}."
    assert (r.status_code, r.json()) == (400, {"detail": said})
    assert len([r for r in caplog.records if r.name.startswith("poleqa")]) == 1


def _v2_result(client: httpx.Client, name: str, body: dict[str, Any]) -> tuple[str, Any]:
    """(The event, its data) that ends a call/v2/ call on the staff mount."""
    r = client.post(f"equipe/gradio_api/call/v2/{name}", json=body)
    assert r.status_code == 200, r.text
    stream = client.get(f"equipe/gradio_api/call/v2/{name}/{r.json()['event_id']}").text
    event, data = re.findall(r"^event: (\w+)\ndata: (.*)$", stream, re.M)[-1]
    return event, json.loads(data)


def test_call_v2_evaluates_an_uploaded_file_and_says_when_none_is_given(url: str) -> None:
    staff = _login(url)
    assert staff.get("equipe/config").json()["footer_links"] == ["api"]  # their scripts use it
    row = {"id": "q1", "question": "Combien de pôles ?", "answers": ["38"], "sources": []}
    content = json.dumps(row | {"answerable": True}).encode() + b"\n"
    upload = staff.post("equipe/gradio_api/upload", files={"files": ("q.jsonl", content)})
    record = {"path": upload.json()[0], "meta": {"_type": "gradio.FileData"}}
    event, (metrics, _, reports) = _v2_result(staff, "evaluate", {"upload": record, "k": 5})
    assert event == "complete" and "Exactitude des réponses" in html.unescape(metrics)
    assert reports and any(Path(f["path"]).name == "report.json" for f in reports)
    event, (message, _, reports) = _v2_result(staff, "evaluate", {"upload": None, "k": 5})
    assert event == "complete" and reports is None
    assert "Choisissez d&#x27;abord un fichier de questions." in message
    # the folder of an upload is no upload (Gradio's clean-up of old files failed on it)
    folder = {"path": str(Path(upload.json()[0]).parent), "meta": {"_type": "gradio.FileData"}}
    refused = staff.post("equipe/gradio_api/call/v2/evaluate", json={"upload": folder, "k": 5})
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Seuls les fichiers déposés sont acceptés."}


def test_another_sites_pages_cannot_use_the_staff_area(url: str) -> None:
    # Gradio's CORS layer granted any origin, with the staff's cookie (SameSite=None), on any
    # host but localhost: a page of another site called « Vérifier » and read the passages
    client = httpx.Client(base_url=url)
    login = client.post("equipe/login", data={"username": "equipe", "password": PASSWORD})
    cookies = login.headers.get_list("set-cookie")
    assert cookies and all("samesite=lax" in c.lower() for c in cookies), cookies
    call = "equipe/gradio_api/call/verify"
    body = {"data": ["pôles", [], "", "", 1]}
    host = {"Host": "poleqa.agence.example.fr"}
    another = {"Origin": "https://ailleurs.example", **host}
    for headers in (
        {**another, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
        {**another, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"},
        another,  # a browser that does not say where the request comes from
        {**host, "Origin": "null"},
    ):
        refused = client.post(call, json=body, headers=headers)
        assert refused.status_code == 403, headers
        assert refused.json() == {"detail": CROSS_SITE}
        assert not any(h.startswith("access-control-") for h in refused.headers)
    preflight = client.options(call, headers={**another, "Sec-Fetch-Site": "cross-site"})
    assert preflight.status_code == 403
    # its own pages, and a link followed from elsewhere (a visit), are answered
    own = {"Origin": "https://poleqa.agence.example.fr", **host, "Sec-Fetch-Site": "same-origin"}
    answered = client.post(call, json=body, headers=own)
    assert answered.status_code == 200 and "event_id" in answered.json()
    assert not any(h.startswith("access-control-") for h in answered.headers)
    visit = {**host, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert client.get("equipe/", headers=visit).status_code == 200
    # the public chat is no one's session: other sites may call its API
    public = httpx.post(
        url + "gradio_api/call/ask",
        json={"data": ["Combien ?", None]},
        headers={**another, "Sec-Fetch-Site": "cross-site"},
    )
    assert public.status_code == 200
