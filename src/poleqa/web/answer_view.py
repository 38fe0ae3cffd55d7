"""The HTML of one answer in the chat, built from escaped text only (like `render`).

An answer reads top to bottom: « J'ai compris : … » for a completed follow-up, the sentence with
its short answer marked and its citation as a link, the notes (« Selon la date des documents : »
as a list of figures with their citations), the sources grouped by document as one-line cards
that open to the passages, and one feedback control. Element ids carry the answer's `key` so
that citations and feedback find their answer (`static/poleqa.js`); the chat's sanitizer keeps
ids and classes, not data attributes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from poleqa.query import plain_question
from poleqa.serialise import ABSTAIN_TEXT, UNCERTAIN_TEXT, confidence_text, cut_sides
from poleqa.types import Answer, Citation, DocumentInfo
from poleqa.web.render import attr, count_fr, document_url, esc, french_date, spans_html

TIPS = (
    "Reformulez avec les mots des documents (par exemple « pôle de compétitivité », "
    "« labellisation », « adhérents »).",
    "Précisez le pôle, la région ou l'année qui vous intéresse.",
    "Posez une seule question à la fois.",
)
# the note of figures by the documents' year (reading/answerer.py's by_year)
BY_YEAR = "Selon la date des documents : "
EXCERPT_CHARS = 160  # the one-line excerpt of a source card (cut again by CSS to one line)
_KEY = re.compile(r"[^A-Za-z0-9_-]")
_CITED = re.compile(r"^(?P<body>.*?)\s*\[(?P<n>\d+)\]$")
# Thumb icons as inline SVG (no emoji font needed); the chat's sanitizer drops viewBox, so the
# path is drawn in the icon's own 16 × 16 pixels. The thumb down is the same, flipped by CSS.
THUMB = (
    '<svg class="pq-icon" width="16" height="16" focusable="false">'
    '<path d="M1.5 7h3v7.5h-3z M4.5 7.5 7.6 1.8c1 0 1.7.8 1.4 1.9L8.4 6.2H13'
    "c1 0 1.7.9 1.4 1.9l-1.3 5.1c-.2.8-.9 1.3-1.7 1.3H4.5z"
    '"></path></svg>'
)


@dataclass(frozen=True)
class DocumentGroup:
    """The citations of one document, in their order."""

    info: DocumentInfo
    citations: tuple[Citation, ...]


def group_by_document(citations: Sequence[Citation]) -> list[DocumentGroup]:
    """Citations grouped under their document, documents in the order first cited."""
    order: dict[str, list[Citation]] = {}
    infos: dict[str, DocumentInfo] = {}
    for c in citations:
        order.setdefault(c.info.source, []).append(c)
        infos.setdefault(c.info.source, c.info)
    return [DocumentGroup(infos[s], tuple(cs)) for s, cs in order.items()]


def clean_key(key: str) -> str:
    """`key` as it may appear in an element id (letters, digits, - and _)."""
    return _KEY.sub("", key)[:64] or "0"


def cite_link(n: int, key: str) -> str:
    """A citation number in the text: a link to its passage (opened by `static/poleqa.js`)."""
    return (
        f'<a class="pq-cite" href="#pq-c-{key}-{n}" title="Voir le passage de la source {n}">'
        f"[{n}]</a>"
    )


def _relative(start: int | None, end: int | None, base: int) -> tuple[int, int] | None:
    return None if start is None or end is None else (start - base, end - base)


def _window(text: str, span: tuple[int, int] | None, context: int) -> tuple[int, int]:
    """Bounds of `text` to show: the span with about `context` characters around, cut at spaces;
    without a span, the beginning."""
    if span is None:
        if len(text) <= 3 * context:
            return 0, len(text)
        cut = text.rfind(" ", context, 2 * context)
        return 0, cut if cut > 0 else 2 * context
    lo, hi = max(0, span[0] - context), min(len(text), span[1] + context)
    if lo > 0:
        space = text.find(" ", lo, max(lo, span[0]))
        lo = space + 1 if space >= 0 else lo
    if hi < len(text):
        space = text.rfind(" ", min(hi, span[1]), hi)
        hi = space if space >= 0 else hi
    return lo, hi


def _shift(span: tuple[int, int] | None, by: int) -> tuple[int, int] | None:
    return None if span is None else (span[0] - by, span[1] - by)


def passage_html(c: Citation, key: str, context: int = 300) -> str:
    """One cited passage: its number, the text around the answer sentence (marked, the short
    answer in bold inside it) and the link opening the whole document at that place."""
    outer = _relative(c.answer_start, c.answer_end, c.start)
    inner = _relative(c.short_start, c.short_end, c.start)
    lo, hi = _window(c.passage, outer, context)
    text = spans_html(c.passage[lo:hi], _shift(outer, lo), _shift(inner, lo))
    text = ("… " if lo > 0 else "") + text + (" …" if hi < len(c.passage) else "")
    version = c.info.content_hash
    if c.answer_start is not None and c.answer_end is not None:
        url = document_url(c.info.source, c.answer_start, c.answer_end, content_hash=version)
    else:
        url = document_url(c.info.source, c.start, c.end, content_hash=version)
    return (
        f'<div class="pq-passage" id="pq-c-{key}-{c.n}" tabindex="-1">'
        f'<span class="pq-num">[{c.n}]</span> {text} '
        f'<a class="pq-open" href="{attr(url)}" target="_blank" rel="noopener">'
        "Ouvrir le document</a></div>"
    )


def excerpt(c: Citation, limit: int = EXCERPT_CHARS) -> str:
    """The answer sentence (or the passage's beginning) on one line, cut at a word."""
    span = _relative(c.answer_start, c.answer_end, c.start)
    text = c.passage[span[0] : span[1]] if span and 0 <= span[0] < span[1] else c.passage
    text = " ".join(text.split())
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[: cut if cut > limit // 2 else limit] + " …"
    return text


def document_card(group: DocumentGroup, key: str, index: int) -> str:
    """A source as one line (numbers, title, organisation, date, excerpt) opening to its
    passages."""
    info = group.info
    nums = "".join(f'<span class="pq-num">[{c.n}]</span>' for c in group.citations)
    meta = [esc(x) for x in (info.organisation, french_date(info.date)) if x]
    meta_html = f'<span class="pq-doc-meta">{" · ".join(meta)}</span>' if meta else ""
    return (
        f'<details class="pq-doc" id="pq-d-{key}-{index}">'
        f'<summary><span class="pq-doc-line"><span class="pq-nums">{nums}</span>'
        f'<span class="pq-title">{esc(info.title or info.source)}</span>{meta_html}</span>'
        f'<span class="pq-excerpt">{esc(excerpt(group.citations[0]))}</span></summary>'
        f'<div class="pq-doc-body">{"".join(passage_html(c, key) for c in group.citations)}</div>'
        "</details>"
    )


def sources_html(citations: Sequence[Citation], title: str, key: str) -> str:
    """The sources as cards, one per document, each opening to its passages."""
    groups = group_by_document(citations)
    cards = "".join(document_card(g, key, i) for i, g in enumerate(groups, 1))
    count = count_fr(len(groups), "document")
    return (
        f'<div class="pq-sources"><div class="pq-sources-title">{esc(title)} '
        f'<span class="pq-count">({count})</span></div>{cards}</div>'
    )


def _short_span(answer: Answer) -> tuple[int, int] | None:
    """Where the short answer is in the answer text, from citation 1's offsets or by search."""
    text = answer.text or ""
    first = answer.citations[0] if answer.citations else None
    if first is not None and None not in (first.answer_start, first.short_start, first.short_end):
        a = (first.answer_start or 0) - first.start
        b = (first.answer_end or 0) - first.start
        if first.passage[a:b] == text:  # the offsets describe exactly this text
            base = first.answer_start or 0
            return ((first.short_start or 0) - base, (first.short_end or 0) - base)
    if answer.short_answer:
        i = text.find(answer.short_answer)
        if i >= 0:
            return (i, i + len(answer.short_answer))
    return None


def answer_sentence(answer: Answer, key: str) -> str:
    """The answer text escaped, its short answer in <mark>, followed by its citation link;
    « … » where the sentence it was cut from goes on."""
    text = answer.text or ""
    short = _short_span(answer)
    if short is not None and 0 <= short[0] < short[1] <= len(text):
        s, e = short
        body = (
            esc(text[:s]) + '<mark class="pq-short">' + esc(text[s:e]) + "</mark>" + esc(text[e:])
        )
    else:
        body = esc(text)
    before, after = cut_sides(answer)
    body = ("… " if before else "") + body + (" …" if after else "")
    first = answer.citations[0] if answer.citations else None
    return body + (" " + cite_link(first.n, key) if first is not None else "")


def note_html(note: str, numbers: frozenset[int], key: str) -> str:
    """A note under the answer; « Selon la date des documents : » becomes a list, its citations
    links."""
    if not note.startswith(BY_YEAR):
        return f'<div class="pq-note">{esc(note)}</div>'
    items = []
    for item in note[len(BY_YEAR) :].split(" ; "):
        match = _CITED.match(item.strip())
        if match and int(match["n"]) in numbers:
            items.append(f"<li>{esc(match['body'])} {cite_link(int(match['n']), key)}</li>")
        else:
            items.append(f"<li>{esc(item.strip())}</li>")
    return (
        f'<div class="pq-note pq-by-year"><span class="pq-note-head">{esc(BY_YEAR.strip())}'
        f"</span><ul>{''.join(items)}</ul></div>"
    )


# What `feedback_html` adds for an opinion stored: a class (Gradio's sanitizer drops data- and
# aria- attributes; static/poleqa.js turns it into the thumb pressed).
_OPINION_SHOWN = re.compile(r" pq-stored-(?:up|down)")


def feedback_html(key: str, stored: str = "") -> str:
    """The answer's one feedback control (the comment box is added by `static/poleqa.js`),
    the opinion `stored` for it (« up », « down ») marked to be shown pressed."""
    mark = f" pq-stored-{stored}" if stored in ("up", "down") else ""
    return (
        f'<div class="pq-feedback{mark}" id="pq-f-{key}"><span class="pq-ask">Réponse utile ?'
        f'</span><button type="button" class="pq-rate pq-up" id="pq-up-{key}" '
        f'title="Réponse utile">{THUMB}<span>Oui</span></button>'
        f'<button type="button" class="pq-rate pq-down" id="pq-down-{key}" '
        f'title="Réponse pas utile">{THUMB}<span>Non</span></button></div>'
    )


def with_opinion(html: str, key: str, stored: str) -> str:
    """An answer's message (`answer_html`) with the opinion `stored` for it (if any) shown
    pressed: a page reloaded shows what its reader said."""
    if not stored:
        return html
    drawn = _OPINION_SHOWN.sub("", html)  # as first drawn (a page reloaded twice drew it once)
    return drawn.replace(feedback_html(key), feedback_html(key, stored), 1)


def answer_html(answer: Answer, key: str = "0", feedback: bool = True) -> str:
    """The assistant's message for an answer or an abstention (one HTML block, no newlines).

    `key` makes its element ids unique in the page (the exchange's feedback id in the chat).
    """
    key = clean_key(key)
    out = [f'<div class="pq-answer" id="pq-a-{key}">']
    # Said of a completed follow-up; a question only stripped of its markup reads as asked.
    if answer.resolved_question and answer.resolved_question != plain_question(answer.question):
        understood = f"J'ai compris : « {answer.resolved_question} »"
        out.append(f'<div class="pq-resolved">{esc(understood)}</div>')
    if answer.abstained:
        out.append(f'<div class="pq-abstain">{esc(ABSTAIN_TEXT)}</div>')
    else:
        if answer.uncertain:  # read before the answer, not after it
            out.append(f'<div class="pq-uncertain">{esc(UNCERTAIN_TEXT)}</div>')
        out.append(f'<div class="pq-text">{answer_sentence(answer, key)}</div>')
    numbers = frozenset(c.n for c in answer.citations)
    out.extend(note_html(note, numbers, key) for note in answer.notes)
    if not answer.abstained:
        out.append(f'<div class="pq-meta">{confidence_text(answer)}</div>')  # digits only
    if answer.abstained:
        out.append('<div class="pq-tips"><b>Conseils pour reformuler :</b><ul>')
        out.extend(f"<li>{esc(t)}</li>" for t in TIPS)
        out.append("</ul></div>")
    if answer.citations:
        title = "Passages peut-être utiles" if answer.abstained else "Sources"
        out.append(sources_html(answer.citations, title, key))
    if feedback:
        out.append(feedback_html(key))
    out.append("</div>")
    return "".join(out)
