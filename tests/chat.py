"""A chat thread written as (author, text) lines, recapped by the offline engine: what the
chat-thread tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime

from summarizer.offline import offline_recap
from summarizer.types import Conversation, Message, Recap

MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # every line is written then
TODAY, TOMORROW = date(2026, 11, 16), date(2026, 11, 17)
WEDNESDAY, FRIDAY = date(2026, 11, 18), date(2026, 11, 20)


def recap_lines(*lines: tuple[str, str]) -> Recap:
    return offline_recap(
        Conversation(
            messages=[
                Message(author=author, text=text, at=MONDAY, ref=f"m{i}")
                for i, (author, text) in enumerate(lines)
            ]
        )
    )


def items_of(*lines: tuple[str, str]) -> list[tuple[str | None, str, date | None]]:
    """(owner, task, due) of every action item of the thread."""
    return [(a.owner, a.task, a.due) for a in recap_lines(*lines).action_items]
