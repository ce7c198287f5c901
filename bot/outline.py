"""One platform-neutral outline of a recap reply: its sections, in the order every platform
shows them, each a list of items with their text, owner, due date and source reference.

The renderers (Slack Block Kit, Teams Adaptive Cards, the playground's HTML, Markdown)
only lay an outline out in their own markup, so a section added or moved here moves on
every platform at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum

from bot.ports import RecapReply
from summarizer.types import Recap


class ItemKind(Enum):
    POINT = "point"  # a sentence, with its source when known (key points, decisions)
    TASK = "task"  # an action item: task, owner, due date
    QUESTION = "question"  # an open question and who asked it


@dataclass(frozen=True, kw_only=True)
class OutlineItem:
    text: str
    ref: str | None = None  # source reference: a message id or "t=1:02"
    owner: str | None = None
    owner_id: str | None = None  # the platform's id of the owner, when the source gave it
    due: date | None = None
    asked_by: str | None = None
    open_days: int | None = None  # items still open from earlier digests: for how long


@dataclass(frozen=True, kw_only=True)
class OutlineSection:
    key: str  # stable name for styling: key_points, decisions, action_items, still_open, …
    heading: str
    kind: ItemKind
    items: tuple[OutlineItem, ...]


@dataclass(frozen=True, kw_only=True)
class RecapOutline:
    title: str
    summary: str
    sections: tuple[OutlineSection, ...]  # only the sections that have items, in order
    notes: tuple[str, ...]
    engine: str
    participants: tuple[str, ...] = ()

    @property
    def made_by(self) -> str:
        """Who made the recap, as the closing note names it ("offline engine", a model)."""
        return "offline engine" if self.engine == "offline" else self.engine


def _recap_sections(recap: Recap, still_open: tuple[OutlineItem, ...]) -> list[OutlineSection]:
    return [
        OutlineSection(
            key="key_points",
            heading="Key points",
            kind=ItemKind.POINT,
            items=tuple(OutlineItem(text=point) for point in recap.key_points),
        ),
        OutlineSection(
            key="decisions",
            heading="Decisions",
            kind=ItemKind.POINT,
            items=tuple(OutlineItem(text=d.text, ref=d.ref) for d in recap.decisions),
        ),
        OutlineSection(
            key="action_items",
            heading="Action items",
            kind=ItemKind.TASK,
            items=tuple(
                OutlineItem(
                    text=item.task,
                    ref=item.ref,
                    owner=item.owner,
                    owner_id=item.owner_id,
                    due=item.due,
                )
                for item in recap.action_items
            ),
        ),
        OutlineSection(
            key="still_open",
            heading="Still open from earlier digests",
            kind=ItemKind.TASK,
            items=still_open,
        ),
        OutlineSection(
            key="open_questions",
            heading="Open questions",
            kind=ItemKind.QUESTION,
            items=tuple(
                OutlineItem(text=q.text, ref=q.ref, asked_by=q.asked_by)
                for q in recap.open_questions
            ),
        ),
    ]


def build_outline(reply: RecapReply, *, now: datetime | None = None) -> RecapOutline:
    """The outline of a recap reply; ages of still-open items count to `reply.as_of`
    (or `now`, or the current time)."""
    moment = reply.as_of or now or datetime.now(UTC)
    still_open = tuple(
        OutlineItem(
            text=o.item.task,
            ref=o.item.ref,
            owner=o.item.owner,
            owner_id=o.item.owner_id,
            due=o.item.due,
            open_days=o.age_days(moment),
        )
        for o in reply.still_open
    )
    recap = reply.recap
    return RecapOutline(
        title=reply.title,
        summary=recap.summary,
        sections=tuple(s for s in _recap_sections(recap, still_open) if s.items),
        notes=tuple(recap.notes),
        engine=recap.engine,
        participants=tuple(recap.participants),
    )
