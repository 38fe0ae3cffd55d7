"""The one JSON shape of an answer (CLI --json/--jsonl, evaluation, web API)."""

from __future__ import annotations

from typing import Any

from poleqa.types import Answer

ABSTAIN_TEXT = "Je n'ai pas trouvé de réponse à cette question dans les documents."
UNCERTAIN_TEXT = (
    "Réponse incertaine : le passage cité ne répond peut-être pas exactement à la question ; "
    "vérifiez-le."
)


def confidence_text(answer: Answer) -> str:
    """« Confiance : 83 % », as the chat and `ask` show it (a French percentage, not 0.83). At
    most 99 %: a model's 0.997 is no certainty, and « 100 % » read as one (`ask --json` keeps
    the number itself)."""
    return f"Confiance : {min(99, round(100 * max(0.0, min(1.0, answer.confidence))))} %"


def cut_sides(answer: Answer) -> tuple[bool, bool]:
    """Whether the answer text starts, and whether it ends, inside a sentence of its passage
    (a sentence over 400 characters is shown cut to its clauses around the answer)."""
    first = answer.citations[0] if answer.citations else None
    if first is None or first.answer_start is None or first.answer_end is None:
        return False, False
    a, b = first.answer_start - first.start, first.answer_end - first.start
    if not 0 <= a < b <= len(first.passage) or first.passage[a:b] != answer.text:
        return False, False
    before = first.passage[:a].rstrip(" \t")[-1:]
    after = first.passage[b:].lstrip(" \t")[:1]
    # a word or a clause's comma on either side: the sentence goes on (not a line, a list
    # bullet or a sentence's end)
    ends = answer.text.rstrip().rstrip("\"»”’')] ")[-1:] in ".!?…"  # « … membres." », « 2019.) »
    starts_inside = bool(before) and (before.isalnum() or before in ",;:(")
    ends_inside = bool(after) and (after.isalnum() or after in ",;(")
    return starts_inside, not ends and ends_inside


def answer_text(answer: Answer) -> str:
    """The answer as read, with « … » where the sentence it was cut from goes on (the chat's
    and `ask`'s text; --json keeps the exact span)."""
    before, after = cut_sides(answer)
    return ("… " if before else "") + answer.text + (" …" if after else "")


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """The JSON object of an answer (CLI --json/--jsonl, evaluation, web API)."""
    return {
        "question": answer.question,
        # The question as answered, when a follow-up was completed from the conversation.
        "resolved_question": answer.resolved_question,
        "language": answer.language,
        "answer": answer.text,
        "abstained": answer.abstained,
        "confidence": answer.confidence,
        # Answered, though more likely wrong than right by the answerer's own estimate.
        "uncertain": answer.uncertain,
        "short_answer": answer.short_answer,
        "citations": [
            {
                "n": c.n,
                "source": c.info.source,
                "title": c.info.title,
                "date": c.info.date,
                "url": c.info.url,
                "start": c.start,
                "end": c.end,
                "passage": c.passage,
                "score": c.score,
                # Document offsets of the highlighted sentence and of the short answer in it
                # (null on the passages shown with an abstention).
                "answer_start": c.answer_start,
                "answer_end": c.answer_end,
                "short_start": c.short_start,
                "short_end": c.short_end,
            }
            for c in answer.citations
        ],
        "notes": list(answer.notes),
    }
