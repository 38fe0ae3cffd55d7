"""The chat's answer HTML (web/answer_view.py): marks, citation links, grouping, notes, escaping."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser

from webfake import (
    BY_YEAR_QUESTION,
    FOLLOW_UP,
    INFO,
    INFO_2019,
    RESOLVED,
    SENT_END,
    SENT_START,
    FakePipeline,
)

from poleqa.serialise import ABSTAIN_TEXT, UNCERTAIN_TEXT
from poleqa.types import Answer, Citation, DocumentInfo
from poleqa.web import render
from poleqa.web.answer_view import answer_html, excerpt, group_by_document

# What answer_html may produce: any other tag or attribute came from a document or a user.
TAGS = {"div", "span", "mark", "strong", "a", "details", "summary", "ul", "li", "b", "br"}
TAGS |= {"svg", "path", "button"}
ATTRIBUTES = {"class", "id", "href", "title", "target", "rel", "type", "tabindex", "width"}
ATTRIBUTES |= {"height", "focusable", "d"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_answer_marks_short_answer_and_links_its_citation_to_the_passage() -> None:
    html = answer_html(FakePipeline().ask("Combien de pôles ?"), key="k1")
    assert "\n" not in html  # one HTML block for the chat's Markdown pass
    assert (
        '<mark class="pq-short">38 pôles</mark> de compétitivité pour 2023&#45;2026. '
        '<a class="pq-cite" href="#pq-c-k1-1"'
    ) in html
    # The link's target is the passage, inside its document's card, the answer marked in it.
    assert '<div class="pq-passage" id="pq-c-k1-1" tabindex="-1"><span class="pq-num">[1]' in html
    assert '<mark class="pq-hl">Le 12 février, l’Agence de Sorlande a labellisé <strong>' in html
    assert '<span class="pq-title">Pôles &lt;b&gt;AURA&lt;/b&gt;</span>' in html
    assert '<span class="pq-doc-meta">R&amp;D · 30/03/2023</span>' in html
    assert "&lt;script&gt;window.&#95;&#95;pwned=1&lt;/script&gt;" in html
    url = (
        f"document?source=r%C3%A9gions%2Faura+%3C1%3E.txt&amp;start={SENT_START}"
        f"&amp;end={SENT_END}#passage"
    )
    assert f'<a class="pq-open" href="{url}" target="_blank" rel="noopener">' in html
    assert "Confiance : 83 %" in html
    assert "Sources <span" in html and "(1 document)" in html


def test_one_feedback_control_per_answer_with_icons_needing_no_emoji_font() -> None:
    html = answer_html(FakePipeline().ask("Combien de pôles ?"), key="k1")
    assert html.count('class="pq-feedback"') == 1
    assert 'id="pq-f-k1"' in html and 'id="pq-up-k1"' in html and 'id="pq-down-k1"' in html
    assert html.count("<svg") == 2 and "👍" not in html and "👎" not in html
    assert "pq-feedback" not in answer_html(FakePipeline().ask("Combien ?"), feedback=False)


def test_sources_are_grouped_by_document_in_citation_order() -> None:
    answer = FakePipeline().ask(BY_YEAR_QUESTION)
    groups = group_by_document(answer.citations)
    assert [(g.info.source, [c.n for c in g.citations]) for g in groups] == [
        (INFO.source, [1, 3]),
        (INFO_2019.source, [2]),
    ]
    html = answer_html(answer, key="k")
    assert html.count('<details class="pq-doc"') == 2
    assert html.count("Pôles &lt;b&gt;AURA&lt;/b&gt;") == 1  # one card for citations 1 and 3
    assert '<span class="pq-nums"><span class="pq-num">[1]</span><span class="pq-num">[3]' in html
    assert html.index('id="pq-c-k-1"') < html.index('id="pq-c-k-3"') < html.index('id="pq-d-k-2"')
    assert "(2 documents)" in html
    # Closed cards show a one-line excerpt: the answer sentence, else the passage's start.
    assert '<span class="pq-excerpt">Le 12 février, l’Agence de Sorlande a' in html
    assert '<span class="pq-excerpt">En 2019, la Sorlande comptait 41 pôles' in html


def test_by_year_note_lists_each_year_with_its_citation_link() -> None:
    html = answer_html(FakePipeline().ask(BY_YEAR_QUESTION), key="k")
    head = render.esc("Selon la date des documents :")
    assert f'<span class="pq-note-head">{head}</span>' in html
    for year, figure, n in (("2019", "41 pôles", 2), ("2023", "38 pôles", 1)):
        item = render.esc(f"document de {year} : {figure}")
        assert f'<li>{item} <a class="pq-cite" href="#pq-c-k-{n}"' in html
    # A number no citation carries stays text; other notes are shown as they are.
    answer = FakePipeline().ask("Combien de pôles ?")
    html = answer_html(
        replace(
            answer, notes=("Selon la date des documents : document de 2019 : 56 [9]", "Note <b>")
        ),
        "k",
    )
    assert f"<li>{render.esc('document de 2019 : 56 [9]')}</li>" in html
    assert '<div class="pq-note">Note &lt;b&gt;</div>' in html


def test_completed_follow_up_says_what_was_understood() -> None:
    html = answer_html(FakePipeline().ask(FOLLOW_UP), key="k")
    expected = render.esc(f"J'ai compris : « {RESOLVED} »")
    assert f'<div class="pq-resolved">{expected}</div>' in html
    assert html.index("pq-resolved") < html.index("pq-text")
    assert "pq-resolved" not in answer_html(FakePipeline().ask("Combien de pôles ?"))


def test_an_uncertain_answer_says_so_before_the_answer() -> None:
    answer = FakePipeline().ask("Combien de pôles ?")
    assert render.esc(UNCERTAIN_TEXT) not in answer_html(answer, key="k")
    html = answer_html(replace(answer, uncertain=True), key="k")
    warning = html.index(f'<div class="pq-uncertain">{render.esc(UNCERTAIN_TEXT)}</div>')
    assert warning < html.index('class="pq-text"')
    assert "Confiance" in html and 'id="pq-f-k"' in html  # otherwise shown as any answer


def test_abstention_says_so_and_offers_passages_and_tips() -> None:
    html = answer_html(FakePipeline().ask("Je m'abstiens ?"), key="k")
    assert render.esc(ABSTAIN_TEXT) in html
    assert render.esc("Passages peut-être utiles") in html
    assert "Conseils pour reformuler" in html
    assert "Confiance" not in html and "pq-cite" not in html
    assert 'id="pq-f-k"' in html  # an abstention can be rated too


def test_everything_from_documents_and_users_is_escaped() -> None:
    evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    info = DocumentInfo(f"a{evil}.txt", f"T{evil}", f"2023{evil}", f"O{evil}", f"u{evil}")
    passage = f"Avant {evil} phrase {evil} après [1](javascript:x) **gras** ${{x}} {{{{y}}}}"
    citation = Citation(1, info, 10, 10 + len(passage), passage, 0.5, 10, 30, 12, 20)
    answer = Answer(
        f"Q{evil}",
        passage[:20],
        False,
        0.5,
        short_answer=passage[2:10],
        citations=(citation,),
        resolved_question=f"R{evil}",
        notes=(
            f"N{evil}",
            f"Selon la date des documents : document de 2019 : {evil} [1] ; "
            f"document de 2020 : x{evil}",
        ),
    )
    html = answer_html(answer, key=f"k{evil}")
    for tag, attrs in _tags(html):
        assert tag in TAGS, tag
        assert set(attrs) <= ATTRIBUTES, attrs
        href = attrs.get("href")
        assert href is None or href.startswith(("#pq-c-", "document?source=")), href
        assert all("<" not in (v or "") and '"' not in (v or "") for v in attrs.values())
    assert 'id="pq-a-kimgsrcxonerroralert1scriptalert2script"' in html  # the key, cleaned
    # Markdown, LaTeX and template syntax are inert too.
    assert "**" not in html and "${" not in html and "{{" not in html and "](" not in html


def test_excerpt_is_one_line_cut_at_a_word() -> None:
    passage = "Un  texte\nsur plusieurs lignes " + "mot " * 60
    c = Citation(1, INFO, 0, len(passage), passage, 0.5)
    line = excerpt(c, limit=40)
    assert line == "Un texte sur plusieurs lignes mot mot …"
    assert excerpt(Citation(1, INFO, 0, 5, "Court", 0.5)) == "Court"


def test_an_answer_cut_from_a_longer_sentence_says_so() -> None:
    # a sentence over 400 characters is shown cut to its clauses around the answer: « … »
    # says where it goes on (it read as if the list ended there)
    passage = (
        "Pôles du Centre\n\nQuatre pôles y ont leur siège : la Cosmetic Valley avec 300 "
        "adhérents, S2E2 avec 130 adhérents, Elastopole et Dream. Fin.\n"
    )

    def shown(text: str) -> str:
        start = passage.index(text)
        cite = Citation(1, INFO, 100, 100 + len(passage), passage, 1.0, 100 + start,
                        100 + start + len(text))  # fmt: skip
        html = answer_html(Answer("Q ?", text, False, 0.9, citations=(cite,)), key="k")
        return html.split('<div class="pq-text">', 1)[1].split(' <a class="pq-cite"')[0]

    middle = "la Cosmetic Valley avec 300 adhérents, S2E2 avec 130 adhérents"
    assert shown(middle) == "… " + render.esc(middle) + " …"
    sentence = "Quatre pôles y ont leur siège : la Cosmetic Valley avec 300 adhérents"
    assert shown(sentence) == render.esc(sentence) + " …"
    whole = passage.split("\n\n")[1].removesuffix(" Fin.\n")
    assert shown(whole) == render.esc(whole)
    assert shown("Pôles du Centre") == render.esc("Pôles du Centre")  # a line of its own
    # a sentence ending inside quotes or brackets is whole
    passage = 'Le rapport conclut : "Le pôle compte 300 membres." Il a été créé (en 2005.) Fin.'
    for text in ('Le rapport conclut : "Le pôle compte 300 membres."', "Il a été créé (en 2005.)"):
        assert shown(text) == render.esc(text)
