"""Re-indexing a running server with the real model: from the staff area's « Réindexer », and
by `poleqa index` in another process while questions keep coming."""

from __future__ import annotations

import subprocess
import sys
import threading
from html import unescape
from pathlib import Path

import httpx
import pytest
from webserver import SEED_QUESTION, Server, ask_http, staff_client

pytestmark = pytest.mark.slow


def test_staff_reindex_serves_a_new_document(web_server: Server) -> None:
    (web_server.corpus / "zz_equipe.md").write_text(
        "# Le pôle Noroît\nDate: 2025-09-01\n\n"
        "Le pôle Noroît, consacré à l'éolien en mer, a son siège à Cherbourg.\n",
        encoding="utf-8",
    )
    shown = staff_client(web_server).predict(api_name="/reindex")
    assert 'class="pq-message pq-ok"' in shown, shown
    assert "ajoutés &#58; 1," in shown, shown  # the summary counts the new document
    with httpx.Client(timeout=120) as client:
        html = ask_http(client, web_server.url, "Où se trouve le siège du pôle Noroît ?")
    assert '<mark class="pq-short">Cherbourg' in html
    assert "zz_equipe.md" in html  # cited


def test_a_document_added_by_the_staff_is_answered_after_reindexing(
    web_server: Server, tmp_path: Path
) -> None:
    from gradio_client import handle_file

    sent = tmp_path / "fiche-mistral.md"
    sent.write_text(
        "# Fiche\n\nLe pôle Mistral, consacré au vent, a son siège à Arles.\n", encoding="utf-8"
    )
    staff = staff_client(web_server)
    said = staff.predict(
        handle_file(str(sent)), "Le pôle Mistral", "2025-10", "", api_name="/add_document"
    )
    assert 'class="pq-message pq-ok"' in said, said
    assert (web_server.corpus / "fiche-mistral.md").read_bytes() == sent.read_bytes()
    again = staff.predict(handle_file(str(sent)), "", "", "", api_name="/add_document")
    assert "est déjà dans le corpus" in again  # never over a document
    assert "ajoutés &#58; 1," in staff.predict(api_name="/reindex")
    with httpx.Client(timeout=120) as client:
        html = ask_http(client, web_server.url, "Où se trouve le siège du pôle Mistral ?")
    assert '<mark class="pq-short">Arles' in html
    assert "Le pôle Mistral" in html and "10/2025" in html  # its title and date, as given
    # taken out again: kept aside, and once re-indexed, no longer cited
    said = staff.predict("fiche-mistral.md", api_name="/withdraw_document")
    assert "« fiche-mistral.md » retiré du corpus" in unescape(said), said
    assert not (web_server.corpus / "fiche-mistral.md").exists()
    assert [p.name for p in (web_server.corpus / ".retires").rglob("fiche-mistral.md*")] == [
        "fiche-mistral.md",
        "fiche-mistral.md.meta.json",
    ]
    assert "retirés &#58; 1" in staff.predict(api_name="/reindex")
    with httpx.Client(timeout=120) as client:
        html = ask_http(client, web_server.url, "Où se trouve le siège du pôle Mistral ?")
    assert "fiche-mistral.md" not in html


def test_reindex_in_another_process_swaps_while_serving(web_server: Server) -> None:
    """`poleqa index` run beside the server: questions keep being answered, then see the change."""
    assert web_server.index is not None and web_server.env is not None
    (web_server.corpus / "zz_nouveau.md").write_text(
        "# Le pôle Zéphyr\nDate: 2025-06-01\n\nLe pôle Zéphyr compte 77 adhérents en Corse.\n",
        encoding="utf-8",
    )
    answers: list[str] = []
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                answers.append(ask_http(client, web_server.url, SEED_QUESTION))

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        code = "from poleqa.cli import main; main()"
        args = [sys.executable, "-c", code, "index", "--corpus", str(web_server.corpus)]
        args += ["--index", str(web_server.index)]
        done = subprocess.run(args, env=web_server.env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        stop.set()
        asker.join(timeout=120)
    assert answers and all("pq-answer" in a for a in answers), answers[-1:]
    with httpx.Client(timeout=120) as client:
        html = ask_http(client, web_server.url, "Combien d'adhérents compte le pôle Zéphyr ?")
    assert '<mark class="pq-short">77' in html
