"""What a visitor without a staff session learns of the staff area over HTTP (a real server, fake
pipeline): its login page, Gradio's config, info and schema routes describe no staff endpoint
and name no document; a logged-in staff member still gets the whole staff API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from webfake import INFO, FakePipeline, logged_in, serving

from poleqa.types import DocumentInfo
from poleqa.web import create_app
from poleqa.web.login_page import NO_API_INFO, without_api_info
from poleqa.web.sessions import LOGIN_TITLE

PASSWORD = "un mot de passe d'équipe"
# A document only the staff's « Vérifier » lists: its name and title are what must not leak.
SECRET = DocumentInfo(
    source="interne/note-xq7-confidentielle.txt", title="Note interne Zorglub", date="2024-02-01"
)
STAFF_ENDPOINTS = (
    "verify",
    "evaluate",
    "reindex",
    "feedback_export",
    "add_document",
    "withdraw_document",
)
# What would betray the staff API or its documents, in any page or JSON an anonymous client gets:
# an endpoint's name as JSON says it (`"/verify"` in the description, `"verify"` in the config),
# the second document's name or title, a label of the staff page.
STAFF_WORDS = (
    *(f'"{prefix}{name}"' for name in STAFF_ENDPOINTS for prefix in ("", "/")),
    "xq7",
    "Zorglub",
    "Documents (tous si vide)",
)
EMPTY_API = json.loads(NO_API_INFO)


class TwoDocuments(FakePipeline):
    """The fake pipeline with a second document, named only in the staff's document list."""

    def sources(self) -> list[DocumentInfo]:
        return [INFO, SECRET]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("anonymous")
    # a document of the corpus folder « Retirer » lists, named only there
    (folder / "corpus" / "interne").mkdir(parents=True)
    (folder / "corpus" / "interne" / "xq7-brouillon.md").write_text("Brouillon.\n", "utf-8")
    app = create_app(
        TwoDocuments(), folder / "data", staff_password=PASSWORD, corpus_dir=folder / "corpus"
    )
    with serving(app) as served:
        yield served


def _login(url: str) -> httpx.Client:
    return logged_in(url, PASSWORD)


def _api_info(page: str) -> dict:
    """The API description Gradio's page embeds (`window.gradio_api_info`)."""
    found = re.search(r"window\.gradio_api_info\s*=\s*(.*?);?\s*</script>", page, re.DOTALL)
    assert found, "no API description in the page"
    return json.loads(found[1])


def _leaks(text: str) -> list[str]:
    return [word for word in STAFF_WORDS if word.lower() in text.lower()]


@pytest.mark.parametrize("query", ["", "?all_endpoints=true", "?view=api", "?page=x&deep_link=y"])
def test_the_login_page_describes_no_staff_endpoint_nor_document(url: str, query: str) -> None:
    page = httpx.get(url + "equipe/" + query)
    assert page.status_code == 200 and '"auth_required":true' in page.text  # the login page
    assert LOGIN_TITLE in page.text  # with its French title and script still
    assert _api_info(page.text) == EMPTY_API
    assert _leaks(page.text) == []
    assert int(page.headers["content-length"]) == len(page.content)
    # HEAD announces the length a GET receives (it said Gradio's page's, before changes)
    head = httpx.head(url + "equipe/" + query)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(page.content)


@pytest.mark.parametrize(
    "path",
    [
        "equipe/config",
        "equipe/config/",
        "equipe/gradio_api/info",
        "equipe/gradio_api/info?all_endpoints=true",
        "equipe/gradio_api/openapi.json",
        "equipe/openapi.json",
        "equipe/gradio_api/runs",
        "equipe/gradio_api/deep_link?session_hash=abc",
        "equipe/gradio_api/queue/status",
        "equipe/gradio_api/app_id",
        "equipe/gradio_api/user",
        "equipe/gradio_api/token",
        "equipe/manifest.json",
        "equipe/gradio_api/file=x",
        # the public chat's, which an anonymous client may read: nothing of the staff's in them
        "",
        "config",
        "gradio_api/info",
        "gradio_api/info?all_endpoints=true",
        "gradio_api/openapi.json",
        "openapi.json",
    ],
)
def test_gradio_routes_tell_an_anonymous_client_nothing_of_the_staff_area(
    url: str, path: str
) -> None:
    got, head = httpx.get(url + path), httpx.head(url + path)
    for r in (got, head):
        assert r.status_code < 500, (r.request.method, path)
        assert _leaks(r.text) == [], (r.request.method, path, r.text[:300])
    if head.status_code == 200:  # the pages: the length a GET receives
        assert int(head.headers["content-length"]) == len(got.content), path
    # Gradio's descriptions of the staff API ask for the login; FastAPI's schema is not served
    if path.startswith("equipe/") and any(k in path for k in ("config", "info", "openapi")):
        assert got.status_code in (401, 404), path


def test_a_forged_or_ended_session_gets_the_login_page_without_the_api(url: str) -> None:
    staff = _login(url)
    assert staff.get("equipe/logout").status_code == 302
    forged = {"access-token-unsecure-x": "y", "access-token-x": "y"}
    for client in (staff, httpx.Client(base_url=url, cookies=forged)):
        page = client.get("equipe/")
        assert '"auth_required":true' in page.text and _api_info(page.text) == EMPTY_API
        assert _leaks(page.text) == []


def test_a_logged_in_staff_member_still_gets_the_staff_api(url: str) -> None:
    from gradio_client import Client

    staff = _login(url)
    page = staff.get("equipe/")
    assert page.status_code == 200 and '"auth_required"' not in page.text
    assert int(page.headers["content-length"]) == len(page.content)
    assert int(staff.head("equipe/").headers["content-length"]) == len(page.content)
    described = _api_info(page.text)["named_endpoints"]
    assert {f"/{name}" for name in STAFF_ENDPOINTS} <= set(described)
    assert SECRET.source in json.dumps(described["/verify"], ensure_ascii=False)
    info = staff.get("equipe/gradio_api/info")
    assert info.status_code == 200 and "/verify" in info.json()["named_endpoints"]
    assert SECRET.title in staff.get("equipe/config").text
    # the API client, which logs in and reads the description, still works
    client = Client(url + "equipe/", auth=("equipe", PASSWORD), verbose=False)
    assert "<table" in client.predict("pôles", [INFO.source], "", "", 5, api_name="/verify")


def test_a_page_whose_description_cannot_be_taken_out_is_not_sent() -> None:
    page = b'<script>window.gradio_api_info = {"named_endpoints": {"/verify": {}}};</script>'
    emptied = without_api_info(page)
    assert emptied == b"<script>window.gradio_api_info = " + NO_API_INFO + b";</script>"
    assert without_api_info(b"<html>no description</html>") == b"<html>no description</html>"
    # in a form not recognised, or compressed: refused rather than sent as it is
    assert without_api_info(page + b"<script>gradio_api_info={}</script>") is None
    assert without_api_info(page, compressed=True) is None
