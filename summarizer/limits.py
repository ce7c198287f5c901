"""Caps on the size of a recap, applied before anything renders it.

A language model's answer is untrusted and unbounded (a 3 MB summary, 10,000 action items):
`cap_recap` cuts each text and list to what a reader can use, and says so in a note. Both
engines' recaps pass through it (`Summarizer.recap`), so Slack, Teams, the playground, the
API and the CLI all get the capped recap. `bound_draft_sizes` keeps the LLM engine's own
work (deduplication, merging partial answers) bounded before that.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from summarizer.types import Recap

M = TypeVar("M", bound=BaseModel)

MAX_SUMMARY_CHARS = 3000
MAX_KEY_POINTS = 10
MAX_POINT_CHARS = 300
MAX_ITEMS = 25  # per list: decisions, action items, open questions
MAX_ITEM_CHARS = 500
MAX_NAME_CHARS = 80  # owners, askers, participants
MAX_ID_CHARS = 64  # platform ids (the store's column width)
MAX_PARTICIPANTS = 50
MAX_NOTES = 10
MAX_NOTE_CHARS = 500
MAX_REF_CHARS = 200
# What the LLM engine keeps of a raw answer before deduplicating it: room for repeats.
DRAFT_ITEMS = MAX_ITEMS * 4
DRAFT_CHARS = MAX_SUMMARY_CHARS * 2


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _short(text: str | None, limit: int, cut: list[bool]) -> str | None:
    if text is None or len(text) <= limit:
        return text
    cut.append(True)
    return shorten(text, limit)


# The text fields of each kind of item, and how long each may be.
_DECISION_FIELDS = {"text": MAX_ITEM_CHARS, "ref": MAX_REF_CHARS}
_ACTION_FIELDS = {
    "task": MAX_ITEM_CHARS,
    "owner": MAX_NAME_CHARS,
    "owner_id": MAX_ID_CHARS,
    "ref": MAX_REF_CHARS,
}
_QUESTION_FIELDS = {"text": MAX_ITEM_CHARS, "asked_by": MAX_NAME_CHARS, "ref": MAX_REF_CHARS}


def _capped(item: M, fields: dict[str, int], cut: list[bool]) -> M:
    """A copy of `item` with each of `fields` cut to its length."""
    return item.model_copy(
        update={name: _short(getattr(item, name), limit, cut) for name, limit in fields.items()}
    )


def cap_recap(recap: Recap) -> Recap:
    """A copy of `recap` within the limits above; a note says what was left out."""
    told: list[str] = []
    long_text: list[bool] = []
    summary = recap.summary
    if len(summary) > MAX_SUMMARY_CHARS:
        summary = shorten(summary, MAX_SUMMARY_CHARS)
        told.append("the summary was shortened")

    def first(items: list, limit: int, label: str) -> list:
        if len(items) > limit:
            told.append(f"only the first {limit} {label} are shown")
        return items[:limit]

    key_points = [
        _short(p, MAX_POINT_CHARS, long_text) or ""
        for p in first(recap.key_points, MAX_KEY_POINTS, "key points")
    ]
    decisions = [
        _capped(d, _DECISION_FIELDS, long_text)
        for d in first(recap.decisions, MAX_ITEMS, "decisions")
    ]
    items = [
        _capped(a, _ACTION_FIELDS, long_text)
        for a in first(recap.action_items, MAX_ITEMS, "action items")
    ]
    questions = [
        _capped(q, _QUESTION_FIELDS, long_text)
        for q in first(recap.open_questions, MAX_ITEMS, "open questions")
    ]
    participants = [
        _short(p, MAX_NAME_CHARS, long_text) or "" for p in recap.participants[:MAX_PARTICIPANTS]
    ]
    if long_text:
        told.append("very long items were shortened")
    notes = [shorten(n, MAX_NOTE_CHARS) for n in recap.notes[:MAX_NOTES]]
    if told:
        notes.append(f"This recap was too long to show in full: {'; '.join(told)}.")
    return recap.model_copy(
        update={
            "summary": summary,
            "key_points": key_points,
            "decisions": decisions,
            "action_items": items,
            "open_questions": questions,
            "participants": participants,
            "notes": notes,
        }
    )
