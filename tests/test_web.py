"""Web chat: escaped rendering and handlers (fake pipeline), then the real server via its API."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from webfake import INFO, SENT_END, SENT_START, TEXT, FakePipeline
from webserver import FOLLOW_UP, SEED_QUESTION, Server, message_text, staff_client

from poleqa.errors import IndexCorruptedError, PoleqaError, QuestionError
from poleqa.feedback import FeedbackStore
from poleqa.query import validate_question
from poleqa.types import Document, Turn
from poleqa.web import render
from poleqa.web.app import ChatApp, IndexWatcher, Session

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def chat(tmp_path: Path) -> ChatApp:
    return ChatApp(FakePipeline(), FeedbackStore(tmp_path / "data"))


def test_esc_makes_html_and_markdown_inert() -> None:
    assert render.esc("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert render.esc("a *b* _c_ [d](e)") == "a &#42;b&#42; &#95;c&#95; &#91;d&#93;&#40;e&#41;"
    assert render.esc('l\'État & "Cie"') == "l&#x27;État &amp; &quot;Cie&quot;"
    assert render.esc("un\n\n  deux\r\ntrois") == "un<br>deux<br>trois"
    assert render.french_date("2023-03-30") == "30/03/2023"
    counts = [render.count_fr(n, "document") for n in (0, 1, 2)]
    assert counts == ["0 document", "1 document", "2 documents"]
    assert render.french_date("2023-03") == "03/2023"


def test_document_page_escapes_and_marks_span() -> None:
    page = render.document_page(Document(INFO, TEXT), SENT_START, SENT_END)
    assert "<script>window" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert f'<mark id="passage">{TEXT[SENT_START:SENT_END]}</mark>' in page
    assert "<title>Pôles &lt;b&gt;AURA&lt;/b&gt;</title>" in page
    # Out-of-range offsets are clipped, reversed ones ignored.
    assert '<mark id="passage">Fin *du* _texte_.</mark>' in render.document_page(
        Document(INFO, TEXT), TEXT.index("Fin"), 10**9
    )
    assert "<mark" not in render.document_page(Document(INFO, TEXT), 50, 10)
    # The metadata header (title line) is not repeated in the body, unless it is cited.
    with_header = Document(INFO, TEXT, body_start=SENT_START)
    assert '<div class="text"><mark id="passage">Le 12 février' in render.document_page(
        with_header, SENT_START, SENT_END
    )
    header_cited = render.document_page(with_header, 0, 5)
    assert (
        '<div class="text"><mark id="passage">Les p</mark>ôles &lt;labellisés&gt;' in header_cited
    )


def test_chat_follow_up_passes_history_and_new_conversation_resets(chat: ChatApp) -> None:
    pipeline = chat.pipeline
    assert isinstance(pipeline, FakePipeline)
    box, messages, session, status = chat.ask("Combien de pôles ?", Session())
    assert box == status == ""
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == '<div class="pq-question">Combien de pôles ?</div>'
    _, messages, session, _ = chat.ask("Et en Bretagne ?", session)
    assert len(messages) == 4
    answer_text = TEXT[SENT_START:SENT_END]
    assert pipeline.histories == [(), (Turn("Combien de pôles ?", answer_text),)]
    assert chat.new_conversation(session) == ("", [], session, "", "")
    assert (session.exchanges, session.history()) == ([], ())  # emptied in place


def test_the_question_bubble_drops_control_characters() -> None:
    # « \x00\x01 » typed or sent through the API showed as boxes in the user's bubble
    assert render.question_html("Combien\x00 de\x01 pôles ?\x7f") == (
        '<div class="pq-question">Combien de pôles ?</div>'
    )
    assert "(question vide)" in render.question_html("\x00\x1f")


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "La question est vide."),
        ("   ?!  ", "La question ne contient aucun mot."),
        ("x" * 2001, "La question est trop longue &#40;2 001 caractères ; 2 000 au plus&#41;."),
    ],
)
def test_bad_questions_get_a_french_message(chat: ChatApp, question: str, message: str) -> None:
    box, messages, session, _ = chat.ask(question, None)
    assert messages[-1]["content"] == f'<div class="pq-message pq-error">{message}</div>'
    # the user's bubble: a blank question is said to be empty, not an empty bubble
    assert ("(question vide)" in messages[-2]["content"]) == (not question.strip())
    assert box == question  # kept in the box, to be corrected (an answered one is emptied)
    assert session.exchanges[-1].answer is None
    assert session.history() == ()


@pytest.mark.parametrize(
    "question", ["有多少个竞争力集群？", "كم عدد الأقطاب؟", "Сколько кластеров?"]
)
def test_a_question_in_another_script_is_told_which_languages_are_read(
    chat: ChatApp, question: str
) -> None:
    # read as French, such questions were answered with whatever passage came first
    _, messages, _, _ = chat.ask(question, None)
    said = (
        "poleqa comprend les questions en français ou en anglais : reformulez-la dans l'une de "
        "ces langues."
    )
    assert messages[-1]["content"] == render.message_html(said)


def test_errors_become_messages_never_exceptions(chat: ChatApp) -> None:
    pipeline = chat.pipeline
    assert isinstance(pipeline, FakePipeline)
    pipeline.fail_with = PoleqaError("index broken", "L'index est cassé.")
    assert "L&#x27;index est cassé." in chat.ask("Combien ?", None)[1][-1]["content"]
    pipeline.fail_with = RuntimeError("boom")
    assert chat.ask("Combien ?", None)[1][-1]["content"] == render.message_html(
        render.GENERIC_ERROR
    )
    # an index error's French tells the team what to run: a citizen reads a plain message
    pipeline.fail_with = IndexCorruptedError("chunk_vectors.npy: checksum mismatch")
    shown = chat.ask("Combien ?", None)[1][-1]["content"]
    assert shown == render.message_html(render.UNAVAILABLE) and "poleqa" not in shown


def _event(data: object):  # type: ignore[no-untyped-def]
    import gradio as gr

    return gr.EventData(None, data)


def test_feedback_on_one_answer_stores_rating_then_comment(chat: ChatApp) -> None:
    _, _, session, _ = chat.ask("", Session())  # refused question: nothing to rate
    _, _, session, _ = chat.ask("Combien de pôles ?", session)
    _, _, session, _ = chat.ask("Et en Bretagne ?", session)
    first = session.exchanges[1]
    reply = json.loads(
        chat.rate_answer(session, _event({"answer": first.feedback_id, "rating": "up"}))
    )
    assert (reply["answer"], reply["kind"], reply["comment"]) == (first.feedback_id, "ok", False)
    assert reply["text"] == "Merci ! Votre avis a été enregistré."
    event = _event({"answer": first.feedback_id, "rating": "up", "comment": " Très clair "})
    again = json.loads(chat.rate_answer(session, event))
    assert (again["kind"], again["comment"]) == ("ok", True) and again["seq"] > reply["seq"]
    records = chat.store.records()
    assert [(r.rating, r.comment) for r in records] == [("up", ""), ("up", "Très clair")]
    assert records[0].id == records[1].id == first.feedback_id
    assert records[1].question == "Combien de pôles ?" and records[1].answer
    assert records[1].citations[0].source == INFO.source
    assert len(chat.store.latest()) == 1


@pytest.mark.parametrize(
    ("data", "kind", "text"),
    [
        ("pas un objet", "error", "Avis illisible."),
        ({"rating": "up"}, "error", "Avis illisible."),
        ({"answer": "inconnue", "rating": "up"}, "info", "Cette réponse n'est plus"),
        ({"answer": "KEY", "rating": "bof"}, "error", "Avis inconnu."),
        ({"answer": "KEY", "rating": "up", "comment": ["x"]}, "error", "Le commentaire doit"),
        ({"answer": "KEY", "rating": "up", "comment": "x" * 2001}, "error", "trop long"),
    ],
)
def test_feedback_on_one_answer_refuses_bad_events_in_french(
    chat: ChatApp, data: object, kind: str, text: str
) -> None:
    _, _, session, _ = chat.ask("Combien de pôles ?", Session())
    if isinstance(data, dict) and data.get("answer") == "KEY":
        data = {**data, "answer": session.exchanges[0].feedback_id}
    reply = json.loads(chat.rate_answer(session, _event(data)))
    assert reply["kind"] == kind and text in reply["text"]
    assert chat.store.records() == []


def test_api_feedback_rates_the_last_answer(chat: ChatApp) -> None:
    status, _ = chat.rate_last("up", "", Session())
    assert "Aucune réponse à évaluer" in status
    _, _, session, _ = chat.ask("Combien de pôles ?", Session())
    _, _, session, _ = chat.ask("Et en Bretagne ?", session)
    status, comment = chat.rate_last("down", "Réponse incomplète", session)
    assert "Merci" in status and comment == ""
    status, comment = chat.rate_last("down", "x" * 2001, session)
    assert "trop long" in status and comment == "x" * 2001  # kept, to be shortened
    (record,) = chat.store.records()
    assert (record.rating, record.comment, record.question) == (
        "down",
        "Réponse incomplète",
        "Et en Bretagne ?",
    )
    assert record.id == session.exchanges[1].feedback_id


def test_answers_carry_their_key_and_the_index_version(tmp_path: Path) -> None:
    pointer = tmp_path / "CURRENT"
    pointer.write_text("gen-7\n", encoding="utf-8")
    pipeline = FakePipeline()
    chat = ChatApp(pipeline, FeedbackStore(tmp_path / "data"), IndexWatcher(pipeline, pointer))
    _, messages, session, _ = chat.ask("Combien de pôles ?", Session())
    exchange = session.exchanges[0]
    assert exchange.index_version == "gen-7"
    assert f'id="pq-a-{exchange.feedback_id}"' in messages[1]["content"]
    assert IndexWatcher(pipeline, None).version() == ""


def test_feedback_names_the_generation_that_answered_not_the_one_served_after(
    tmp_path: Path,
) -> None:
    pointer = tmp_path / "CURRENT"
    pointer.write_text("gen-2\n", encoding="utf-8")  # published while the question was read

    class Answered(FakePipeline):
        def ask(self, question, history=None, k=5, filters=None):  # type: ignore[no-untyped-def]
            return dataclasses.replace(super().ask(question, history, k, filters),
                                       index_version="gen-1")  # fmt: skip

    pipeline = Answered()
    chat = ChatApp(pipeline, FeedbackStore(tmp_path / "data"), IndexWatcher(pipeline, pointer))
    _, _, session, _ = chat.ask("Combien de pôles ?", Session())
    assert session.exchanges[0].index_version == "gen-1"


# -- the real server (tests/webserver.py; fixture `web_server` in conftest.py) ----------------


@pytest.mark.slow
def test_api_answers_seed_question_with_citations(web_server: Server) -> None:
    from gradio_client import Client

    client = Client(web_server.url, verbose=False)
    box, messages, _ = client.predict(SEED_QUESTION, api_name="/ask")
    assert box == ""
    assert [m["role"] for m in messages] == ["user", "assistant"]
    html = message_text(messages[1])
    # which figure is the quality sets' business; here the short answer is marked, and the
    # document page marks the span it came from
    short = html.split('<mark class="pq-short">', 1)[1].split("</mark>", 1)[0]
    assert short.strip()
    assert '<a class="pq-cite" href="#pq-c-' in html and ">[1]</a>" in html
    assert '<span class="pq-num">[1]</span>' in html
    assert 'href="document?source=' in html

    # The document page the citation links to marks the cited span.
    link = html.split('href="document?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    link = "document?" + link.split("#")[0]
    with urllib.request.urlopen(web_server.url + link, timeout=10) as r:
        page = r.read().decode("utf-8")
        assert "script-src" not in r.headers["Content-Security-Policy"]
    marked = page.split('<mark id="passage">', 1)[1].split("</mark>", 1)[0]
    assert short in marked

    # Follow-up in the same session: understood with the previous question.
    _, messages, _ = client.predict(FOLLOW_UP, api_name="/ask")
    assert len(messages) == 4
    resolved = (
        message_text(messages[3]).split('<div class="pq-resolved">', 1)[1].split("</div>", 1)[0]
    )
    assert resolved.startswith(render.esc("J'ai compris : « Combien de pôles de compétitivité "))
    assert "Auvergne&#45;Rhône&#45;Alpes" in resolved

    # Feedback on the last answer lands in the data folder.
    status, comment = client.predict("Très clair", api_name="/feedback_up")
    assert "Merci" in status and comment == ""
    records = FeedbackStore(web_server.data).records()
    assert records[-1].rating == "up"
    assert records[-1].comment == "Très clair"
    assert records[-1].question == FOLLOW_UP


@pytest.mark.slow
def test_api_bad_questions_and_unknown_document(web_server: Server) -> None:
    from gradio_client import Client

    client = Client(web_server.url, verbose=False)
    _, messages, _ = client.predict("", api_name="/ask")
    assert (
        message_text(messages[-1]) == '<div class="pq-message pq-error">La question est vide.</div>'
    )
    _, messages, _ = client.predict("é" * 2001, api_name="/ask")
    refusal = "La question est trop longue &#40;2 001 caractères ; 2 000 au plus&#41;."
    assert refusal in message_text(messages[-1])
    html = staff_client(web_server).predict("Hydrogène", [], "", "", 5, api_name="/verify")
    assert "zz_piege.md" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(web_server.url + "document?source=../../etc/passwd", timeout=10)
    assert e.value.code == 404


def test_question_error_is_a_poleqa_error() -> None:
    # The chat relies on validate_question raising QuestionError with a French message.
    with pytest.raises(QuestionError) as e:
        validate_question(" ", 2000)
    assert e.value.message_fr == "La question est vide."


@pytest.mark.slow
def test_api_evaluate_tab_returns_metrics_failures_and_reports(
    web_server: Server, tmp_path: Path
) -> None:
    import json

    from gradio_client import handle_file

    questions = tmp_path / "seed.jsonl"
    rows = [
        {
            "id": "s1",
            "question": SEED_QUESTION,
            "answers": ["55"],
            "sources": ["2023-03-30_auvergne-rhone-alpes-poles-labellises.txt"],
            "answerable": True,
            "type": "number",
        },
        {
            "id": "s2",
            "question": "Quel est le prix du ticket de métro à Tokyo en 1990 ?",
            "answers": [],
            "sources": [],
            "answerable": False,
            "type": "unanswerable",
        },
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    client = staff_client(web_server)
    metrics, failures, files = client.predict(handle_file(str(questions)), 5, api_name="/evaluate")
    assert '<code>n&#95;questions</code></td><td class="pq-value">2</td>' in metrics
    assert '<code>n&#95;errors</code></td><td class="pq-value">0</td>' in metrics
    assert metrics.count('<tr class="pq-type-row">') == 2  # number, unanswerable
    names = sorted(Path(f).name for f in files)
    assert {"predictions.jsonl", "report.json", "report.md"} <= set(names)
    report = json.loads(Path(next(f for f in files if f.endswith("report.json"))).read_text())
    assert report["n_questions"] == 2
    # the failures shown are the questions the report counts wrong
    wrong = round((1 - report["overall_accuracy"]) * 2)
    shown = f"Échecs : {wrong} sur 2 questions" if wrong else "Aucun échec"
    assert shown in failures

    # a source the corpus does not hold (a folder prefix) is said: its hit can only miss
    typo = tmp_path / "typo.jsonl"
    cited = "corpus/" + rows[0]["sources"][0]
    typo.write_text(json.dumps(rows[0] | {"sources": [cited]}) + "\n", encoding="utf-8")
    _, failures, _ = client.predict(handle_file(str(typo)), 5, api_name="/evaluate")
    said = (
        "Attention : sources citées par les questions mais absentes du corpus (1) ; ces "
        f"questions ne peuvent pas trouver leur source : {cited}"
    )
    assert failures.startswith(render.message_html(said, "info"))

    bad = tmp_path / "bad.jsonl"
    bad.write_text("pas du json\n", encoding="utf-8")
    metrics, failures, files = client.predict(handle_file(str(bad)), 5, api_name="/evaluate")
    assert 'class="pq-message pq-error"' in metrics and files is None
