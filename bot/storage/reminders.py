"""Reminders of action items: the open items a pass looks at, and `item_reminders`, one
row per item and kind, claimed ("sending") before the post and marked "sent" after, so that
each reminder goes out once across passes, restarts and processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.storage.base import Store, rowcount
from bot.storage.models import ActionItemEvent, ActionItemRecord, Channel, ItemReminder, Workspace

SENDING, SENT = "sending", "sent"
UNREACHABLE, FAILED = "unreachable", "failed"  # the platform cannot reach the owner / refused


@dataclass(frozen=True, kw_only=True)
class OpenItemDue:
    """An open item with an owner and a due date, where it lives, and the reminders
    recorded for it: kind -> (due date reminded of, status, when claimed)."""

    id: int
    task: str
    owner_id: str
    owner_name: str | None
    due: date
    platform: str
    workspace: str  # the platform's id (Slack team, Teams tenant)
    channel: str  # the platform's id
    channel_name: str | None
    thread: str | None
    source_ref: str | None
    confidence: float
    reminders: dict[str, tuple[date, str, datetime]] = field(default_factory=dict)

    def reminded(self, kind: str, now: datetime, stale: timedelta) -> bool:
        """Whether `kind` was sent (or given up, or is being sent since less than `stale`)
        for the current due date."""
        found = self.reminders.get(kind)
        if found is None or found[0] != self.due:
            return False
        return found[1] != SENDING or found[2] >= now - stale


class ReminderStore(Store):
    def open_items_due(self, low: date, high: date) -> list[OpenItemDue]:
        """Open items with an owner due between `low` and `high` (inclusive), with their
        reminders: two queries whatever their number (ix_action_items_status_due)."""
        in_reach = (
            col(ActionItemRecord.status) == "open",
            col(ActionItemRecord.due) >= low,
            col(ActionItemRecord.due) <= high,
            col(ActionItemRecord.owner_id).is_not(None),
        )
        with self._session() as session:
            rows = session.exec(
                select(ActionItemRecord, Channel, Workspace)
                .join(Channel, col(Channel.id) == col(ActionItemRecord.channel_id))
                .join(Workspace, col(Workspace.id) == col(ActionItemRecord.workspace_id))
                .where(*in_reach)
                .order_by(col(ActionItemRecord.due), col(ActionItemRecord.id))
            ).all()
            sent = session.exec(
                select(ItemReminder)
                .join(ActionItemRecord, col(ActionItemRecord.id) == col(ItemReminder.item_id))
                .where(*in_reach)
            ).all()
        reminders: dict[int, dict[str, tuple[date, str, datetime]]] = {}
        for reminder in sent:
            reminders.setdefault(reminder.item_id, {})[reminder.kind] = (
                reminder.due,
                reminder.status,
                reminder.created_at,
            )
        found = []
        for item, channel, workspace in rows:
            assert item.id is not None and item.due is not None and item.owner_id
            found.append(
                OpenItemDue(
                    id=item.id,
                    task=item.task,
                    owner_id=item.owner_id,
                    owner_name=item.owner_name,
                    due=item.due,
                    platform=workspace.platform,
                    workspace=workspace.external_id,
                    channel=channel.external_id,
                    channel_name=channel.name,
                    thread=item.thread_id,
                    source_ref=item.source_ref,
                    confidence=item.confidence,
                    reminders=reminders.get(item.id, {}),
                )
            )
        return found

    def claim(self, item_id: int, kind: str, due: date, now: datetime, stale: timedelta) -> bool:
        """Take the reminder `kind` of `due` for sending: True for exactly one caller. The
        row is new, or it was for another due date (the date changed: remind again), or a
        claim older than `stale` never finished (its sender died mid-send: its delivery key
        tells the platform what was posted already)."""
        with self._session() as session:
            session.add(ItemReminder(item_id=item_id, kind=kind, due=due, created_at=now))
            try:
                session.commit()
                return True
            except IntegrityError:  # reminded before, or another pass took it right now
                session.rollback()
            mine = (col(ItemReminder.item_id) == item_id, col(ItemReminder.kind) == kind)
            moved = rowcount(
                session,
                update(ItemReminder)
                .where(*mine, col(ItemReminder.due) != due)
                .values(due=due, status=SENDING, created_at=now),
            )
            if not moved:
                moved = rowcount(
                    session,
                    update(ItemReminder)
                    .where(
                        *mine,
                        col(ItemReminder.due) == due,
                        col(ItemReminder.status) == SENDING,
                        col(ItemReminder.created_at) < now - stale,
                    )
                    .values(created_at=now),
                )
            session.commit()
            return moved == 1

    def finish(self, item_id: int, kind: str, due: date, status: str) -> None:
        """Record how the claimed reminder ended (SENT, UNREACHABLE, FAILED); a sent one
        is also in the item's history."""
        with self._session() as session:
            if status == SENT:
                session.add(
                    ActionItemEvent(item_id=item_id, actor="bot", field="reminder", new=kind)
                )
            session.execute(
                update(ItemReminder)
                .where(
                    col(ItemReminder.item_id) == item_id,
                    col(ItemReminder.kind) == kind,
                    col(ItemReminder.due) == due,
                )
                .values(status=status)
            )
            session.commit()
