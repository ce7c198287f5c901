"""The job table's queries: insert once per idempotency key, claim with a lease, renew,
hand back, record the outcome, and mark what was sent to a broker. Every write that
changes who holds a job is conditional, so two workers never both win it; the queue's
policy (lease length, backoff, when to re-send) lives in `bot.jobs`."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage.base import Store, rowcount
from bot.storage.models import Job


def claimable(now: datetime) -> ColumnElement[bool]:
    """Runnable now: queued and due, or running with an expired lease (its worker died)."""
    return or_(
        (col(Job.status) == "queued") & (col(Job.run_after) <= now),
        (col(Job.status) == "running") & (col(Job.lease_expires_at) < now),
    )


class JobStore(Store):
    def insert(self, job: Job) -> tuple[Job, bool]:
        """Store `job` unless one with its idempotency key exists; (the stored job, created)."""
        with self._session() as session:
            session.add(job)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                existing = session.exec(
                    select(Job).where(col(Job.idempotency_key) == job.idempotency_key)
                ).one()
                return existing, False
        return job, True

    def get(self, job_id: int) -> Job | None:
        with self._session() as session:
            return session.get(Job, job_id)

    def counts(self) -> dict[str, int]:
        """How many jobs have each status."""
        with self._session() as session:
            rows = session.exec(select(Job.status, func.count()).group_by(col(Job.status))).all()
        return {status: count for status, count in rows}

    # --- claiming and holding ----------------------------------------------------------

    def claim(
        self, worker_id: str, now: datetime, lease_until: datetime, kinds: Collection[str] | None
    ) -> Job | None:
        """Take the oldest job runnable at `now` (of `kinds`, when given)."""
        with self._session() as session:
            query = select(Job.id).where(claimable(now)).order_by(col(Job.id)).limit(10)
            if kinds is not None:
                query = query.where(col(Job.kind).in_(list(kinds)))
            for job_id in session.exec(query).all():
                if job := self._take(session, job_id, worker_id, now, lease_until):
                    return job
        return None

    def claim_id(
        self,
        job_id: int,
        worker_id: str,
        now: datetime,
        lease_until: datetime,
        kinds: Collection[str],
    ) -> Job | None:
        """Take job `job_id` if it is runnable at `now` and of one of `kinds`."""
        with self._session() as session:
            return self._take(session, job_id, worker_id, now, lease_until, kinds)

    @staticmethod
    def _take(
        session: Session,
        job_id: int | None,  # as selected: never None for a stored row
        worker_id: str,
        now: datetime,
        lease_until: datetime,
        kinds: Collection[str] | None = None,
    ) -> Job | None:
        condition = claimable(now)
        if kinds is not None:
            condition &= col(Job.kind).in_(list(kinds))
        taken = rowcount(
            session,
            update(Job)
            .where(col(Job.id) == job_id, condition)
            .values(
                status="running",
                worker_id=worker_id,
                attempts=col(Job.attempts) + 1,
                lease_expires_at=lease_until,
                updated_at=now,
            ),
        )
        session.commit()
        if taken != 1:  # another worker took it between select and update
            return None
        return session.get(Job, job_id, populate_existing=True)

    def renew(
        self,
        job_id: int,
        worker_id: str,
        now: datetime,
        lease_until: datetime,
        progress: float | None = None,
    ) -> bool:
        """Extend the lease of a running job `worker_id` holds (storing `progress`); False
        when it holds it no more."""
        values: dict[str, Any] = {"lease_expires_at": lease_until, "updated_at": now}
        if progress is not None:
            values["progress"] = progress
        return self._update_held(job_id, worker_id, values)

    def hand_back(
        self, job_id: int, worker_id: str, now: datetime, run_after: datetime | None = None
    ) -> bool:
        """Queue a running job `worker_id` holds again, runnable at `run_after` (at once by
        default) and not counting the attempt; False when it holds it no more."""
        return self._update_held(
            job_id,
            worker_id,
            {
                "status": "queued",
                "worker_id": None,
                "lease_expires_at": None,
                "attempts": col(Job.attempts) - 1,
                "run_after": run_after or now,
                "updated_at": now,
                "dispatched_at": None,  # the broker executor sends it again
            },
        )

    def _update_held(self, job_id: int, worker_id: str, values: dict[str, Any]) -> bool:
        with self._session() as session:
            changed = rowcount(
                session,
                update(Job)
                .where(col(Job.id) == job_id, col(Job.worker_id) == worker_id)
                .where(col(Job.status) == "running")
                .values(**values),
            )
            session.commit()
        return changed == 1

    def record(self, job_id: int, worker_id: str, now: datetime, **values: Any) -> None:
        """Store an attempt's outcome (`status`, `error`, `result`…) and drop the lease,
        unless another worker took the job over meanwhile."""
        with self._session() as session:
            session.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.worker_id) == worker_id)
                .values(updated_at=now, lease_expires_at=None, **values)
            )
            session.commit()

    # --- sending to a broker -----------------------------------------------------------

    def due_for_dispatch(
        self, now: datetime, resend_after: timedelta, kinds: Collection[str], limit: int
    ) -> list[Job]:
        """Runnable jobs of `kinds` to (re-)send: never sent, whose worker died (lease
        expired since the last send), or sent over `resend_after` ago and not started."""
        sent = col(Job.dispatched_at)
        due = (
            claimable(now)
            & col(Job.kind).in_(list(kinds))
            & or_(
                sent.is_(None),
                sent < now - resend_after,
                (col(Job.status) == "running") & (sent < col(Job.lease_expires_at)),
            )
        )
        with self._session() as session:
            return list(
                session.exec(select(Job).where(due).order_by(col(Job.id)).limit(limit)).all()
            )

    def mark_sent(self, job_id: int, previous: datetime | None, now: datetime) -> bool:
        """Mark a job sent at `now` unless another process did since it read `previous`
        (its `dispatched_at`): of two processes re-sending the same job, one does."""
        sent_before = col(Job.dispatched_at)
        with self._session() as session:
            changed = rowcount(
                session,
                update(Job)
                .where(col(Job.id) == job_id)
                .where(sent_before.is_(None) if previous is None else sent_before == previous)
                .values(dispatched_at=now),
            )
            session.commit()
        return changed == 1

    def unmark_sent(self, job_id: int, sent_at: datetime | None) -> None:
        """Undo `mark_sent` (the broker refused), unless it was sent again since."""
        with self._session() as session:
            session.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.dispatched_at) == sent_at)
                .values(dispatched_at=None)
            )
            session.commit()
