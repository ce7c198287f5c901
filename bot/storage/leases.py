"""Named, expiring lock rows: whoever holds one leads (the digest scheduler) until it
expires. Taking one is a conditional write, so of two processes one wins."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.storage.base import Store, rowcount
from bot.storage.models import SchedulerLease


class LeaseStore(Store):
    def acquire(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or renew lease `name` until `until`; False while another holder's lease
        has not expired at `now`."""
        with self._session() as session:
            renewed = rowcount(
                session,
                update(SchedulerLease)
                .where(col(SchedulerLease.name) == name)
                .where(
                    or_(
                        col(SchedulerLease.holder) == holder,
                        col(SchedulerLease.expires_at) < now,
                    )
                )
                .values(holder=holder, expires_at=until),
            )
            session.commit()
            if renewed == 1:
                return True
            session.add(SchedulerLease(name=name, holder=holder, expires_at=until))
            try:
                session.commit()
            except IntegrityError:  # held by another process
                return False
            return True

    def release(self, name: str, holder: str, now: datetime) -> None:
        """Let lease `name` expire now, if `holder` still holds it."""
        with self._session() as session:
            session.execute(
                update(SchedulerLease)
                .where(col(SchedulerLease.name) == name, col(SchedulerLease.holder) == holder)
                .values(expires_at=now - timedelta(seconds=1))
            )
            session.commit()
