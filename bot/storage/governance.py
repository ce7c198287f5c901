"""Data governance: `forget` a channel, retention (`purge_expired`), and clearing the
API's finished results. Deletes for good; callers checkpoint SQLite afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bot.storage.base import (
    FINISHED,
    ChannelKey,
    Store,
    chunks,
    payload_channels,
    row_id,
    rowcount,
)
from bot.storage.item_deletion import delete_items, delete_recaps
from bot.storage.models import (
    ActionItemRecord,
    Channel,
    Delivery,
    DigestRun,
    DigestSubscription,
    Job,
    ProcessedEvent,
    RecapRecord,
    StoredMessage,
    TrackerLink,
    TranscriptRecord,
    Workspace,
)


class Governance(Store):
    """Deleting what a channel or the server no longer keeps (part of `Repository`)."""

    def forget_channel(self, channel: Channel) -> dict[str, int]:
        """Delete everything stored for a channel: its messages, transcripts, recaps and
        items, its digest (subscription and runs), the records of what was posted there,
        and every job that names it (payloads hold file names and URLs, results hold
        transcripts), whatever their status: a queued job never runs, and a running one
        finds its row gone and stores nothing more (`save_transcript`, `save_recap`).
        Counts by kind."""
        scope = {"workspace_id": channel.workspace_id, "channel_id": channel.id}
        counts: dict[str, int] = {}
        with self._session() as session:
            workspace = session.get(Workspace, channel.workspace_id)
            assert workspace is not None
            key = (workspace.platform, workspace.external_id, channel.external_id)
            subscription_ids = set(
                session.exec(
                    select(DigestSubscription.id).where(
                        col(DigestSubscription.channel_id) == channel.id
                    )
                ).all()
            )
            job_ids = [
                job_id
                for job_id, payload in session.exec(select(Job.id, Job.payload)).yield_per(1000)
                if job_id is not None
                and (
                    key in set(payload_channels(payload))
                    or (payload or {}).get("subscription_id") in subscription_ids
                )
            ]
            if subscription_ids:
                session.execute(
                    delete(DigestRun).where(col(DigestRun.subscription_id).in_(subscription_ids))
                )
                session.execute(
                    delete(DigestSubscription).where(
                        col(DigestSubscription.id).in_(subscription_ids)
                    )
                )
            counts["items"] = delete_items(
                session,
                col(ActionItemRecord.workspace_id) == channel.workspace_id,
                col(ActionItemRecord.channel_id) == channel.id,
            )
            counts["recaps"] = delete_recaps(
                session,
                col(RecapRecord.workspace_id) == channel.workspace_id,
                col(RecapRecord.channel_id) == channel.id,
            )
            # Its tracker link goes too (issues already created stay in the tracker).
            session.execute(delete(TrackerLink).where(col(TrackerLink.channel_id) == channel.id))
            for name, model in (
                ("transcripts", TranscriptRecord),
                ("messages", StoredMessage),
            ):
                counts[name] = rowcount(
                    session,
                    delete(model).where(
                        *(getattr(model, field) == value for field, value in scope.items())
                    ),
                )
            counts["jobs"] = self._delete_jobs(session, job_ids)
            session.execute(
                delete(Delivery).where(
                    col(Delivery.platform) == workspace.platform,
                    col(Delivery.channel) == channel.external_id,
                )
            )
            session.commit()
        return counts

    @staticmethod
    def _delete_jobs(session: Session, job_ids: list[int]) -> int:
        deleted = 0
        for chunk in chunks(job_ids):
            # A recap kept elsewhere (a cross-channel recap) only loses its link to the job.
            session.execute(
                update(RecapRecord).where(col(RecapRecord.job_id).in_(chunk)).values(job_id=None)
            )
            deleted += rowcount(session, delete(Job).where(col(Job.id).in_(chunk)))
        return deleted

    def expire_results(self, kind: str, before: datetime) -> list[dict[str, Any]]:
        """Clear the payload and result of `kind` jobs finished before `before` (the row
        stays, marked `expired`, so that a poll can say so); returns the old payloads (the
        caller deletes the files they name)."""
        with self._session() as session:
            rows = session.exec(
                select(Job.id, Job.payload).where(
                    col(Job.kind) == kind,
                    col(Job.status).in_(FINISHED),
                    col(Job.finished_at) < before,
                )
            ).all()
            fresh: list[tuple[int, dict[str, Any]]] = [
                (job_id, dict(payload or {}))
                for job_id, payload in rows
                if job_id is not None and not (payload or {}).get("expired")
            ]
            for chunk in chunks([job_id for job_id, _ in fresh]):
                session.execute(
                    update(Job)
                    .where(col(Job.id).in_(chunk))
                    .values(payload={"expired": True}, result=None, error=None)
                )
            session.commit()
        return [payload for _, payload in fresh]

    def prune_events(self, before: datetime) -> int:
        """Forget event ids recorded before `before`: platforms retry within minutes and
        trackers redeliver within days, so old ids only fill the table."""
        with self._session() as session:
            gone = session.execute(
                delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < before)
            )
            session.commit()
            return int(getattr(gone, "rowcount", 0) or 0)

    def purge_expired(self, now: datetime, default_days: int | None) -> dict[str, int]:
        """Apply retention: each channel's own `retention_days`, else `default_days`."""
        counts = {"messages": 0, "transcripts": 0, "recaps": 0, "items": 0, "jobs": 0}
        with self._session() as session:
            channels = session.exec(select(Channel, Workspace).join(Workspace)).all()
            cutoffs: dict[ChannelKey, datetime] = {}
            by_id: dict[int, datetime] = {}
            for channel, workspace in channels:
                days = channel.retention_days or default_days
                if not days:
                    continue
                cutoff = now - timedelta(days=days)
                cutoffs[(workspace.platform, workspace.external_id, channel.external_id)] = cutoff
                by_id[row_id(channel)] = cutoff
                session.execute(
                    delete(Delivery).where(
                        col(Delivery.platform) == workspace.platform,
                        col(Delivery.channel) == channel.external_id,
                        col(Delivery.created_at) < cutoff,
                    )
                )
                where = {"workspace_id": channel.workspace_id, "channel_id": channel.id}
                old_recaps = select(RecapRecord.id).where(
                    col(RecapRecord.channel_id) == channel.id, col(RecapRecord.created_at) < cutoff
                )
                counts["items"] += delete_items(
                    session, col(ActionItemRecord.recap_id).in_(old_recaps)
                )
                # A recap kept longer than its transcript (made a moment later) loses the link.
                old_transcripts = select(TranscriptRecord.id).where(
                    col(TranscriptRecord.channel_id) == channel.id,
                    col(TranscriptRecord.created_at) < cutoff,
                )
                session.execute(
                    update(RecapRecord)
                    .where(col(RecapRecord.transcript_id).in_(old_transcripts))
                    .values(transcript_id=None)
                )
                counts["recaps"] += delete_recaps(
                    session,
                    *(getattr(RecapRecord, f) == v for f, v in where.items()),
                    col(RecapRecord.created_at) < cutoff,
                )
                for name, model, column in (
                    ("transcripts", TranscriptRecord, TranscriptRecord.created_at),
                    ("messages", StoredMessage, StoredMessage.sent_at),
                ):
                    counts[name] += rowcount(
                        session,
                        delete(model).where(
                            *(getattr(model, f) == v for f, v in where.items()),
                            col(column) < cutoff,
                        ),
                    )
            default = now - timedelta(days=default_days) if default_days else None
            counts["jobs"] = self._purge_jobs(session, cutoffs, by_id, default)
            session.commit()
        return counts

    def _purge_jobs(
        self,
        session: Session,
        cutoffs: dict[ChannelKey, datetime],
        channel_cutoffs: dict[int, datetime],
        default: datetime | None,
    ) -> int:
        """Finished jobs older than what the channels they name keep (the strictest of
        them); jobs that name no channel, after the server-wide default."""
        subscriptions = {
            sub_id: channel_cutoffs[channel_id]
            for sub_id, channel_id in session.exec(
                select(DigestSubscription.id, DigestSubscription.channel_id)
            ).all()
            if channel_id in channel_cutoffs
        }
        latest = max([*cutoffs.values(), *([default] if default else [])], default=None)
        if latest is None:
            return 0
        candidates = session.exec(
            select(Job.id, Job.payload, Job.finished_at).where(
                col(Job.status).in_(FINISHED), col(Job.finished_at) < latest
            )
        ).yield_per(1000)
        doomed: list[int] = []
        for job_id, payload, finished_at in candidates:
            if job_id is None or finished_at is None:
                continue
            named = [cutoffs[k] for k in payload_channels(payload) if k in cutoffs]
            if (sub := (payload or {}).get("subscription_id")) in subscriptions:
                named.append(subscriptions[sub])
            cutoff = max(named) if named else default
            if cutoff is not None and finished_at < cutoff:
                doomed.append(job_id)
        return self._delete_jobs(session, doomed)
