"""Action items with an identity and a history (issue #16): recorded from each recap
(a re-report updates the item it repeats), changed by people (buttons, `done N`, the API)
and trackers, each change kept as an `ActionItemEvent`; and the recaps that show them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select

from bot.ports import ITEM_STATUSES, ItemView
from bot.storage.base import chunks, row_id
from bot.storage.item_recording import ItemRecording, date_text, event_row
from bot.storage.models import (
    ActionItemEvent,
    ActionItemRecord,
    Channel,
    RecapItem,
    RecapRecord,
    TrackerLink,
    Workspace,
    utcnow,
)

DEFAULT_LIMIT = 200


def version_of(row: ActionItemRecord) -> str:
    """Changes with every change of status, owner or due (`updated_at` moves then; a
    recap seeing the item again does not make the cards showing it stale)."""
    return f"{row.updated_at.isoformat()}/{row.status}"


class ItemStore(ItemRecording):
    # --- reading -----------------------------------------------------------------------

    def get(self, item_id: int) -> ActionItemRecord | None:
        with self._session() as session:
            return session.get(ActionItemRecord, item_id)

    def view(self, row: ActionItemRecord) -> ItemView:
        return self.views([row])[0]

    def views(self, rows: Sequence[ActionItemRecord]) -> list[ItemView]:
        """The rows as buttons show them, with their channels' linked trackers."""
        channel_ids = sorted({row.channel_id for row in rows})
        trackers: dict[int, str] = {}
        if channel_ids:
            with self._session() as session:
                for chunk in chunks(channel_ids):
                    for link in session.exec(
                        select(TrackerLink).where(col(TrackerLink.channel_id).in_(chunk))
                    ).all():
                        trackers[link.channel_id] = link.tracker
        return [
            ItemView(
                id=row_id(row),
                status=row.status,
                owner_id=row.owner_id,
                owner_name=row.owner_name,
                version=version_of(row),
                tracker=trackers.get(row.channel_id),
                tracker_ref=row.tracker_ref,
                tracker_url=row.tracker_url,
                export_state=row.export_state,
            )
            for row in rows
        ]

    def history(self, item_id: int) -> list[ActionItemEvent]:
        """Every change of the item, oldest first (append-only)."""
        with self._session() as session:
            return list(
                session.exec(
                    select(ActionItemEvent)
                    .where(col(ActionItemEvent.item_id) == item_id)
                    .order_by(col(ActionItemEvent.id))
                ).all()
            )

    def histories(self, item_ids: Sequence[int]) -> dict[int, list[ActionItemEvent]]:
        found: dict[int, list[ActionItemEvent]] = {item_id: [] for item_id in item_ids}
        with self._session() as session:
            for chunk in chunks(list(item_ids)):
                for event in session.exec(
                    select(ActionItemEvent)
                    .where(col(ActionItemEvent.item_id).in_(chunk))
                    .order_by(col(ActionItemEvent.id))
                ).all():
                    found[event.item_id].append(event)
        return found

    def query(
        self,
        workspace_id: int | None = None,
        owner_id: str | None = None,
        channel_ids: Iterable[int] | None = None,
        status: str | None = "open",
        due_before: date | None = None,
        limit: int = DEFAULT_LIMIT,
        after_id: int | None = None,
    ) -> list[ActionItemRecord]:
        """Items by due date (undated last), then age; `status` None for any."""
        conditions: list[ColumnElement[bool]] = []
        if workspace_id is not None:
            conditions.append(col(ActionItemRecord.workspace_id) == workspace_id)
        if owner_id is not None:
            conditions.append(col(ActionItemRecord.owner_id) == owner_id)
        if channel_ids is not None:
            ids = list(channel_ids)
            if not ids:
                return []
            conditions.append(col(ActionItemRecord.channel_id).in_(ids))
        if status is not None:
            conditions.append(col(ActionItemRecord.status) == status)
        if due_before is not None:
            conditions.append(col(ActionItemRecord.due) < due_before)
        if after_id is not None:
            conditions.append(col(ActionItemRecord.id) > after_id)
        with self._session() as session:
            return list(
                session.exec(
                    select(ActionItemRecord)
                    .where(*conditions)
                    .order_by(
                        col(ActionItemRecord.due).is_(None),
                        col(ActionItemRecord.due),
                        col(ActionItemRecord.id),
                    )
                    .limit(limit)
                ).all()
            )

    def recaps_showing(self, item_id: int) -> list[RecapRecord]:
        with self._session() as session:
            return list(
                session.exec(
                    select(RecapRecord)
                    .join(RecapItem, col(RecapItem.recap_id) == col(RecapRecord.id))
                    .where(col(RecapItem.item_id) == item_id)
                    .order_by(col(RecapRecord.id))
                ).all()
            )

    def recap_items(self, recap_id: int, count: int) -> list[ActionItemRecord | None]:
        """The stored items behind a recap's `count` action items, position for position
        (None where an item is gone: its source message was deleted)."""
        slots: list[ActionItemRecord | None] = [None] * count
        with self._session() as session:
            for link, row in session.exec(
                select(RecapItem, ActionItemRecord)
                .join(ActionItemRecord, col(ActionItemRecord.id) == col(RecapItem.item_id))
                .where(col(RecapItem.recap_id) == recap_id)
            ).all():
                if link.position < count:
                    slots[link.position] = row
        # The same item twice in one recap: both positions show it.
        return slots

    def channel_place(self, channel_id: int) -> tuple[str, str, str] | None:
        """(platform, workspace id, channel id) as the platform knows them."""
        with self._session() as session:
            found = session.exec(
                select(Workspace.platform, Workspace.external_id, Channel.external_id)
                .join(Channel, col(Channel.workspace_id) == col(Workspace.id))
                .where(col(Channel.id) == channel_id)
            ).first()
            return (found[0], found[1], found[2]) if found else None

    def workspace(self, workspace_id: int) -> Workspace | None:
        with self._session() as session:
            return session.get(Workspace, workspace_id)

    def get_recap(self, recap_id: int) -> RecapRecord | None:
        with self._session() as session:
            return session.get(RecapRecord, recap_id)

    def recap_by_job(self, job_id: int) -> RecapRecord | None:
        """The recap a job saved already (a retried job posts it, it does not save again)."""
        with self._session() as session:
            return session.exec(
                select(RecapRecord)
                .where(col(RecapRecord.job_id) == job_id)
                .order_by(col(RecapRecord.id).desc())
            ).first()

    # --- changing ----------------------------------------------------------------------

    def change(
        self,
        item_id: int,
        *,
        actor: str,
        status: str | None = None,
        owner_id: str | None = None,
        owner_name: str | None = None,
        due: date | None = None,
    ) -> tuple[ActionItemRecord | None, bool]:
        """Apply what differs, one event per field changed; (row, changed). (None, False)
        when the item is gone."""
        if status is not None and status not in ITEM_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._session() as session:
            row = session.get(ActionItemRecord, item_id, with_for_update=True)
            if row is None:
                return None, False
            now = utcnow()
            events: list[ActionItemEvent] = []
            if status is not None and status != row.status:
                events.append(event_row(row, actor, "status", row.status, status, now))
                row.status = status
            if (owner_id or owner_name) and (owner_id, owner_name) != (
                row.owner_id,
                row.owner_name,
            ):
                old = row.owner_id or row.owner_name
                events.append(event_row(row, actor, "owner", old, owner_id or owner_name, now))
                row.owner_id, row.owner_name = owner_id, owner_name
            if due is not None and due != row.due:
                events.append(event_row(row, actor, "due", date_text(row.due), date_text(due), now))
                row.due = due
            if not events:
                return row, False
            row.updated_at = max(now, _later(row.updated_at))
            session.add(row)
            session.add_all(events)
            session.commit()
            return row, True

    def add_event(self, item_id: int, *, actor: str, field: str, old: str | None = None,
                  new: str | None = None) -> None:  # fmt: skip
        """Note something that happened to the item without changing it (a reminder, an
        export): its history."""
        with self._session() as session:
            session.add(ActionItemEvent(item_id=item_id, actor=actor, field=field, old=old,
                                        new=new))  # fmt: skip
            session.commit()

    def set_post(self, recap_id: int, post: dict[str, Any]) -> None:
        """Where the recap was posted ({"channel", "thread", "message_id", "title",
        "links"}), so that a change to one of its items re-renders it."""
        with self._session() as session:
            row = session.get(RecapRecord, recap_id)
            if row is not None:
                row.post = dict(post)
                session.add(row)
                session.commit()

    def first_reported(self, item_ids: Sequence[int]) -> dict[int, datetime]:
        """When each item was first reported: its created_at."""
        with self._session() as session:
            found: dict[int, datetime] = {}
            for chunk in chunks(list(item_ids)):
                for item_id, created in session.exec(
                    select(ActionItemRecord.id, ActionItemRecord.created_at).where(
                        col(ActionItemRecord.id).in_(chunk)
                    )
                ).all():
                    if item_id is not None:
                        found[item_id] = created
            return found


def _later(moment: datetime) -> datetime:
    """Just after `moment`: two changes within one clock tick still get two versions."""
    return moment + timedelta(microseconds=1)
