"""Digest subscriptions (one per channel), their runs (one row per scheduled slot, unique,
so a slot is posted at most once), and the open items earlier digests reported."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.storage.base import Store
from bot.storage.models import (
    ActionItemRecord,
    DigestRun,
    DigestSubscription,
    utcnow,
)

# What re-subscribing a channel changes; its place and `post_when_quiet` stay as they were.
RESUBSCRIBED = ("cadence", "weekday", "hour", "minute", "timezone", "active", "created_by")


class DigestStore(Store):
    # --- subscriptions -----------------------------------------------------------------

    def subscription(self, channel_id: int) -> DigestSubscription | None:
        """The channel's subscription, active or not."""
        with self._session() as session:
            return session.exec(
                select(DigestSubscription).where(col(DigestSubscription.channel_id) == channel_id)
            ).first()

    def get(self, subscription_id: int) -> DigestSubscription | None:
        with self._session() as session:
            return session.get(DigestSubscription, subscription_id)

    def active(self) -> list[DigestSubscription]:
        with self._session() as session:
            return list(
                session.exec(select(DigestSubscription).where(col(DigestSubscription.active))).all()
            )

    def subscribe(self, wanted: DigestSubscription) -> DigestSubscription:
        """Store `wanted` as its channel's subscription; a channel subscribed before keeps
        its row and takes the new schedule (`RESUBSCRIBED`)."""
        with self._session() as session:
            row = session.exec(
                select(DigestSubscription).where(
                    col(DigestSubscription.channel_id) == wanted.channel_id
                )
            ).first()
            if row is None:
                row = wanted
            else:
                for name in RESUBSCRIBED:
                    setattr(row, name, getattr(wanted, name))
            session.add(row)
            session.commit()
            return row

    def deactivate(self, subscription_id: int) -> None:
        with self._session() as session:
            row = session.get(DigestSubscription, subscription_id)
            if row is not None:
                row.active = False
                session.add(row)
                session.commit()

    # --- runs --------------------------------------------------------------------------

    def start_run(
        self, subscription_id: int, slot: datetime, first_since: datetime
    ) -> tuple[DigestRun, bool]:
        """The run row of this slot, created on first call; (run, finished already). Its
        window starts where the last posted (or quiet) run before it ended, or at
        `first_since` for a subscription's first digest."""
        with self._session() as session:
            run = session.exec(
                select(DigestRun).where(
                    col(DigestRun.subscription_id) == subscription_id, col(DigestRun.slot) == slot
                )
            ).first()
            if run is not None:
                return run, run.status != "running"
            previous = session.exec(
                select(DigestRun)
                .where(
                    col(DigestRun.subscription_id) == subscription_id,
                    col(DigestRun.status).in_(["posted", "quiet"]),
                    col(DigestRun.slot) < slot,
                )
                .order_by(col(DigestRun.slot).desc())
            ).first()
            since = previous.window_end if previous else first_since
            run = DigestRun(
                subscription_id=subscription_id, slot=slot, window_start=since, window_end=slot
            )
            session.add(run)
            try:
                session.commit()
            except IntegrityError:  # another worker started the same slot
                session.rollback()
                return self.start_run(subscription_id, slot, first_since)
            return run, False

    def finish_run(self, run_id: int, status: str, message_id: str | None) -> None:
        with self._session() as session:
            row = session.get(DigestRun, run_id)
            if row is None:  # the channel was forgotten while its digest ran
                return
            row.status, row.message_id, row.finished_at = status, message_id, utcnow()
            session.add(row)
            session.commit()

    # --- items still open --------------------------------------------------------------

    def reported_open_items(
        self,
        workspace_id: int,
        channel_id: int,
        before: datetime,
        limit: int,
        exclude: Collection[int] = (),
    ) -> list[tuple[ActionItemRecord, datetime]]:
        """Open items of the channel first reported before `before` (the window's start),
        oldest first, each with when it was first reported (its `created_at`); `exclude`:
        the items the digest itself reports again."""
        with self._session() as session:
            query = select(ActionItemRecord).where(
                col(ActionItemRecord.workspace_id) == workspace_id,
                col(ActionItemRecord.channel_id) == channel_id,
                col(ActionItemRecord.status) == "open",
                col(ActionItemRecord.created_at) < before,
            )
            if exclude:
                query = query.where(col(ActionItemRecord.id).not_in(list(exclude)))
            rows = session.exec(
                query.order_by(col(ActionItemRecord.created_at), col(ActionItemRecord.id)).limit(
                    limit
                )
            ).all()
        return [(item, item.created_at) for item in rows]
