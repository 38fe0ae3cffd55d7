"""A chat tab's conversation kept across a reload: the server keeps it by a key the tab holds,
for a while; a key resumed gives a copy under a new key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from webfake import FakePipeline

from poleqa.feedback import FeedbackStore
from poleqa.web.app import ChatApp
from poleqa.web.kept import KeptConversations, resume
from poleqa.web.session import Exchange, Session

SKIPPED = {"__type__": "update"}  # Gradio's « leave it as it is »


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _asked(chat: ChatApp, session: Session, question: str) -> None:
    """`question` sent from the page and answered, as the page's two events do."""
    chat.send_in_page(question, session)
    for _ in chat.answer_in_page(session):
        pass


def test_a_reload_finds_the_answered_conversation_under_a_new_key(tmp_path: Path) -> None:
    chat = ChatApp(FakePipeline(), FeedbackStore(tmp_path))
    tab = Session()
    assert len(chat.kept) == 0  # a page only loaded is not kept
    _asked(chat, tab, "Combien de pôles ?")
    assert len(chat.kept) == 1
    messages, resumed, key = resume(chat.kept, Session(), tab.key)
    assert resumed is not tab and key == resumed.key != tab.key
    assert messages == tab.messages() and len(messages) == 2
    assert resumed.exchanges[0].feedback_id == tab.exchanges[0].feedback_id  # opinions still go
    # the two go on apart (a tab duplicated with its storage keeps the first key)
    _asked(chat, resumed, "Et en 2020 ?")
    assert len(resumed.exchanges) == 2 and len(tab.exchanges) == 1
    assert resume(chat.kept, Session(), resumed.key)[0] == resumed.messages()


@pytest.mark.parametrize("key", [None, "", 7, ["k"], "inconnue", "x" * 101])
def test_a_key_of_nothing_kept_gives_the_tab_its_own_new_conversation(key: Any) -> None:
    kept = KeptConversations()
    kept.keep(Session([Exchange("q", "<p>r</p>")]))
    tab = Session()
    assert resume(kept, tab, key) == (SKIPPED, tab, tab.key)


def test_a_question_sent_before_the_load_is_never_covered() -> None:
    kept = KeptConversations()
    old = Session([Exchange("ancienne", "<p>r</p>")])
    kept.keep(old)
    tab = Session([Exchange("nouvelle", "<p>r</p>")])
    assert resume(kept, tab, old.key) == (SKIPPED, tab, tab.key)


def test_questions_left_waiting_by_the_page_are_not_resumed() -> None:
    kept = KeptConversations()
    tab = Session([Exchange("répondue", "<p>r</p>")])
    assert tab.send("en attente")
    kept.keep(tab)
    resumed = kept.resumed(tab.key)
    assert resumed is not None and [e.question for e in resumed.exchanges] == ["répondue"]
    only_waiting = Session()
    assert only_waiting.send("en attente")
    kept.keep(only_waiting)
    copy = kept.resumed(only_waiting.key)
    assert (
        copy is not None
        and copy.exchanges == []
        and copy.key not in {s.key for s in (tab, only_waiting)}
    )


def test_a_new_conversation_is_what_a_reload_finds() -> None:
    kept = KeptConversations()
    tab = Session([Exchange("q", "<p>r</p>")])
    kept.keep(tab)
    tab.clear()
    resumed = kept.resumed(tab.key)
    assert resumed is not None and resumed.exchanges == []


def test_conversations_unused_for_long_or_beyond_the_most_are_dropped() -> None:
    clock = Clock()
    kept = KeptConversations(most=2, idle=600, clock=clock)
    first, second, third = (Session([Exchange(q, "<p>r</p>")]) for q in "abc")
    kept.keep(first)
    clock.now += 300
    kept.keep(second)
    kept.keep(first)  # used again: the least recently used is now `second`
    kept.keep(third)
    assert kept.resumed(second.key) is None
    assert kept.resumed(first.key) is not None  # its copy is kept too, pushing one out
    assert len(kept) == 2
    clock.now += 601  # ten minutes unused: every one goes
    assert kept.resumed(first.key) is None and kept.resumed(third.key) is None
    assert len(kept) == 0


def test_a_page_reloaded_without_end_takes_one_place_not_the_others() -> None:
    kept = KeptConversations(most=500)
    others = [Session([Exchange(f"q{i}", "<p>r</p>")]) for i in range(400)]
    for s in others:
        kept.keep(s)
    looping = Session([Exchange("boucle", "<p>r</p>")])
    kept.keep(looping)
    key = looping.key
    for _ in range(500):
        resumed = kept.resumed(key)
        assert resumed is not None
        key = resumed.key
    assert len(kept) == 401
    assert all(kept.resumed(s.key) is not None for s in others)
