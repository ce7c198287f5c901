"""Queries the core needs, each scoped by workspace. Synchronous: callers run them in a
thread (`asyncio.to_thread`) so the event loop never waits on the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from bot.storage.db import checkpoint
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
    TranscriptRecord,
    Workspace,
)
from summarizer.types import Recap

T = TypeVar("T", bound=SQLModel)
ChannelKey = tuple[str, str, str]  # (platform, workspace external id, channel external id)
FINISHED = ("done", "failed")
_CHUNK = 500


def payload_channels(value: Any) -> Iterator[ChannelKey]:
    """Every channel a job payload names: each nested dict shaped like a `Place` (the
    recap's source, a reply's place, a meeting's place…), whatever the job kind."""
    if isinstance(value, dict):
        keys = (value.get("platform"), value.get("workspace"), value.get("channel"))
        if all(isinstance(key, str) for key in keys):
            yield keys  # type: ignore[misc]
        for item in value.values():
            yield from payload_channels(item)
    elif isinstance(value, list):
        for item in value:
            yield from payload_channels(item)


def _chunks(ids: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def checkpoint(self) -> None:
        """After deleting for good: leave no old copies in SQLite's write-ahead log."""
        checkpoint(self.engine)

    # --- events and deliveries ---------------------------------------------------------

    def first_time_seen(self, key: str) -> bool:
        """Record a platform event id; False if it was seen before (a retry)."""
        with self._session() as session:
            session.add(ProcessedEvent(key=key))
            try:
                session.commit()
            except IntegrityError:
                return False
        return True

    def forget_event(self, key: str) -> None:
        """Undo `first_time_seen` when the event could not be handled, so a retry is."""
        with self._session() as session:
            session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.key) == key))
            session.commit()

    def delivery(self, key: str) -> Delivery | None:
        with self._session() as session:
            return session.get(Delivery, key)

    def begin_delivery(self, key: str, platform: str, channel: str) -> None:
        """Note that a post is about to be made (message id still empty): a retry that finds
        it so knows the platform may have accepted the post before a crash."""
        with self._session() as session:
            if session.get(Delivery, key) is None:
                session.add(Delivery(key=key, platform=platform, channel=channel, message_id=""))
                try:
                    session.commit()
                except IntegrityError:  # another worker began it first
                    session.rollback()

    def record_delivery(self, key: str, platform: str, channel: str, message_id: str) -> None:
        with self._session() as session:
            session.merge(
                Delivery(key=key, platform=platform, channel=channel, message_id=message_id)
            )
            session.commit()

    # --- workspaces and channels -------------------------------------------------------

    def _get_or_create(self, model: type[T], match: dict[str, Any], fields: dict[str, Any]) -> T:
        """The row matching `match`, created on first sight; `fields` update it when given."""
        with self._session() as session:
            query = select(model)
            for name, value in match.items():
                query = query.where(getattr(model, name) == value)
            row = session.exec(query).first()
            if row is None:
                row = model(**match, **fields)
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:  # created concurrently
                    session.rollback()
                    return self._get_or_create(model, match, fields)
            elif fields:
                for name, value in fields.items():
                    setattr(row, name, value)
                session.add(row)
                session.commit()
            return row

    def workspace(self, platform: str, external_id: str, **fields: Any) -> Workspace:
        """The workspace row, created on first sight; `fields` update it when given."""
        return self._get_or_create(
            Workspace, {"platform": platform, "external_id": external_id}, fields
        )

    def find_workspace(self, platform: str, external_id: str) -> Workspace | None:
        with self._session() as session:
            return session.exec(
                select(Workspace).where(
                    Workspace.platform == platform, Workspace.external_id == external_id
                )
            ).first()

    def channel(self, workspace_id: int, external_id: str, **fields: Any) -> Channel:
        return self._get_or_create(
            Channel, {"workspace_id": workspace_id, "external_id": external_id}, fields
        )

    # --- messages ----------------------------------------------------------------------

    def upsert_message(self, channel: Channel, **fields: Any) -> StoredMessage:
        with self._session() as session:
            row = session.exec(
                select(StoredMessage).where(
                    StoredMessage.channel_id == channel.id,
                    StoredMessage.external_id == fields["external_id"],
                )
            ).first()
            if row is None:
                row = StoredMessage(
                    workspace_id=channel.workspace_id, channel_id=channel.id, **fields
                )
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # the same message arrived twice at once
                session.rollback()
            return row

    def edit_message(
        self, channel: Channel, external_id: str, text: str, edited_at: datetime
    ) -> bool:
        """Apply an edit; action items derived from the message are dropped (stale)."""
        with self._session() as session:
            row = session.exec(
                select(StoredMessage).where(
                    StoredMessage.channel_id == channel.id, StoredMessage.external_id == external_id
                )
            ).first()
            if row is None:
                return False
            row.text, row.edited_at = text, edited_at
            session.add(row)
            session.execute(
                delete(ActionItemRecord).where(
                    col(ActionItemRecord.workspace_id) == channel.workspace_id,
                    col(ActionItemRecord.channel_id) == channel.id,
                    col(ActionItemRecord.source_ref) == external_id,
                )
            )
            session.commit()
        return True

    def delete_message(self, channel: Channel, external_id: str) -> None:
        """A deleted message takes what was derived from it: stored copy, items, transcripts."""
        with self._session() as session:
            for model, column in (
                (StoredMessage, StoredMessage.external_id),
                (ActionItemRecord, ActionItemRecord.source_ref),
                (TranscriptRecord, TranscriptRecord.source_message_id),
            ):
                session.execute(
                    delete(model).where(
                        col(model.workspace_id) == channel.workspace_id,
                        col(model.channel_id) == channel.id,
                        col(column) == external_id,
                    )
                )
            session.commit()

    def messages(
        self,
        channel: Channel,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        thread: str | None = None,
    ) -> list[StoredMessage]:
        with self._session() as session:
            query = select(StoredMessage).where(
                StoredMessage.workspace_id == channel.workspace_id,
                StoredMessage.channel_id == channel.id,
            )
            if since is not None:
                query = query.where(col(StoredMessage.sent_at) >= since)
            if until is not None:
                query = query.where(col(StoredMessage.sent_at) <= until)
            if thread is not None:
                query = query.where(
                    (col(StoredMessage.thread_id) == thread)
                    | (col(StoredMessage.external_id) == thread)
                )
            return list(session.exec(query.order_by(col(StoredMessage.sent_at))).all())

    # --- results -----------------------------------------------------------------------

    def save_transcript(
        self, channel: Channel, *, for_job: int | None = None, **fields: Any
    ) -> TranscriptRecord | None:
        """Store a transcript; None, storing nothing, when `for_job` is gone (its channel
        was forgotten while it ran)."""
        with self._session() as session:
            if for_job is not None and session.get(Job, for_job) is None:
                return None
            row = TranscriptRecord(
                workspace_id=channel.workspace_id, channel_id=channel.id, **fields
            )
            session.add(row)
            session.commit()
            return row

    def save_recap(self, channel: Channel, recap: Recap, **fields: Any) -> RecapRecord | None:
        """Store a recap and its action items; None when its `job_id` is gone (forgotten)."""
        with self._session() as session:
            if fields.get("job_id") is not None and session.get(Job, fields["job_id"]) is None:
                return None
            row = RecapRecord(
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                engine=recap.engine,
                input_tokens=recap.input_tokens,
                output_tokens=recap.output_tokens,
                recap=recap.model_dump(mode="json"),
                **fields,
            )
            session.add(row)
            session.flush()
            for item in recap.action_items:
                session.add(
                    ActionItemRecord(
                        recap_id=row.id,
                        workspace_id=channel.workspace_id,
                        channel_id=channel.id,
                        task=item.task,
                        owner_id=item.owner_id,
                        owner_name=item.owner,
                        due=item.due,
                        source_ref=item.ref,
                        confidence=item.confidence,
                    )
                )
            session.commit()
            return row

    def action_items(self, channel: Channel) -> list[ActionItemRecord]:
        with self._session() as session:
            return list(
                session.exec(
                    select(ActionItemRecord).where(
                        ActionItemRecord.workspace_id == channel.workspace_id,
                        ActionItemRecord.channel_id == channel.id,
                    )
                ).all()
            )

    # --- data governance -----------------------------------------------------------------

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
                if key in set(payload_channels(payload))
                or (payload or {}).get("subscription_id") in subscription_ids
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
            for name, model in (
                ("items", ActionItemRecord),
                ("recaps", RecapRecord),
                ("transcripts", TranscriptRecord),
                ("messages", StoredMessage),
            ):
                result = session.execute(
                    delete(model).where(
                        *(getattr(model, field) == value for field, value in scope.items())
                    )
                )
                counts[name] = result.rowcount
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
        for chunk in _chunks(job_ids):
            # A recap kept elsewhere (a cross-channel recap) only loses its link to the job.
            session.execute(
                update(RecapRecord).where(col(RecapRecord.job_id).in_(chunk)).values(job_id=None)
            )
            deleted += session.execute(delete(Job).where(col(Job.id).in_(chunk))).rowcount
        return deleted

    def job_by_key(self, key: str) -> Job | None:
        """The job queued under an idempotency key (the API's public ids)."""
        with self._session() as session:
            return session.exec(select(Job).where(Job.idempotency_key == key)).first()

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
            fresh = [(job_id, payload or {}) for job_id, payload in rows]
            fresh = [(job_id, payload) for job_id, payload in fresh if not payload.get("expired")]
            for chunk in _chunks([job_id for job_id, _ in fresh]):
                session.execute(
                    update(Job)
                    .where(col(Job.id).in_(chunk))
                    .values(payload={"expired": True}, result=None, error=None)
                )
            session.commit()
        return [payload for _, payload in fresh]

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
                assert channel.id is not None
                by_id[channel.id] = cutoff
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
                counts["items"] += session.execute(
                    delete(ActionItemRecord).where(col(ActionItemRecord.recap_id).in_(old_recaps))
                ).rowcount
                for name, model, column in (
                    ("recaps", RecapRecord, RecapRecord.created_at),
                    ("transcripts", TranscriptRecord, TranscriptRecord.created_at),
                    ("messages", StoredMessage, StoredMessage.sent_at),
                ):
                    counts[name] += session.execute(
                        delete(model).where(
                            *(getattr(model, f) == v for f, v in where.items()),
                            col(column) < cutoff,
                        )
                    ).rowcount
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
        doomed = []
        for job_id, payload, finished_at in candidates:
            named = [cutoffs[k] for k in payload_channels(payload) if k in cutoffs]
            if (sub := (payload or {}).get("subscription_id")) in subscriptions:
                named.append(subscriptions[sub])
            cutoff = max(named) if named else default
            if cutoff is not None and finished_at < cutoff:
                doomed.append(job_id)
        return self._delete_jobs(session, doomed)
