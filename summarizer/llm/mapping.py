"""The model's answer mapped to the public `Recap`, in code we trust.

Citations become the cited message's `ref`, owners must resolve to a participant (else
None), due dates are normalised against the time of the cited message, confidences are
clamped, empty and duplicate items are dropped (with the offline engine's post-processor,
summarizer/items.py), and every text is made unable to ping anyone.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime

from summarizer.dates import normalize_due
from summarizer.errors import LLMError
from summarizer.items import dedupe_exact, tidy_action_items
from summarizer.llm.schema import ModelRecap
from summarizer.participants import match_participant
from summarizer.text import SLACK_USER_MENTION, sanitize_text
from summarizer.types import ActionItem, Conversation, Decision, Message, OpenQuestion, Recap

log = logging.getLogger(__name__)


def to_recap(
    draft: ModelRecap,
    conversation: Conversation,
    *,
    engine: str,
    notes: list[str],
    input_tokens: int,
    output_tokens: int,
) -> Recap:
    """The public recap of `conversation` from the model's `draft`; LLMError without summary."""
    messages = conversation.messages
    participants = [p for p in conversation.participants if p.strip()]
    ids = conversation.participant_ids
    names_by_id = {v: k for k, v in ids.items()}
    started = conversation.started_at

    def clean(text: str | None) -> str:
        return " ".join(sanitize_text(text or "", names_by_id).split())

    def who(name: str | None) -> str | None:
        """A participant, from a name as written or a mention of a known user id."""
        if not name:
            return None
        name = names_by_id.get(name.strip(), name)
        name = SLACK_USER_MENTION.sub(lambda m: names_by_id.get(m.group(1), m.group(2) or ""), name)
        return match_participant(name, participants)

    def cited(number: int | None) -> Message | None:
        return messages[number - 1] if number and 1 <= number <= len(messages) else None

    def ref_of(number: int | None) -> str | None:
        message = cited(number)
        return message.ref if message else None

    summary = sanitize_text(draft.summary, names_by_id)
    if not summary:
        raise LLMError("the model's answer had no summary")

    # Action items go through the post-processor both engines share; the rest drop only
    # repeats of the same words.
    key_points = dedupe_exact([clean(p) for p in draft.key_points], text=lambda p: p)
    decisions = dedupe_exact(
        [Decision(text=clean(d.text), ref=ref_of(d.source)) for d in draft.decisions],
        text=lambda d: d.text,
    )
    questions = dedupe_exact(
        [
            OpenQuestion(text=clean(q.text), asked_by=who(q.asked_by), ref=ref_of(q.source))
            for q in draft.open_questions
        ],
        text=lambda q: q.text,
    )
    items: list[ActionItem] = []
    for raw_item in draft.action_items:
        source = cited(raw_item.source)
        items.append(
            ActionItem(
                task=clean(raw_item.task),
                owner=who(raw_item.owner),
                due=_due(raw_item.due, source.at if source and source.at else started),
                ref=source.ref if source else None,
                confidence=_clamp(raw_item.confidence),
            )
        )
    return Recap(
        summary=summary,
        key_points=key_points,
        decisions=decisions,
        action_items=tidy_action_items(items, participants, ids),
        open_questions=questions,
        participants=participants,
        engine=engine,
        notes=notes,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )


def _clamp(value: float | None) -> float:
    if value is None or math.isnan(value):
        return 0.5
    return min(1.0, max(0.0, value))


def _due(phrase: str | None, base: datetime | None) -> date | None:
    try:
        return normalize_due(phrase, base)
    except Exception:  # dateparser can trip over odd model text; no date beats no recap
        log.debug("Unreadable due date %r", phrase, exc_info=True)
        return None
