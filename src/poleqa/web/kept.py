"""Conversations kept across a reload of the chat page: the tab holds the key to its own."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import gradio as gr

from poleqa.web.session import Session, own_session

KEPT_MOST = 500  # conversations kept at once (the least recently used go first)
KEPT_FOR = 2 * 3600  # seconds a conversation unused is kept
# Where the page keeps its key: the tab's sessionStorage, gone when the tab closes (on a shared
# computer the next person does not find the conversation), kept through a reload or « Back ».
STORAGE_KEY = "poleqa-conversation"
MAX_KEY_CHARS = 100  # keys are 24 characters; anything longer is no key of this server's


class KeptConversations:
    """The server's conversations by key, in memory, for a reload to find its tab's again.

    Only conversations with a question are kept (a page loaded and left costs nothing); a key
    resumed gives a copy under a new key, which replaces it (a page reloaded without end takes
    one place, not every other visitor's): a tab duplicated with its storage goes on apart
    from the one it was copied from, which is kept again at its next question."""

    def __init__(
        self,
        most: int = KEPT_MOST,
        idle: float = KEPT_FOR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.most = most
        self.idle = idle
        self.clock = clock
        self._kept: OrderedDict[str, tuple[Session, float]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, session: Session) -> None:
        """`session` kept (again) under its key, as used now."""
        with self._lock:
            self._kept[session.key] = (session, self.clock())
            self._kept.move_to_end(session.key)
            self._drop_old()

    def resumed(self, key: Any) -> Session | None:
        """A copy of the conversation kept under `key` (its answered exchanges, under a new
        key, kept too), or None: no such key, or kept too long unused."""
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
            return None
        with self._lock:
            self._drop_old()
            found = self._kept.pop(key, None)
        if found is None:
            return None
        copy = found[0].answered_copy()
        if copy.exchanges:
            self.keep(copy)
        return copy

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
  try {{ return [session, sessionStorage.getItem("{STORAGE_KEY}") || ""]; }}
  catch (e) {{ return [session, ""]; }}
}}"""
WRITE_KEY = f"""(key) => {{
  try {{ if (key) sessionStorage.setItem("{STORAGE_KEY}", key); }} catch (e) {{}}
  return [];
}}"""


def resume(kept: KeptConversations, session: Session | None, key: Any) -> tuple[Any, Session, str]:
    """On a page load: the conversation its tab had before a reload, if the server still keeps
    it (else the tab's new one). Returns (messages, session, the key the tab is to keep)."""
    session = own_session(session)
    if not session.snapshot():  # a question already sent from this page is never covered
        found = kept.resumed(key)
        if found is not None:
            return found.messages(), found, found.key
    return gr.skip(), session, session.key


def keep_across_reloads(
    demo: gr.Blocks, kept: KeptConversations, session: gr.State, chatbot: gr.Chatbot
) -> None:
    """Wires the page's load to `resume` (outside the queue, as the chat's other page-load
    event: see poleqa.web.app) and the key's keeping in the tab."""
    held = gr.Textbox(visible=False)

    def resumed(s: Session | None, key: Any) -> tuple[Any, Session, str]:
        return resume(kept, s, key)

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
