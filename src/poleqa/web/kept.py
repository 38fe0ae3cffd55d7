"""Conversations kept across a reload of the chat page: the tab holds the key to its own."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import gradio as gr

from poleqa.web.guards import client_key
from poleqa.web.session import Exchange, Session, own_session

KEPT_MOST = 500  # conversations kept at once (the least recently used go first)
KEPT_FOR = 2 * 3600  # seconds a conversation unused is kept
PER_CLIENT = 20  # conversations kept for one address (a school's or a firm's share one)
# Where the page keeps its key: the tab's sessionStorage, gone when the tab closes (on a shared
# computer the next person does not find the conversation), kept through a reload or « Back ».
STORAGE_KEY = "poleqa-conversation"
MAX_KEY_CHARS = 100  # keys are 24 characters; anything longer is no key of this server's


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
        self._lock = threading.Lock()

    def keep(self, session: Session, client: str = "") -> None:
        """`session` kept (again) under its key, as used now by `client` (an address); not one a
        reload took over (its old page may still be answering)."""
        with self._lock:
            if session.handed_over:
                return
            self._kept[session.key] = (session, self.clock(), client)
            self._kept.move_to_end(session.key)
            own = [k for k, (_, _, c) in self._kept.items() if c == client]
            for key in own[: max(0, len(own) - self.per_client)]:  # its least recently used
                del self._kept[key]
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
            self._kept.popitem(last=False)


# The page sends the key its tab holds, then keeps the key of the conversation it shows (a new
# one when resumed: see KeptConversations). sessionStorage may be refused (some private modes):
# the conversation is then not kept, nothing else changes.
READ_KEY = f"""(session, key) => {{
  let kept = "";
  try {{ kept = sessionStorage.getItem("{STORAGE_KEY}") || ""; }} catch (e) {{}}
  return [session, kept.length <= {MAX_KEY_CHARS} ? kept : ""];
}}"""
WRITE_KEY = f"""(key) => {{
  try {{ if (key) sessionStorage.setItem("{STORAGE_KEY}", key); }} catch (e) {{}}
  return [];
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


def keep_across_reloads(
    demo: gr.Blocks, kept: KeptConversations, session: gr.State, chatbot: gr.Chatbot
) -> None:
    """Wires the page's load to `resume` (outside the queue, as the chat's other page-load
    event: see poleqa.web.app) and the key's keeping in the tab."""
    held = gr.Textbox(visible=False)

    def resumed(
        s: Session | None, key: Any, request: gr.Request | None = None
    ) -> tuple[Any, Session, str]:
        return resume(kept, s, key, client_key(request))

    loaded = demo.load(
        resumed,
        [session, held],
        [chatbot, session, held],
        js=READ_KEY,
        api_name=False,
        queue=False,
        preprocess=False,
    )
    loaded.then(None, [held], None, js=WRITE_KEY, api_name=False, queue=False)
