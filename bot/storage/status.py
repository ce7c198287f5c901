"""Read-only queries for operators: the job queue's state (`/metrics`, `/admin`), recent
failures, installations and digest subscriptions (`/admin`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from bot.storage.base import Store
from bot.storage.models import Channel, DigestSubscription, Job, Workspace


class StatusQueries(Store):
    def job_counts(self) -> list[tuple[str, str, int]]:
        """(kind, status, count) for every kind and status that has jobs."""
        with self._session() as session:
            rows = session.exec(
                select(Job.kind, Job.status, func.count()).group_by(col(Job.kind), col(Job.status))
            ).all()
        return [(kind, status, count) for kind, status, count in rows]

    def oldest_queued(self) -> dict[str, datetime]:
        """When the oldest queued job of each kind was created."""
        with self._session() as session:
            rows = session.exec(
                select(Job.kind, func.min(Job.created_at))
                .where(col(Job.status) == "queued")
                .group_by(col(Job.kind))
            ).all()
        return {kind: oldest for kind, oldest in rows if oldest is not None}

    def recent_failures(self, limit: int = 20) -> list[Job]:
        with self._session() as session:
            return list(
                session.exec(
                    select(Job)
                    .where(col(Job.status) == "failed")
                    .order_by(col(Job.id).desc())
                    .limit(limit)
                ).all()
            )

    def workspaces(self) -> list[Workspace]:
        with self._session() as session:
            return list(session.exec(select(Workspace).order_by(col(Workspace.id))).all())

    def active_subscriptions(self) -> list[tuple[DigestSubscription, Channel]]:
        """Digest subscriptions that run, with their channel."""
        with self._session() as session:
            rows = session.exec(
                select(DigestSubscription, Channel)
                .join(Channel, col(Channel.id) == col(DigestSubscription.channel_id))
                .where(col(DigestSubscription.active))
            ).all()
        return [(subscription, channel) for subscription, channel in rows]
