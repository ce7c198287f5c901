"""Tracker links (one per channel) and the export state of items: claimed with a
conditional update, so two presses (or two processes) start one export; the created
issue stored once; tracker webhooks find their item by the issue's ref or id."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from bot.storage.base import Store, rowcount
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


def new_export_token() -> str:
    """64 random bits, in hex: no two exports (of any item, in any deployment) share one."""
    return secrets.token_hex(8)


@dataclass(frozen=True, kw_only=True)
class ItemHome:
    """Where an item lives on its platform: its channel, and the thread of the recap
    that last reported it (where export news is told)."""

    platform: str
    workspace: str
    channel: str
    thread: str | None


class TrackerStore(Store):
    # --- links ---------------------------------------------------------------------------

    def link(
        self, workspace_id: int, channel_id: int, tracker: str, target: str, created_by: str
    ) -> TrackerLink:
        """Link the channel to `tracker`/`target`, replacing its earlier link."""
        with self._session() as session:
            row = session.exec(
                select(TrackerLink).where(col(TrackerLink.channel_id) == channel_id)
            ).first() or TrackerLink(
                workspace_id=workspace_id, channel_id=channel_id, tracker=tracker, target=target
            )
            row.tracker, row.target, row.created_by = tracker, target, created_by
            row.created_at = utcnow()
            session.add(row)
            session.commit()
            return row

    def unlink(self, channel_id: int) -> TrackerLink | None:
        with self._session() as session:
            row = session.exec(
                select(TrackerLink).where(col(TrackerLink.channel_id) == channel_id)
            ).first()
            if row is not None:
                session.delete(row)
                session.commit()
            return row

    def link_of(self, channel_id: int) -> TrackerLink | None:
        with self._session() as session:
            return session.exec(
                select(TrackerLink).where(col(TrackerLink.channel_id) == channel_id)
            ).first()

    # --- export ------------------------------------------------------------------------

    def item(self, item_id: int) -> ActionItemRecord | None:
        with self._session() as session:
            return session.get(ActionItemRecord, item_id)

    def linked_items(self, item_ids: list[int]) -> list[tuple[ActionItemRecord, TrackerLink]]:
        """Those of `item_ids` whose channel has a tracker link, with the link."""
        if not item_ids:
            return []
        with self._session() as session:
            rows = session.exec(
                select(ActionItemRecord, TrackerLink)
                .join(TrackerLink, col(TrackerLink.channel_id) == ActionItemRecord.channel_id)
                .where(col(ActionItemRecord.id).in_(item_ids))
            ).all()
            return [(item, link) for item, link in rows]

    def items_of_recap(self, recap_id: int) -> list[int]:
        """The ids of the items a recap shows (RecapItem rows), in its order."""
        with self._session() as session:
            return list(
                session.exec(
                    select(RecapItem.item_id)
                    .where(col(RecapItem.recap_id) == recap_id)
                    .order_by(col(RecapItem.position))
                ).all()
            )

    def claim_export(self, item_id: int, tracker: str, actor: str) -> bool:
        """Mark the item's export pending, unless it is pending or created already (a
        second press, another process): True for the one caller that claimed it. The first
        claim gives the item its random export token (the marker its issue carries); a
        retry after a failure keeps it, so it finds an issue the failed attempt made."""
        with self._session() as session:
            claimed = rowcount(
                session,
                update(ActionItemRecord)
                .where(
                    col(ActionItemRecord.id) == item_id,
                    col(ActionItemRecord.tracker_ref).is_(None),
                    or_(
                        col(ActionItemRecord.export_state).is_(None),
                        col(ActionItemRecord.export_state) == "failed",
                    ),
                )
                .values(
                    export_state="pending",
                    tracker=tracker,
                    export_token=func.coalesce(ActionItemRecord.export_token, new_export_token()),
                    updated_at=utcnow(),
                ),
            )
            if claimed:
                _event(session, item_id, actor, old=None, new="pending")
            session.commit()
            return bool(claimed)

    def export_attempt(self, item_id: int) -> int:
        """How many exports of the item failed before: the number of this one."""
        with self._session() as session:
            failed = session.exec(
                select(func.count())
                .select_from(ActionItemEvent)
                .where(
                    col(ActionItemEvent.item_id) == item_id,
                    col(ActionItemEvent.field) == "export",
                    col(ActionItemEvent.new) == "failed",
                )
            ).one()
            return int(failed)

    def store_created(self, item_id: int, ref: str, url: str, tracker_id: str) -> bool:
        """Store the created issue (once: False when the item has one already, or is gone)."""
        with self._session() as session:
            stored = rowcount(
                session,
                update(ActionItemRecord)
                .where(
                    col(ActionItemRecord.id) == item_id, col(ActionItemRecord.tracker_ref).is_(None)
                )
                .values(
                    tracker_ref=ref,
                    tracker_url=url,
                    tracker_id=tracker_id,
                    export_state="created",
                    updated_at=utcnow(),
                ),
            )
            if stored:
                _event(session, item_id, "bot", old="pending", new=ref)
            session.commit()
            return bool(stored)

    def mark_failed(self, item_id: int) -> bool:
        with self._session() as session:
            failed = rowcount(
                session,
                update(ActionItemRecord)
                .where(
                    col(ActionItemRecord.id) == item_id,
                    col(ActionItemRecord.export_state) == "pending",
                )
                .values(export_state="failed", updated_at=utcnow()),
            )
            if failed:
                _event(session, item_id, "bot", old="pending", new="failed")
            session.commit()
            return bool(failed)

    # --- webhooks ------------------------------------------------------------------------

    def items_of_issue(self, tracker: str, refs: tuple[str, ...]) -> list[ActionItemRecord]:
        """The items exported as the issue a webhook names (by its ref or its id)."""
        if not refs:
            return []
        with self._session() as session:
            return list(
                session.exec(
                    select(ActionItemRecord).where(
                        col(ActionItemRecord.tracker) == tracker,
                        or_(
                            col(ActionItemRecord.tracker_ref).in_(refs),
                            col(ActionItemRecord.tracker_id).in_(refs),
                        ),
                    )
                ).all()
            )

    def home_of(self, item: ActionItemRecord) -> ItemHome | None:
        with self._session() as session:
            channel = session.get(Channel, item.channel_id)
            workspace = session.get(Workspace, item.workspace_id)
            if channel is None or workspace is None:
                return None
            post: dict[str, Any] = {}
            if item.recap_id is not None and (recap := session.get(RecapRecord, item.recap_id)):
                post = recap.post or {}
            thread = post.get("thread") or post.get("message_id") or item.thread_id
            return ItemHome(
                platform=workspace.platform,
                workspace=workspace.external_id,
                channel=post.get("channel") or channel.external_id,
                thread=thread,
            )


def _event(session: Session, item_id: int, actor: str, *, old: str | None, new: str) -> None:
    """History of an export: pending, then the issue's ref, or failed."""
    session.add(
        ActionItemEvent(item_id=item_id, actor=actor[:64], field="export", old=old, new=new[:200])
    )


__all__ = ["ItemHome", "TrackerStore", "new_export_token"]
