"""The real web server (uvicorn, Gradio, fake pipeline): public API, staff login, limits, 400s."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from webfake import INFO, SENT_END, SENT_START, FakePipeline, Site, fake_site, serving

from poleqa.feedback import FeedbackStore
from poleqa.types import Document
from poleqa.web import create_app
from poleqa.web.documents import CHANGED, NO_SUCH_PASSAGE
from poleqa.web.render import document_url

PASSWORD = "un mot de passe d'équipe"
PUBLIC_ENDPOINTS = {"/ask", "/new_conversation", "/feedback_up", "/feedback_down"}
STAFF_ENDPOINTS = {"/verify", "/evaluate", "/reindex", "/feedback_export"}
FEEDBACK_PER_MINUTE = 3


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("web") / "data"
    with fake_site(data, staff_password=PASSWORD, feedback_per_minute=FEEDBACK_PER_MINUTE) as s:
        yield s


def _client(url: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(url, verbose=False, **kwargs)


def _staff(site: Site):  # type: ignore[no-untyped-def]
    return _client(site.url + "equipe/", auth=("equipe", PASSWORD))


def _poleqa_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("poleqa")]


def test_public_api_offers_asking_and_feedback_only(site: Site) -> None:
    api = _client(site.url).view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == PUBLIC_ENDPOINTS
    assert api["unnamed_endpoints"] == {}
    # Not even as hidden events: the page's config holds no staff function at all.
    config = httpx.get(site.url + "config").json()
    names = {d.get("api_name") for d in config["dependencies"]}
    assert not names & {"verify", "evaluate", "reindex", "feedback_export"}
    # no footer for citizens: its « Utiliser via API » led to Gradio's English API page
    assert config["footer_links"] == []
    called = httpx.post(site.url + "gradio_api/call/verify", json={"data": ["pôles"]})
    assert called.status_code == 404


def test_staff_area_needs_the_password(site: Site) -> None:
    assert httpx.get(site.url + "equipe/config").status_code == 401
    # a well-formed call (a malformed one is refused as malformed before any password check)
    verify = {"data": ["pôles", [], "", "", 5]}
    assert httpx.post(site.url + "equipe/gradio_api/call/verify", json=verify).status_code == 401
    for user, password in (("equipe", "mauvais mot de passe"), ("admin", PASSWORD)):
        login = httpx.post(site.url + "equipe/login", data={"username": user, "password": password})
        assert login.status_code == 400
        assert "access-token" not in login.headers.get("set-cookie", "")
    with pytest.raises(ValueError, match="Could not login"):
        _client(site.url + "equipe/", auth=("equipe", "mauvais mot de passe"))
    bare = httpx.get(site.url + "equipe")
    assert bare.status_code in (302, 307) and bare.headers["location"] == "equipe/"
    api = _staff(site).view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == STAFF_ENDPOINTS


def test_staff_api_refuses_bad_input_in_french(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="poleqa")
    staff = _staff(site)
    cases = [
        (("pôles", [], "", "", 10000), "Le nombre de passages doit être un nombre entier entre 1"),
        (("pôles", ["inconnu.txt"], "", "", 5), "Document inconnu &#58; « inconnu.txt »."),
        (("pôles", [], "2023-13-45", "", 5), "Date « 2023&#45;13&#45;45 » impossible"),
        ((["pôles"], [], "", "", 5), "La requête doit être un texte."),
    ]
    for args, message in cases:
        caplog.clear()
        html = staff.predict(*args, api_name="/verify")
        assert html.startswith('<div class="pq-message pq-error">') and message in html
        assert len(_poleqa_lines(caplog)) == 1, _poleqa_lines(caplog)
        assert "Traceback" not in caplog.text
    good = staff.predict("pôles", [INFO.source], "2023", "", 5, api_name="/verify")
    assert "<table" in good and 'href="../document?source=' in good

    # An API call may name any file of the server as the question set: refused.
    outside = tmp_path / "questions.jsonl"
    outside.write_text('{"id": "q", "question": "Combien ?"}\n', encoding="utf-8")
    with httpx.Client(base_url=site.url) as http:
        login = http.post("equipe/login", data={"username": "equipe", "password": PASSWORD})
        assert login.status_code == 200
        upload = {"path": str(outside), "meta": {"_type": "gradio.FileData"}}
        call = http.post("equipe/gradio_api/call/evaluate", json={"data": [upload, 5]})
        assert call.status_code == 400
        assert call.json() == {"detail": "Seuls les fichiers déposés sont acceptés."}
        # names no system call takes, sent before any login: a refusal, not a server error
        anonymous = httpx.Client(base_url=site.url)
        for name in ("a\u0000b", "x" * 5000):
            record = {"path": name, "meta": {"_type": "gradio.FileData"}}
            call = anonymous.post("equipe/gradio_api/call/evaluate", json={"data": [record, 5]})
            assert call.status_code in (400, 401), call.text
            assert "Traceback" not in call.text and "Internal" not in call.text


def test_crafted_api_calls_get_a_french_refusal_not_a_traceback(
    site: Site, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.WARNING, logger="poleqa")
    secret = {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}
    join = {"data": ["x"], "fn_index": 999, "session_hash": "s", "trigger_id": None}
    calls = [
        ("gradio_api/call/ask", {"json": {"data": [secret]}}, 400, "aucun fichier"),
        ("gradio_api/queue/join", {"json": join}, 400, "Point d'accès inconnu."),
        ("gradio_api/call/reindex", {"json": {"data": []}}, 404, "« reindex »"),
        ("gradio_api/call/ask", {"content": b"{pas du json"}, 400, "objet JSON"),
        ("gradio_api/call/ask", {"content": b"[" * 2_000_000}, 413, "trop volumineuse"),
    ]
    for path, body, status, message in calls:
        caplog.clear()
        r = httpx.post(site.url + path, headers={"content-type": "application/json"}, **body)
        assert (r.status_code, message in r.json()["detail"]) == (status, True), path
        assert len(_poleqa_lines(caplog)) == 1
    assert "Traceback" not in capfd.readouterr().err


def test_public_ask_refuses_a_non_string_question(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="poleqa")
    box, messages, status = _client(site.url).predict(42, api_name="/ask")
    assert (box, messages) == ("", [])
    assert status == '<div class="pq-message pq-error">La question doit être un texte.</div>'
    assert len(_poleqa_lines(caplog)) == 1


def test_feedback_is_capped_and_rate_limited(site: Site) -> None:
    # The only test sending feedback to this server: the allowance is FEEDBACK_PER_MINUTE.
    client = _client(site.url)
    client.predict("Combien de pôles ?", api_name="/ask")
    status, comment = client.predict("x" * 2001, api_name="/feedback_up")
    assert "Le commentaire est trop long &#40;2 001 caractères ; 2 000 au plus&#41;" in status
    assert comment == "x" * 2001  # kept, to be shortened
    status, _ = client.predict(["pas", "un texte"], api_name="/feedback_down")
    assert "Le commentaire doit être un texte." in status
    status, comment = client.predict("Très clair", api_name="/feedback_up")
    assert "Merci" in status and comment == ""
    status, comment = client.predict("Encore", api_name="/feedback_down")
    assert "Trop d&#x27;avis envoyés en peu de temps" in status and comment == "Encore"
    records = FeedbackStore(site.data).records()
    assert [(r.rating, r.comment) for r in records] == [("up", "Très clair")]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?start=10&end=20",
        "?source=",
        f"?source={'x' * 1001}",
        "?source=a.txt&start=-1&end=5",
        "?source=a.txt&start=abc&end=5",
        "?source=a.txt&start=5",
        "?source=a.txt&start=1e3&end=2000",
        "?source=a.txt&start=1&end=5&v=pas-un-hash",
    ],
)
def test_document_with_bad_parameters_is_a_french_400_page(site: Site, query: str) -> None:
    r = httpx.get(site.url + "document" + query)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in r.text and "Lien non valable" in r.text
    assert "script-src" not in r.headers["content-security-policy"]


def test_a_shared_link_previews_poleqa_in_french_not_gradio(site: Site) -> None:
    page = httpx.get(site.url)
    assert page.status_code == 200 and int(page.headers["content-length"]) == len(page.content)
    previews = re.findall(r'<meta\s+(?:property="og:|name="twitter:)[^>]*>', page.text)
    assert previews == [
        '<meta property="og:type" content="website" />',
        '<meta property="og:title" content="poleqa — pôles de compétitivité" />',
        '<meta property="og:description" content="Questions sur les pôles de compétitivité : '
        'la réponse est recopiée des documents officiels, avec ses sources numérotées." />',
    ]
    assert "Click to try out" not in page.text and "@Gradio" not in page.text


def test_an_unknown_address_gets_a_french_page_in_a_browser(site: Site) -> None:
    html_first = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what browsers send
    page = httpx.get(site.url + "nulle-part", headers=html_first)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page.text and "Page introuvable" in page.text
    assert int(page.headers["content-length"]) == len(page.content)
    api = httpx.get(site.url + "nulle-part")  # an API client: Gradio's JSON, as it was
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    # poleqa's own 404s keep their own words
    missing = httpx.get(site.url + "document", params={"source": "x"}, headers=html_first)
    assert missing.status_code == 404 and "Document introuvable" in missing.text


def test_document_known_and_unknown(site: Site) -> None:
    span = {"start": SENT_START, "end": SENT_END}
    ok = httpx.get(site.url + "document", params={"source": INFO.source, **span})
    assert ok.status_code == 200 and '<mark id="passage">' in ok.text
    # its policy allows no script: the one that tells Gradio's pages French is not put there
    assert "<script" not in ok.text
    assert "navigator" in httpx.get(site.url).text  # (it is in Gradio's)
    missing = httpx.get(site.url + "document", params={"source": "../../etc/passwd"})
    assert missing.status_code == 404 and "Document introuvable" in missing.text
    # a span no link of the app carries (beyond the text, or ending before it starts): the
    # whole document, said so, instead of a page marking nothing without a word
    for start, end in ((900_000, 900_010), (50, 10), (5, 5)):
        odd = httpx.get(
            site.url + "document", params={"source": INFO.source, "start": start, "end": end}
        )
        assert odd.status_code == 200 and '<mark id="passage">' not in odd.text
        assert html.escape(NO_SUCH_PASSAGE) in odd.text


class EditedPipeline(FakePipeline):
    """The fake pipeline whose document has a content hash (as every indexed one has)."""

    def document(self, source: str) -> Document:
        doc = super().document(source)
        return replace(doc, info=replace(doc.info, content_hash="abcdef0123456789" * 4))


def test_a_link_to_a_span_of_a_document_changed_since_marks_nothing(tmp_path: Path) -> None:
    # offsets hold for the text the answer was read from: a re-indexed, edited file would
    # have other text there
    span = {"source": INFO.source, "start": SENT_START, "end": SENT_END}
    assert document_url(INFO.source, SENT_START, SENT_END, content_hash="abcdef0123456789" * 4) == (
        f"document?{urlencode(span)}&v=abcdef012345#passage"
    )
    with serving(create_app(EditedPipeline(), tmp_path / "data")) as url:
        same = httpx.get(url + "document", params={**span, "v": "abcdef012345"})
        assert '<mark id="passage">' in same.text and CHANGED not in same.text
        edited = httpx.get(url + "document", params={**span, "v": "0123456789ab"})
        assert edited.status_code == 200
        assert '<mark id="passage">' not in edited.text
        assert html.escape(CHANGED) in edited.text  # the whole document, said to have changed


def test_without_password_the_staff_area_explains_how_to_turn_it_on(tmp_path: Path) -> None:
    with serving(create_app(FakePipeline(), tmp_path / "data")) as url:
        for path in ("equipe", "equipe/", "equipe/config", "equipe/login"):
            r = httpx.get(url + path)
            assert r.status_code == 404, path
            assert '<html lang="fr">' in r.text and "POLEQA_STAFF_PASSWORD" in r.text
            # the login's user name is not told to anyone
            assert "identifiant" not in r.text and "« equipe »" not in r.text
        assert httpx.post(url + "equipe/login", data={"username": "equipe"}).status_code == 404
        api = _client(url).view_api(return_format="dict", print_info=False)
        assert set(api["named_endpoints"]) == PUBLIC_ENDPOINTS


def test_failed_logins_are_throttled_per_address(tmp_path: Path) -> None:
    # A server of its own: after this test, 127.0.0.1 may not log in for a minute.
    with serving(create_app(FakePipeline(), tmp_path / "data", staff_password=PASSWORD)) as url:
        wrong = {"username": "equipe", "password": "devine"}
        codes = [httpx.post(url + "equipe/login", data=wrong).status_code for _ in range(6)]
        assert codes == [400] * 5 + [429]
        right = httpx.post(url + "equipe/login", data={"username": "equipe", "password": PASSWORD})
        assert right.status_code == 429
        assert right.json() == {
            "detail": "Trop de tentatives de connexion : réessayez dans une minute."
        }


def test_logins_sent_together_cannot_outrun_the_throttle(tmp_path: Path) -> None:
    # each attempt is counted before its password is hashed: 20 at once get 5 tries, not 20
    with serving(create_app(FakePipeline(), tmp_path / "data", staff_password=PASSWORD)) as url:
        wrong = {"username": "equipe", "password": "devine"}
        with ThreadPoolExecutor(20) as pool:
            codes = sorted(
                pool.map(
                    lambda _: httpx.post(url + "equipe/login", data=wrong, timeout=60).status_code,
                    range(20),
                )
            )
        assert codes == [400] * 5 + [429] * 15


def test_a_right_login_gives_its_attempt_back(tmp_path: Path) -> None:
    with serving(create_app(FakePipeline(), tmp_path / "data", staff_password=PASSWORD)) as url:
        right = {"username": "equipe", "password": PASSWORD}
        wrong = {"username": "equipe", "password": "devine"}
        assert [httpx.post(url + "equipe/login", data=right).status_code for _ in range(6)] == [
            200
        ] * 6
        codes = [httpx.post(url + "equipe/login", data=wrong).status_code for _ in range(6)]
        assert codes == [400] * 5 + [429]


def test_a_short_staff_password_is_refused(tmp_path: Path) -> None:
    from poleqa.errors import PoleqaError
    from poleqa.web import check_staff_password

    with pytest.raises(PoleqaError, match="10 to 1024 characters"):
        create_app(FakePipeline(), tmp_path / "data", staff_password="court")
    with pytest.raises(PoleqaError, match="POLEQA_STAFF_PASSWORD"):
        check_staff_password("court")
    check_staff_password(None)
    check_staff_password(PASSWORD)


def _opinion(url: str, address: str) -> str:
    """The status of one 👍 sent with `X-Forwarded-For: address`."""
    client = _client(url, headers={"X-Forwarded-For": address})
    client.predict("Combien de pôles ?", api_name="/ask")
    status, _ = client.predict("", api_name="/feedback_up")
    return status


def test_behind_a_trusted_proxy_each_citizen_has_their_own_allowance(tmp_path: Path) -> None:
    # FORWARDED_ALLOW_IPS names the proxy (docs/deployment.md): the limit then keys on each
    # citizen's address, not the proxy's
    app = create_app(FakePipeline(), tmp_path / "data", feedback_per_minute=1)
    with serving(app, trusted_proxies="127.0.0.1") as url:
        assert "Merci" in _opinion(url, "203.0.113.7")
        assert "Merci" in _opinion(url, "203.0.113.8")  # another citizen: their own allowance
        assert "Trop d&#x27;avis" in _opinion(url, "203.0.113.7")  # the first one's is used up
    assert len(FeedbackStore(tmp_path / "data").records()) == 2


def test_a_client_cannot_choose_its_address_when_no_proxy_is_trusted(tmp_path: Path) -> None:
    # uvicorn alone would believe X-Forwarded-For from 127.0.0.1: a proxy on the same host that
    # passes the client's header through let each request pick a fresh allowance
    app = create_app(FakePipeline(), tmp_path / "data", feedback_per_minute=1)
    with serving(app) as url:
        assert "Merci" in _opinion(url, "203.0.113.7")
        assert "Trop d&#x27;avis" in _opinion(url, "203.0.113.8")  # the same client after all
    assert len(FeedbackStore(tmp_path / "data").records()) == 1
