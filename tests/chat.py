"""A chat thread written as (author, text) lines, recapped by the offline engine: what the
chat-thread tests share."""

from __future__ import annotations

from datetime import UTC, datetime

from summarizer.offline import offline_recap
from summarizer.types import Conversation, Message, Recap

MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # every line is written then


def recap_lines(*lines: tuple[str, str]) -> Recap:
    return offline_recap(
        Conversation(
            messages=[
                Message(author=author, text=text, at=MONDAY, ref=f"m{i}")
                for i, (author, text) in enumerate(lines)
            ]
        )
    )
