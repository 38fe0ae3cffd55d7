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
