"""A chat tab's conversation kept across a reload: the server keeps it by a key the tab holds,
for a while; a reload takes it back into the new page's own conversation, under its key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from webfake import FakePipeline

from poleqa.feedback import FeedbackStore
from poleqa.web.app import ChatApp
from poleqa.web.kept import (
    FORGOTTEN,
    UNANSWERED,
    UNANSWERED_SEVERAL,
    KeptConversations,
    load_said,
    resume,
    unanswered,
)
from poleqa.web.session import MAX_WAITING, REFUSED_SHOWN, Exchange, Session

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


def _answered(question: str) -> Session:
    return Session([Exchange(question, "<p>r</p>")])


def test_a_reload_takes_the_answered_conversation_back_under_its_own_key(tmp_path: Path) -> None:
    chat = ChatApp(FakePipeline(), FeedbackStore(tmp_path))
    tab = Session()
    chat.send_in_page("   ", tab)  # nothing sent
    chat.send_in_page("x" * 5000, tab)  # refused: no answer to keep
    assert len(chat.kept) == 0
    _asked(chat, tab, "Combien de pôles ?")
    assert len(chat.kept) == 1
    reloaded = Session()
    messages, session, key = resume(chat.kept, reloaded, tab.key)
    assert session is reloaded and key == reloaded.key != tab.key
    assert messages == tab.messages()  # the refusal shown too, once the tab has an answer
    assert reloaded.exchanges[-1].feedback_id == tab.exchanges[-1].feedback_id  # opinions go
    # the old key is gone: a page reloaded without end takes one place
    assert resume(chat.kept, Session(), tab.key)[0] == SKIPPED
    # a follow-up after the reload reads the question before it
    _asked(chat, reloaded, "Et en 2020 ?")
    assert len(reloaded.exchanges) == len(messages) // 2 + 1
    assert resume(chat.kept, Session(), reloaded.key)[0] == reloaded.messages()


def test_a_question_sent_while_the_page_loads_stays_after_the_conversation_put_back() -> None:
    kept = KeptConversations()
    old = _answered("ancienne")
    kept.keep(old)
    tab = Session()
    assert tab.send("nouvelle")  # sent before the load's event came
    _, session, _ = resume(kept, tab, old.key)
    assert session is tab
    assert [e.question for e in tab.exchanges] == ["ancienne", "nouvelle"]
    assert tab.claim() is not None  # still waiting for its answer, in the tab's own session


@pytest.mark.parametrize("key", [None, "", 7, ["k"], "inconnue", "x" * 101])
def test_a_key_of_nothing_kept_gives_the_tab_its_own_new_conversation(key: Any) -> None:
    kept = KeptConversations()
    kept.keep(_answered("q"))
    tab = Session()
    assert resume(kept, tab, key) == (SKIPPED, tab, tab.key)


def test_questions_left_waiting_by_the_page_are_not_taken_back() -> None:
    kept = KeptConversations()
    tab = _answered("répondue")
    assert tab.send("en attente")
    kept.keep(tab)
    assert [e.question for e in kept.take(tab.key)] == ["répondue"]


def test_the_old_page_answering_after_a_reload_does_not_keep_it_again() -> None:
    kept = KeptConversations()
    old = _answered("répondue")
    kept.keep(old)
    resume(kept, Session(), old.key)
    kept.keep(old)  # its answer under way ends after the reload
    assert len(kept) == 1 and kept.take(old.key) == []  # the reloaded page's only
    # a tab duplicated: the copy took the conversation, the original goes on asking
    assert old.send("Et ensuite ?")
    kept.keep(old)
    assert [e.question for e in kept.take(old.key)] == ["répondue"]


def test_a_new_conversation_is_what_a_reload_finds() -> None:
    kept = KeptConversations()
    tab = _answered("q")
    kept.keep(tab)
    tab.clear()
    assert kept.take(tab.key) == []


def test_conversations_unused_for_long_or_beyond_the_most_are_dropped() -> None:
    clock = Clock()
    kept = KeptConversations(most=2, idle=600, clock=clock)
    first, second, third = (_answered(q) for q in "abc")
    kept.keep(first, "a")
    clock.now += 300
    kept.keep(second, "b")
    kept.keep(first, "a")  # used again: the least recently used is now `second`
    kept.keep(third, "c")
    assert kept.take(second.key) == []
    assert len(kept) == 2
    clock.now += 601  # ten minutes unused: every one goes
    assert kept.take(first.key) == [] and kept.take(third.key) == []
    assert len(kept) == 0


def test_one_address_sending_without_end_drops_its_own_not_the_others() -> None:
    kept = KeptConversations(most=500, per_client=20)
    others = [_answered(f"q{i}") for i in range(400)]
    for i, s in enumerate(others):
        kept.keep(s, f"10.0.0.{i}")
    flood = [_answered("encore") for _ in range(520)]
    for s in flood:
        kept.keep(s, "10.9.9.9")
    assert len(kept) == 420
    assert all(kept.take(s.key) for s in others)
    assert [bool(kept.take(s.key)) for s in flood] == [False] * 500 + [True] * 20


def test_an_opinion_given_is_shown_pressed_after_a_reload(tmp_path: Path) -> None:
    chat = ChatApp(FakePipeline(), FeedbackStore(tmp_path))
    tab = Session()
    _asked(chat, tab, "Combien de pôles ?")
    key = tab.exchanges[0].feedback_id
    drawn = tab.messages()[1]["content"]
    assert "pq-stored" not in drawn
    chat.rate_last("down", "", tab)  # the API's opinion about the last answer
    assert tab.messages()[1]["content"] == drawn  # not redrawn in its page (a comment typed)
    for given, then in (("down", "up"), ("up", "up")):  # reloaded, re-rated, reloaded again
        page = Session()
        messages, _, _ = resume(chat.kept, page, tab.key)
        shown = messages[1]["content"]
        assert f'<div class="pq-feedback pq-stored-{given}" id="pq-f-{key}">' in shown
        assert shown.count("pq-stored-") == 1
        chat.rate_last(then, "", page)
        _asked(chat, page, "Et en 2020 ?")  # kept again under the page's key
        tab = page


@pytest.mark.parametrize(
    ("pending", "back"),
    [
        (["Et en 2020 ?"], ("Et en 2020 ?",)),  # its answer never came: put back
        (["Combien de pôles ?"], ()),  # answered after the page left: in the conversation
        # several sent: those still unanswered, in their order
        (["Combien de pôles ?", "Qui ?", "Et en 2020 ?"], ("Qui ?", "Et en 2020 ?")),
        (["Et en 2020 ?", "Combien de pôles ?", "Et en 2020 ?"], ("Et en 2020 ?", "Et en 2020 ?")),
        # as many as may wait, and one refused as one too many
        ([f"q{i}" for i in range(9)], tuple(f"q{i}" for i in range(8 - MAX_WAITING, 9))),
        ([""], ()),
        (["   ", 3, None, ["x"], "Qui ?"], ("Qui ?",)),  # not questions: left out
        (["x" * 2001], ()),  # longer than a question may be
    ],
)
def test_only_questions_left_without_answer_go_back(
    pending: list[Any], back: tuple[str, ...]
) -> None:
    assert unanswered(json.dumps(pending), _answered("Combien de pôles ?"), 2000) == back


@pytest.mark.parametrize(
    ("pending", "back"),
    [
        # a page from before kept one question as it was: put back too (lost at a deploy)
        ("Et en 2020 ?", ("Et en 2020 ?",)),
        ("3", ("3",)),
        ("[" * 100_000, ()),  # nested too deep (a RecursionError), longer than a list may be
        ("[" * 5_000, ("[" * 5_000,)),  # not JSON: one question, of the length one may be
        ("", ()),
        (None, ()),
        (["x"], ()),  # not from the page: nothing
    ],
)
def test_what_is_not_a_list_of_questions_is_one_or_none(pending: Any, back: tuple) -> None:
    assert unanswered(pending, Session(), 5_000) == back


def test_a_reload_is_told_its_conversation_was_dropped() -> None:
    # it found an empty page without a word
    clock = Clock()
    kept = KeptConversations(idle=600, clock=clock, per_client=1)
    first, second, never = _answered("a"), _answered("b"), _answered("c")
    kept.keep(first, "10.0.0.1")
    kept.keep(second, "10.0.0.1")  # beyond the one kept for that address: `first` goes
    assert kept.take(first.key) == [] and kept.dropped(first.key)
    assert not kept.dropped(never.key) and not kept.dropped(None)  # never kept, no key
    clock.now += 601  # unused too long
    assert kept.take(second.key) == [] and kept.dropped(second.key)
    kept.keep(second, "10.0.0.1")  # the same tab asked again: kept, no longer said dropped
    assert not kept.dropped(second.key) and kept.take(second.key)
    kept.keep(never, "10.0.0.2")
    never.clear()  # « Nouvelle conversation »: nothing left to lose when it goes
    clock.now += 601
    assert kept.take(never.key) == [] and not kept.dropped(never.key)
    # what the page's status line then says, with the question put back or not
    assert load_said(True) == FORGOTTEN
    assert load_said(True, ("Qui ?",)) == f"{FORGOTTEN} {UNANSWERED}"
    assert (load_said(False, ("Qui ?",)), load_said(False)) == (UNANSWERED, None)
    # several: the first in the box, the others quoted, on one line, a long one cut
    several = load_said(False, ("Qui ?", "Et en\n2020 ?", "x" * 400))
    others = f"« Et en 2020 ? », « {'x' * (REFUSED_SHOWN - 1)}… »"
    assert several == UNANSWERED_SEVERAL.format(n=3, others=others)
