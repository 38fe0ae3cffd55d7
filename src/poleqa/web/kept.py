"""Conversations kept across a reload of the chat page: the tab holds the key to its own."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import gradio as gr

from poleqa.jsontext import parse_json
from poleqa.web import render
from poleqa.web.guards import client_key
from poleqa.web.session import MAX_WAITING, REFUSED_SHOWN, Exchange, Session, own_session

KEPT_MOST = 500  # conversations kept at once (the least recently used go first)
KEPT_FOR = 2 * 3600  # seconds a conversation unused is kept
PER_CLIENT = 20  # conversations kept for one address (a school's or a firm's share one)
# Where the page keeps its key: the tab's sessionStorage, gone when the tab closes (on a shared
# computer the next person does not find the conversation), kept through a reload or « Back ».
STORAGE_KEY = "poleqa-conversation"
MAX_KEY_CHARS = 100  # keys are 24 characters; anything longer is no key of this server's
# The questions sent, until their answers came (the tab's sessionStorage too, a JSON list): a
# reload while they were answered, or a connection lost as one was sent, left them nowhere.
PENDING_KEY = "poleqa-pending"
FORGOTTEN_MOST = 5000  # keys of dropped conversations remembered, to say so at a reload
FORGOTTEN = (
    "La conversation de cet onglet n'est plus conservée par le serveur (inutilisée depuis plus "
    f"de {KEPT_FOR // 3600} heures, ou effacée pour faire place à des conversations plus "
    "récentes) : posez à nouveau vos questions."
)
UNANSWERED = (
    "Votre dernière question n'a pas reçu de réponse avant le rechargement de la page : elle "
    "est remise dans la zone de saisie, envoyez-la à nouveau."
)
UNANSWERED_SEVERAL = (
    "Vos {n} dernières questions n'ont pas reçu de réponse avant le rechargement de la page : "
    "la première est remise dans la zone de saisie, envoyez-la à nouveau, puis les autres : "
    "{others}."
)


class KeptConversations:
    """The server's conversations by key, in memory, for a reload to find its tab's again.

    Only conversations with an answer are kept (a page loaded and left, a refused question,
    cost nothing), PER_CLIENT at most from one address (one client sending without end drops
    its own, not the other visitors'). A reload takes its conversation back into the new
    page's own, under that page's key: the old key is gone (a page reloaded without end takes
    one place)."""

    def __init__(
        self,
        most: int = KEPT_MOST,
        idle: float = KEPT_FOR,
        clock: Callable[[], float] = time.monotonic,
        per_client: int = PER_CLIENT,
    ) -> None:
        self.most = most
        self.idle = idle
        self.clock = clock
        self.per_client = per_client
        self._kept: OrderedDict[str, tuple[Session, float, str]] = OrderedDict()
        # the keys of conversations dropped (too old, too many): a reload is told, not left
        # before an empty page
        self._dropped: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, session: Session, client: str = "") -> None:
        """`session` kept (again) under its key, as used now by `client` (an address); not one a
        reload took over (its old page may still be answering)."""
        with self._lock:
            if session.handed_over:
                return
            self._kept[session.key] = (session, self.clock(), client)
            self._dropped.pop(session.key, None)  # a tab used again after its was dropped
            self._kept.move_to_end(session.key)
            own = [k for k, (_, _, c) in self._kept.items() if c == client]
            for key in own[: max(0, len(own) - self.per_client)]:  # its least recently used
                self._drop(key)
            self._drop_old()

    def take(self, key: Any) -> list[Exchange]:
        """The answered exchanges of the conversation kept under `key`, which is no longer
        kept under it; none for no such key, or one kept too long unused. A reload has no
        event to answer the questions still waiting in the page it left."""
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
            return []
        with self._lock:
            self._drop_old()
            found = self._kept.pop(key, None)
            if found is None:
                return []
            found[0].handed_over = True
        return found[0].answered()

    def dropped(self, key: Any) -> bool:
        """Whether the conversation kept under `key` was dropped (unused too long, or beyond
        the most kept); False for a key never kept, or taken back."""
        with self._lock:
            self._drop_old()
            return isinstance(key, str) and key in self._dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)

    def _drop_old(self) -> None:
        """Under the lock: the conversations unused for `idle`, then the least recently used
        beyond `most`."""
        limit = self.clock() - self.idle
        while self._kept and (
            len(self._kept) > self.most or next(iter(self._kept.values()))[1] < limit
        ):
            self._drop(next(iter(self._kept)))

    def _drop(self, key: str) -> None:
        """Under the lock: the conversation under `key` dropped, its key remembered if it
        had answers (one emptied by « Nouvelle conversation » loses nothing)."""
        session = self._kept.pop(key)[0]
        if not session.answered():
            return
        self._dropped[key] = None
        while len(self._dropped) > FORGOTTEN_MOST:
            self._dropped.popitem(last=False)


# The questions a tab sent and saw no answer to, as its storage holds them: a JSON list (each
# in the page's JS below; a page from before held the last one as it was, read as one).
_SENT = """(raw) => {
  if (!raw) return [];
  let sent = null;
  try { sent = JSON.parse(raw); } catch (e) {}
  return Array.isArray(sent) ? sent : [raw];
}"""
# The page sends the key its tab holds and the questions left unanswered, then keeps the key of
# the conversation it shows (a new one when resumed: see KeptConversations), the first question
# now back in the box. sessionStorage may be refused (some private modes): the conversation is
# then not kept, nothing else changes.
READ_KEY = f"""(session, key, pending) => {{
  let kept = "", left = "";
  try {{
    kept = sessionStorage.getItem("{STORAGE_KEY}") || "";
    left = sessionStorage.getItem("{PENDING_KEY}") || "";
  }} catch (e) {{}}
  return [session, kept.length <= {MAX_KEY_CHARS} ? kept : "", left];
}}"""
# The questions read at the load are forgotten, the server having put them back; those sent
# while the page loaded (an example clicked at once) stay, the tab's new unanswered ones.
WRITE_KEY = f"""(key, read) => {{
  try {{
    if (key) sessionStorage.setItem("{STORAGE_KEY}", key);
    const sentList = {_SENT};
    const before = sentList(read || ""), now = sentList(sessionStorage.getItem("{PENDING_KEY}"));
    const same = before.every((q, i) => now[i] === q);
    const left = same ? now.slice(before.length) : now;
    if (left.length) sessionStorage.setItem("{PENDING_KEY}", JSON.stringify(left));
    else sessionStorage.removeItem("{PENDING_KEY}");
  }} catch (e) {{}}
  return [];
}}"""
# As a question is sent (`app.CLEAR_BOX`, an example clicked); forgotten once the page shows no
# question waiting (an event ends at once when another of the tab answers its questions: the
# one it sent may still wait), or with « Nouvelle conversation ». One more than may wait: a
# question refused as one too many (back in the box) pushes out no question still waiting.
REMEMBER_PENDING = f"""try {{
  const sentList = {_SENT};
  const sent = sentList(sessionStorage.getItem("{PENDING_KEY}"));
  sent.push(String(question));
  sessionStorage.setItem("{PENDING_KEY}", JSON.stringify(sent.slice(-{MAX_WAITING + 1})));
}} catch (e) {{}}"""
FORGET_PENDING = f"""() => {{
  setTimeout(() => {{
    if (document.querySelector("#pq-chat .pq-pending")) return;
    try {{ sessionStorage.removeItem("{PENDING_KEY}"); }} catch (e) {{}}
  }}, 200);
  return [];
}}"""
FORGET_ON_NEW = f"""(session) => {{
  try {{ sessionStorage.removeItem("{PENDING_KEY}"); }} catch (e) {{}}
  return [session];
}}"""


def resume(
    kept: KeptConversations, session: Session | None, key: Any, client: str = ""
) -> tuple[Any, Session, str]:
    """On a page load: the conversation its tab had before a reload, if the server still keeps
    it, taken into the page's own (before a question sent meanwhile, which stays). Returns
    (messages, session, the key the tab is to keep)."""
    session = own_session(session)
    earlier = kept.take(key)
    if not earlier:
        return gr.skip(), session, session.key
    session.take_back(earlier)
    kept.keep(session, client)
    return session.messages(), session, session.key


def pending_most(limit: int) -> int:
    """The longest the tab's list of unanswered questions may be: MAX_WAITING + 1 questions
    of `limit` characters, each escaped in JSON (a control character takes six)."""
    return 6 * limit * (MAX_WAITING + 1) + 16


def unanswered(pending: Any, session: Session, limit: int) -> tuple[str, ...]:
    """The questions the tab sent and saw no answer to (`pending`, from its storage: a JSON
    list, or one question as a page from before kept it), in their order: those the
    conversation taken back answers (their answers came after the page left) and anything
    that is not a question left out."""
    if not isinstance(pending, str) or not pending or len(pending) > pending_most(limit):
        return ()
    try:
        sent = parse_json(pending)
    except ValueError:
        sent = [pending]
    if not isinstance(sent, list):
        sent = [pending]
    asked = [q for q in sent[-MAX_WAITING - 1 :] if isinstance(q, str) and q.strip()]
    asked = [q for q in asked if len(q) <= limit]
    answered = [e.question for e in session.answered()[-len(asked) :]] if asked else []
    left = []
    for question in asked:
        if question in answered:
            answered.remove(question)
        else:
            left.append(question)
    return tuple(left)


def load_said(dropped: bool, put_back: tuple[str, ...] = ()) -> str | None:
    """What the status line says as a page loads: that the tab's conversation is no longer
    kept (`dropped`), that its unanswered questions are back (`put_back`: the first in the box,
    the others quoted); None: nothing."""
    said = [FORGOTTEN] if dropped else []
    if len(put_back) == 1:
        said.append(UNANSWERED)
    elif put_back:
        others = ", ".join(f"« {_shown(q)} »" for q in put_back[1:])
        said.append(UNANSWERED_SEVERAL.format(n=len(put_back), others=others))
    return " ".join(said) or None


def _shown(question: str) -> str:
    """A question quoted in the status line: on one line, a long one cut."""
    text = " ".join(question.split())
    return text if len(text) <= REFUSED_SHOWN else text[: REFUSED_SHOWN - 1].rstrip() + "…"


def keep_across_reloads(
    demo: gr.Blocks,
    kept: KeptConversations,
    widgets: tuple[gr.State, gr.Chatbot, gr.Textbox, gr.HTML],
    max_question_chars: int,
) -> None:
    """Wires the page's load to `resume` (outside the queue, as the chat's other page-load
    event: see poleqa.web.app) and the key's keeping in the tab; the questions left unanswered
    come back, the first in the box (`widgets`: the session, the chat, the box, the status
    line)."""
    session, chatbot, question, status = widgets
    held, left = gr.Textbox(visible=False), gr.Textbox(visible=False)

    def resumed(
        s: Session | None, key: Any, pending: Any, request: gr.Request | None = None
    ) -> tuple[Any, Session, str, Any, Any, str]:
        messages, s, own = resume(kept, s, key, client_key(request))
        again = unanswered(pending, s, max_question_chars)
        said = load_said(kept.dropped(key), again)
        status_line = gr.skip() if said is None else render.message_html(said, "info")
        most = pending_most(max_question_chars)
        read = pending if isinstance(pending, str) and len(pending) <= most else ""
        return messages, s, own, again[0] if again else gr.skip(), status_line, read

    loaded = demo.load(
        resumed,
        [session, held, left],
        [chatbot, session, held, question, status, left],
        js=READ_KEY,
        api_name=False,
        queue=False,
        preprocess=False,
    )
    loaded.then(None, [held, left], None, js=WRITE_KEY, api_name=False, queue=False)
