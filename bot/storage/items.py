"""Action items with an identity and a history (issue #16): recorded from each recap
(a re-report updates the item it repeats), changed by people (buttons, `done N`, the API)
and trackers, each change kept as an `ActionItemEvent`; and the recaps that show them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select

from bot.ports import ITEM_STATUSES, ItemView
from bot.storage.base import chunks, row_id
from bot.storage.item_recording import BOT, ItemRecording, date_text, event_row, later
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


# What a card shows of an item's state, in its version (see `version_of`).
SHOWN = ("item", "status", "owner", "due", "tracker")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version_of(row: ActionItemRecord) -> str:
    """What a card shows of the item's state, in short: it moves exactly when that does
    (status, owner, due date, its tracker issue or export), never when a recap merely
    sees the item again or a reminder goes. Its first part says which item (created when:
    an id a deleted item freed and a new item took is another item), so a click can be
    judged on the fields it depends on (`shown_differs`)."""
    created = (_aware(row.created_at) - _EPOCH) // timedelta(microseconds=1)
    return ".".join(
        (
            format(created, "x"),
            row.status,
            _digest(row.owner_id, row.owner_name),
            row.due.strftime("%Y%m%d") if row.due else "-",
            _digest(row.export_state, row.tracker_ref, row.tracker_url),
        )
    )


def shown_differs(version: str, row: ActionItemRecord, fields: Iterable[str]) -> bool:
    """Whether a card of `version` showed `fields` (of SHOWN) otherwise than the item is
    now, or showed another item (or is of no version this bot makes)."""
    shown, now = version.split("."), version_of(row).split(".")
    if len(shown) != len(SHOWN):
        return True
    return any(shown[SHOWN.index(field)] != now[SHOWN.index(field)] for field in ("item", *fields))


def _digest(*values: str | None) -> str:
    """Eight hex digits for what may be long or any text (names, links); "-" for none."""
    if not any(values):
        return "-"
    return hashlib.sha256("\n".join(v or "" for v in values).encode()).hexdigest()[:8]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
        channels: dict[int, str] = {}
        if channel_ids:
            with self._session() as session:
                for chunk in chunks(channel_ids):
                    for link in session.exec(
                        select(TrackerLink).where(col(TrackerLink.channel_id).in_(chunk))
                    ).all():
                        trackers[link.channel_id] = link.tracker
                    for channel_id, external_id in session.exec(
                        select(Channel.id, Channel.external_id).where(col(Channel.id).in_(chunk))
                    ).all():
                        channels[channel_id or 0] = external_id
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
                channel=channels.get(row.channel_id),
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
        order: str = "due",
    ) -> list[ActionItemRecord]:
        """Items by due date (undated last), then age (`order` "id": by id, for paging
        with `after_id`); `status` None for any."""
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
                        *(
                            (col(ActionItemRecord.id),)
                            if order == "id"
                            else (
                                col(ActionItemRecord.due).is_(None),
                                col(ActionItemRecord.due),
                                col(ActionItemRecord.id),
                            )
                        )
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

    def moved_by_recap(self, recap_id: int) -> list[int]:
        """The items whose due date or owner a recording of this recap changed (what its
        earlier posts show of them is stale): a `due` or `owner` event of the bot dated
        like the item's `seen` event of this recap (`_seen` writes them together)."""
        seen, moved = aliased(ActionItemEvent), aliased(ActionItemEvent)
        with self._session() as session:
            return sorted(
                set(
                    session.exec(
                        select(moved.item_id)
                        .join(RecapItem, col(RecapItem.item_id) == col(moved.item_id))
                        .join(
                            seen,
                            (col(seen.item_id) == col(moved.item_id))
                            & (col(seen.at) == col(moved.at)),
                        )
                        .where(
                            col(RecapItem.recap_id) == recap_id,
                            col(seen.field) == "seen",
                            col(seen.new) == str(recap_id),
                            col(moved.field).in_(("due", "owner")),
                            col(moved.actor) == BOT,
                        )
                    ).all()
                )
            )

    def channel_place(self, channel_id: int) -> tuple[str, str, str] | None:
        """(platform, workspace id, channel id) as the platform knows them."""
        with self._session() as session:
            found = session.exec(
                select(Workspace.platform, Workspace.external_id, Channel.external_id)
                .join(Channel, col(Channel.workspace_id) == col(Workspace.id))
                .where(col(Channel.id) == channel_id)
            ).first()
            return (found[0], found[1], found[2]) if found else None

    def places(self, channel_ids: Iterable[int]) -> dict[int, tuple[str, str, str]]:
        """channel id -> (platform, workspace id, channel id) as the platform knows them."""
        found: dict[int, tuple[str, str, str]] = {}
        with self._session() as session:
            for chunk in chunks(sorted(set(channel_ids))):
                for channel_id, platform, workspace, channel in session.exec(
                    select(
                        Channel.id, Workspace.platform, Workspace.external_id, Channel.external_id
                    )
                    .join(Workspace, col(Channel.workspace_id) == col(Workspace.id))
                    .where(col(Channel.id).in_(chunk))
                ).all():
                    found[channel_id or 0] = (platform, workspace, channel)
        return found

    def channels_matching(
        self,
        *,
        platform: str | None = None,
        workspace: str | None = None,
        channel: str | None = None,
    ) -> list[int]:
        """Ids of the channels with these platform ids (any, for those not given)."""
        query = select(Channel.id).join(Workspace, col(Channel.workspace_id) == col(Workspace.id))
        if platform is not None:
            query = query.where(col(Workspace.platform) == platform)
        if workspace is not None:
            query = query.where(col(Workspace.external_id) == workspace)
        if channel is not None:
            query = query.where(col(Channel.external_id) == channel)
        with self._session() as session:
            return [channel_id for channel_id in session.exec(query).all() if channel_id]

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
        now: datetime | None = None,
    ) -> tuple[ActionItemRecord | None, bool]:
        """Apply what differs, one event per field changed, dated `now` (the bot's clock;
        default the time now); (row, changed). (None, False) when the item is gone."""
        if status is not None and status not in ITEM_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._session() as session:
            row = session.get(ActionItemRecord, item_id, with_for_update=True)
            if row is None:
                return None, False
            now = now or utcnow()
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
            row.updated_at = max(now, later(row.updated_at))
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
