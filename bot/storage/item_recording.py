"""Recording what a recap reports (issue #16): each action item is the stored item it
reports again (identity: bot.features.items.identity) or a new one, with its history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage.base import Store, chunks, row_id
from bot.storage.item_deletion import delete_items
from bot.storage.models import (
    ActionItemEvent,
    ActionItemRecord,
    Channel,
    RecapItem,
    RecapRecord,
    utcnow,
)
from summarizer.types import ActionItem, Recap

BOT = "bot"  # the actor of what recaps do: created, seen, the reported owner and due
# Actors that are not people: what they set, a later recap may still set again.
NOT_PEOPLE = frozenset({BOT, "github", "jira", "linear"})


def best_match(item: ActionItem, rows: list[ActionItemRecord]) -> ActionItemRecord | None:
    # Imported here: bot.features imports the features, which import the storage.
    from bot.features.items import identity

    return identity.best_match(item, rows)


def item_key(item: ActionItem, scope: str = "") -> str:
    from bot.features.items import identity

    return identity.item_key(item, scope)


def is_position(ref: str | None) -> bool:
    from bot.features.items import identity

    return identity.is_position(ref)


def is_person(actor: str) -> bool:
    return actor not in NOT_PEOPLE


class ItemRecording(Store):
    """The part of `ItemStore` that records recaps' items."""

    def record(
        self,
        channel: Channel,
        recap_row: RecapRecord,
        recap: Recap,
        *,
        thread_id: str | None = None,
        requested_by: str | None = None,
        again: bool = False,
        now: datetime | None = None,
    ) -> list[ActionItemRecord]:
        """The recap's items, position for position: each the stored item it reports
        again (updated: wording, due, confidence, last recap, a `seen` event; never its
        status, nor an owner a person set) or a new one. Safe against a concurrent
        recording of the same item (the channel's keys are unique: retried). A retried
        job recording the same recap twice changes nothing, unless `again` (its recap was
        replaced: speakers named)."""
        for attempt in range(3):
            try:
                return self._record(
                    channel, recap_row, recap, thread_id, requested_by, again, now or utcnow()
                )
            except IntegrityError:  # another recap added the same item at the same moment
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _record(
        self,
        channel: Channel,
        recap_row: RecapRecord,
        recap: Recap,
        thread_id: str | None,
        requested_by: str | None,
        again: bool,
        now: datetime,
    ) -> list[ActionItemRecord]:
        reported = list(recap.action_items)
        recap_id, channel_id = row_id(recap_row), row_id(channel)
        with self._session() as session:
            # A position in a recording ("t=0:01:23") is the same item only in the same
            # recording: its transcript's recaps (or, without one, this recap).
            scope = (
                f"transcript:{recap_row.transcript_id}"
                if recap_row.transcript_id is not None
                else f"recap:{recap_id}"
            )
            same_recording = {recap_id}
            if recap_row.transcript_id is not None:
                same_recording |= {
                    other
                    for other in session.exec(
                        select(RecapRecord.id).where(
                            col(RecapRecord.transcript_id) == recap_row.transcript_id
                        )
                    ).all()
                    if other is not None
                }
            candidates = [
                row
                for row in self._candidates(session, channel_id, reported, scope)
                if not is_position(row.source_ref) or row.recap_id in same_recording
            ]
            owners_set = self._owners_set_by_people(session, [row_id(r) for r in candidates])
            shown = set(
                session.exec(
                    select(RecapItem.item_id).where(col(RecapItem.recap_id) == recap_id)
                ).all()
            )
            claimed: dict[str, ActionItemRecord] = {}  # key -> row, within this recap
            rows: list[ActionItemRecord] = []
            for position, item in enumerate(reported):
                free = [r for r in candidates if r.key not in claimed]
                row = best_match(item, free)
                if row is None and (key := item_key(item, scope)) in claimed:
                    row = claimed[key]  # the same item twice in one recap
                elif row is None:
                    row = self._new(channel, recap_id, item, key, thread_id, requested_by, now)
                    session.add(row)
                    session.flush()
                    candidates.append(row)
                    session.add(event_row(row, BOT, "created", None, str(recap_id), now))
                else:
                    owner_kept = row_id(row) in owners_set
                    self._seen(session, row, item, recap_id, owner_kept, again, now)
                claimed[row.key] = row
                if row_id(row) not in shown:
                    session.add(
                        RecapItem(recap_id=recap_id, item_id=row_id(row), position=position)
                    )
                    shown.add(row_id(row))
                rows.append(row)
            session.commit()
            return rows

    @staticmethod
    def _candidates(
        session: Session, channel_id: int, reported: Sequence[ActionItem], scope: str
    ) -> list[ActionItemRecord]:
        refs = sorted({item.ref for item in reported if item.ref})
        keys = sorted({item_key(item, scope) for item in reported})
        found: dict[int, ActionItemRecord] = {}
        for column, values in ((ActionItemRecord.source_ref, refs), (ActionItemRecord.key, keys)):
            for chunk in chunks(values):
                for row in session.exec(
                    select(ActionItemRecord).where(
                        col(ActionItemRecord.channel_id) == channel_id, col(column).in_(chunk)
                    )
                ).all():
                    found[row_id(row)] = row
        return [found[item_id] for item_id in sorted(found)]

    @staticmethod
    def _owners_set_by_people(session: Session, item_ids: list[int]) -> set[int]:
        people: set[int] = set()
        for chunk in chunks(item_ids):
            for item_id, actor in session.exec(
                select(ActionItemEvent.item_id, ActionItemEvent.actor).where(
                    col(ActionItemEvent.item_id).in_(chunk), col(ActionItemEvent.field) == "owner"
                )
            ).all():
                if is_person(actor):
                    people.add(item_id)
        return people

    @staticmethod
    def _new(
        channel: Channel,
        recap_id: int,
        item: ActionItem,
        key: str,
        thread_id: str | None,
        requested_by: str | None,
        now: datetime,
    ) -> ActionItemRecord:
        return ActionItemRecord(
            created_at=now,
            updated_at=now,
            recap_id=recap_id,
            workspace_id=channel.workspace_id,
            channel_id=row_id(channel),
            thread_id=thread_id,
            key=key,
            task=item.task,
            owner_id=item.owner_id,
            owner_name=item.owner,
            due=item.due,
            source_ref=item.ref,
            confidence=item.confidence,
            requested_by=requested_by,
        )

    @staticmethod
    def _seen(
        session: Session,
        row: ActionItemRecord,
        item: ActionItem,
        recap_id: int,
        owner_kept: bool,
        again: bool,
        now: datetime,
    ) -> None:
        """The item reported again: its wording, due date and (unless a person set one)
        owner as the recap says. A moved due date or owner moves `updated_at` like any
        change; the item's other posts are re-rendered once this recap is posted
        (`ItemStore.moved_by_recap`: its events are dated like this `seen`)."""
        if row.recap_id == recap_id and not again:
            return  # this recap recorded it already (a retried job)
        moved = False
        if item.due is not None and item.due != row.due:
            session.add(event_row(row, BOT, "due", date_text(row.due), date_text(item.due), now))
            row.due, moved = item.due, True
        if not owner_kept and _another_owner(row, item):
            old, new = row.owner_id or row.owner_name, item.owner_id or item.owner
            session.add(event_row(row, BOT, "owner", old, new, now))
            row.owner_id, row.owner_name = (
                item.owner_id,
                item.owner or (row.owner_name if item.owner_id == row.owner_id else None),
            )
            moved = True
        if moved:
            row.updated_at = max(now, later(row.updated_at))
        row.task, row.confidence, row.recap_id = item.task, item.confidence, recap_id
        session.add(row)
        session.add(event_row(row, BOT, "seen", None, str(recap_id), now))

    def drop_unreported(self, recap_id: int, item_ids: Iterable[int]) -> int:
        """Of `item_ids`, delete those a replaced recap no longer reports: last reported by
        it, shown by no recap now, never changed by a person."""
        ids = list(item_ids)
        if not ids:
            return 0
        with self._session() as session:
            touched = touched_by_people(session, ids)
            shown = set(
                session.exec(select(RecapItem.item_id).where(col(RecapItem.item_id).in_(ids))).all()
            )
            doomed = [i for i in ids if i not in touched and i not in shown]
            if not doomed:
                return 0
            deleted = delete_items(
                session,
                col(ActionItemRecord.id).in_(doomed),
                col(ActionItemRecord.recap_id) == recap_id,
            )
            session.commit()
            return deleted


def touched_by_people(session: Session, item_ids: Sequence[int]) -> set[int]:
    """Those of the items a person changed (status, owner, an export they asked for)."""
    touched: set[int] = set()
    for chunk in chunks(list(item_ids)):
        for item_id, actor in session.exec(
            select(ActionItemEvent.item_id, ActionItemEvent.actor).where(
                col(ActionItemEvent.item_id).in_(chunk)
            )
        ).all():
            if is_person(actor):
                touched.add(item_id)
    return touched


def later(moment: datetime) -> datetime:
    """Just after `moment`: two changes within one clock tick are still in order."""
    return moment + timedelta(microseconds=1)


def event_row(
    row: ActionItemRecord, actor: str, field: str, old: str | None, new: str | None, at: datetime
) -> ActionItemEvent:
    return ActionItemEvent(item_id=row_id(row), at=at, actor=actor[:64], field=field, old=old,
                           new=new)  # fmt: skip


def _another_owner(row: ActionItemRecord, item: ActionItem) -> bool:
    """The recap names another owner than the stored one (a name alone never replaces an
    owner known by id)."""
    if item.owner_id:
        return item.owner_id != row.owner_id
    return bool(item.owner) and row.owner_id is None and item.owner != row.owner_name


def date_text(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
