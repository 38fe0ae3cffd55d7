"""HTML for the web app, built from escaped text only: no document or user text is ever markup.

The helpers here (escaping, dates, document links, marked spans) serve the chat's answers
(`answer_view.py`), the staff tables and the document pages."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from poleqa.types import Document, DocumentInfo, Hit

UNAVAILABLE = (
    "Le service est momentanément indisponible : les documents sont en cours de mise à jour. "
    "Réessayez dans quelques minutes."
)
GENERIC_ERROR = (
    "Désolé, une erreur inattendue est survenue. Réessayez dans un instant ; "
    "si le problème persiste, signalez-le à l'équipe."
)

# Characters that HTML, Markdown or the chat's LaTeX rendering would interpret, written as numeric
# entities (one pass over the raw text) so the chat always shows them literally.
_INERT = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
    | {c: f"&#{ord(c)};" for c in "\\`*_{}[]()#+-!|~$:"}
)
_NEWLINES = re.compile(r"[ \t]*(?:\r\n|\r|\n)\s*")


def esc(text: str | None) -> str:
    """Text made inert: HTML-escaped, Markdown specials as entities, no raw line breaks."""
    escaped = (text or "").translate(_INERT)
    # No raw newline may reach the chat: a blank line would end the HTML block in Markdown.
    return _NEWLINES.sub("<br>", escaped)


def attr(text: str) -> str:
    """A value for a double-quoted HTML attribute."""
    return html.escape(text, quote=True)


def count_fr(n: int, noun: str) -> str:
    """« 1 document », « 2 documents »: French takes the singular below two (« 0 document »)."""
    return f"{n} {noun}{'s' if n >= 2 else ''}"


def decimal_fr(value: float, digits: int) -> str:
    """A number as French writes it, with a decimal comma: « 0,5000 », « 64,0 »."""
    return f"{value:.{digits}f}".replace(".", ",")


# An undated document's date cell in « Vérifier » (an empty cell read as a display fault).
UNDATED = "<small>sans date</small>"


def french_date(date: str | None) -> str:
    """ISO "2023-03-30" → "30/03/2023"; "2023-03" → "03/2023"; anything else as is."""
    if not date:
        return ""
    parts = date.split("-")
    return "/".join(reversed(parts)) if all(p.isdigit() for p in parts) else date


VERSION_CHARS = 12  # of the document's content hash, carried by a link to one of its spans


def document_url(
    source: str,
    start: int | None = None,
    end: int | None = None,
    base: str = "",
    content_hash: str = "",
) -> str:
    """Link to the app's own page for a document, scrolled to the span (relative to the page:
    `base` is "" on the chat at the app's root, "../" on the staff pages one level below).

    The span's offsets hold for the document as it was indexed: the link carries the start of
    its content hash (`v`), so that the page can tell when the document changed since.
    """
    params: dict[str, str | int] = {"source": source}
    if start is not None and end is not None:
        params.update(start=start, end=end)
        if content_hash:
            params["v"] = content_hash[:VERSION_CHARS]
    return base + "document?" + urlencode(params) + ("#passage" if start is not None else "")


def spans_html(text: str, outer: tuple[int, int] | None, inner: tuple[int, int] | None) -> str:
    """`text` escaped, `outer` wrapped in <mark>, `inner` (inside outer) in <strong>."""

    def clip(span: tuple[int, int] | None, lo: int, hi: int) -> tuple[int, int] | None:
        if span is None:
            return None
        s, e = max(lo, span[0]), min(hi, span[1])
        return (s, e) if s < e else None

    outer = clip(outer, 0, len(text))
    if outer is None:
        return esc(text)
    inner = clip(inner, *outer)
    s, e = outer
    if inner is None:
        middle = esc(text[s:e])
    else:
        a, b = inner
        middle = esc(text[s:a]) + "<strong>" + esc(text[a:b]) + "</strong>" + esc(text[b:e])
    return esc(text[:s]) + '<mark class="pq-hl">' + middle + "</mark>" + esc(text[e:])


def source_line(info: DocumentInfo) -> str:
    parts = [f'<span class="pq-title">{esc(info.title or info.source)}</span>']
    if info.date:
        parts.append(esc(french_date(info.date)))
    if info.organisation:
        parts.append(esc(info.organisation))
    return " · ".join(parts)


def message_html(text: str, kind: str = "error") -> str:
    """A short message in the chat (e.g. a QuestionError's French message)."""
    return f'<div class="pq-message pq-{attr(kind)}">{esc(text)}</div>'


BLANK_QUESTION = "(question vide)"
PENDING = "Recherche de la réponse…"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def pending_html() -> str:
    """What stands in the conversation for an answer still being looked for."""
    return f'<div class="pq-pending" role="status">{PENDING}</div>'


QUESTION_SHOWN = 2000  # characters of a question shown in the conversation


def question_html(question: str, limit: int = QUESTION_SHOWN) -> str:
    """The user's question as shown in the chat, cut if absurdly long; a blank one is said to
    be empty (an empty bubble looked like a display fault above « La question est vide. »)."""
    question = _CONTROL.sub("", question)  # « \x00\x01 » typed in showed as boxes
    if not question.strip():
        return f'<div class="pq-question pq-blank">{BLANK_QUESTION}</div>'
    shown = question if len(question) <= limit else question[:limit] + " […]"
    return f'<div class="pq-question">{esc(shown)}</div>'


# The rank is the order the reader reads in (the learned passage order unless the server runs
# with --passage-order fused); the score stays the retrieval's: staff saw ranks out of score order.
HITS_CAPTION = (
    "Rang : l'ordre dans lequel poleqa lit les passages pour répondre. Score : celui de la "
    "recherche (dense et lexicale). Avec l'ordre appris (par défaut), le rang ne suit donc pas "
    "toujours le score."
)


def hits_html(hits: Sequence[Hit], base: str = "") -> str:
    """The staff's "Vérifier" table: rank, scores, source, date, offsets and passage."""
    if not hits:
        return message_html("Aucun passage trouvé avec ces filtres.", "info")
    rows = []
    for h in hits:
        c = h.chunk
        scores = decimal_fr(h.score, 4)
        if h.dense_score is not None:
            scores += f"<br><small>dense {decimal_fr(h.dense_score, 3)}</small>"
        if h.lexical_score is not None:
            scores += f"<br><small>lexical {decimal_fr(h.lexical_score, 3)}</small>"
        page = f"<br>page {c.page}" if c.page is not None else ""
        url = document_url(c.source, c.start, c.end, base, h.info.content_hash)
        rows.append(
            "<tr>"
            f"<td>{h.rank}</td><td>{scores}</td>"
            f"<td>{source_line(h.info)}<br><code>{esc(c.source)}</code></td>"
            f"<td>{esc(french_date(h.info.date)) or UNDATED}</td>"
            f"<td>{c.start}–{c.end}{page}</td>"
            f'<td class="pq-passage">{esc(c.text)}<br><a href="{attr(url)}" target="_blank" '
            'rel="noopener">Ouvrir</a></td>'
            "</tr>"
        )
    return (
        # before the table, not its <caption>: it wraps in the window while the table scrolls
        f'<p class="pq-hits-note">{esc(HITS_CAPTION)}</p>'
        '<table class="pq-hits"><thead><tr><th>Rang</th><th>Score</th><th>Source</th>'
        "<th>Date</th><th>Position</th><th>Passage</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def table_html(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain table of escaped cells."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f'<table class="pq-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: object) -> str:
    if isinstance(value, float):
        return decimal_fr(value, 3)
    return "" if value is None else str(value)


def document_page(doc: Document, start: int | None, end: int | None, notice: str = "") -> str:
    """A whole document as a standalone page, the span in <mark id="passage">, text escaped;
    `notice` (plain text) said above the text."""
    info = doc.info
    text = doc.text
    span = None
    if start is not None and end is not None:
        s, e = max(0, start), min(len(text), end)
        span = (s, e) if s < e else None
    # Header lines that only carry metadata (shown above) are skipped unless the span is in them.
    first = doc.body_start if 0 < doc.body_start <= (span[0] if span else len(text)) else 0
    if span is None:
        body = html.escape(text[first:])
    else:
        s, e = span
        body = (
            html.escape(text[first:s])
            + '<mark id="passage">'
            + html.escape(text[s:e])
            + "</mark>"
            + html.escape(text[e:])
        )
    meta = [html.escape(french_date(info.date))] if info.date else []
    if info.organisation:
        meta.append(html.escape(info.organisation))
    if span is not None and (page := doc.page_at(span[0])) is not None:
        meta.append(f"page {page}")
    url = ""
    if info.url:
        # Shown as text: the app makes no request to (and links nowhere on) the outside.
        url = f'<p class="url">Source d\'origine : <code>{html.escape(info.url)}</code></p>'
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(info.title or info.source)}</title>"
        f"<style>{DOCUMENT_CSS}</style></head><body>"
        f"<header><h1>{html.escape(info.title or info.source)}</h1>"
        f'<p class="meta">{" · ".join(meta)}</p>'
        f'<p class="file">Fichier : <code>{html.escape(info.source)}</code></p>{url}'
        + (f'<p class="notice">{html.escape(notice)}</p>' if notice else "")
        + "</header>"
        f'<main><div class="text">{body}</div></main></body></html>'
    )


def error_page(title: str, *paragraphs: str) -> str:
    """A standalone French page: a title and paragraphs of plain (escaped) text."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{DOCUMENT_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1></header><main>{body}</main></body></html>"
    )


DOCUMENT_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:50rem;"
    "margin:0 auto;padding:1rem 1.25rem 40vh;line-height:1.55;color:#1f2937;background:#fff}"
    "h1{font-size:1.4rem;margin:.5rem 0}.meta,.file,.url{color:#4b5563;margin:.2rem 0}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere}"
    "mark{background:#fde68a;padding:.1rem 0;scroll-margin-top:30vh}"
    "header{border-bottom:1px solid #e5e7eb;margin-bottom:1rem;padding-bottom:.5rem}"
    ".notice{background:#fef3c7;padding:.4rem .6rem;border-radius:.3rem}"
)
