"""Database tables (sqlmodel). Every row that belongs to a workspace carries its id, and
every query filters on it. Schema changes go through Alembic (`bot/migrations`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zones and hands back naive values; storing UTC and re-attaching it
    on read keeps comparisons between stored and current times correct everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime(), **kwargs)


class Workspace(SQLModel, table=True):
    """An installation of the bot: a Slack team, a Teams tenant, the local playground."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    external_id: str = Field(max_length=64)
    enterprise_id: str | None = Field(default=None, max_length=64)
    name: str | None = None
    bot_user_id: str | None = Field(default=None, max_length=64)
    bot_id: str | None = Field(default=None, max_length=64)
    bot_token: str | None = None  # encrypted with ENCRYPTION_KEY (bot.crypto)
    bot_scopes: str | None = None
    # Slack OAuth installs (migration 0002): token rotation and org-wide installs.
    app_id: str | None = Field(default=None, max_length=64)
    bot_refresh_token: str | None = None  # encrypted like bot_token
    bot_token_expires_at: datetime | None = _aware(default=None)
    is_enterprise_install: bool = False
    installed_by: str | None = Field(default=None, max_length=64)
    installed_at: datetime = _aware(default_factory=utcnow)
    uninstalled_at: datetime | None = _aware(default=None)


class Channel(SQLModel, table=True):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    external_id: str = Field(max_length=64)
    name: str | None = None
    is_private: bool = False
    auto_transcribe: bool = True
    language: str | None = Field(default=None, max_length=16)
    retention_days: int | None = None
    timezone: str | None = Field(default=None, max_length=64)


class StoredMessage(SQLModel, table=True):
    """A channel message seen by the bot, so recaps need few platform history calls."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_messages_workspace_channel_time", "workspace_id", "channel_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id")
    channel_id: int = Field(foreign_key="channels.id")
    external_id: str = Field(max_length=64)
    thread_id: str | None = Field(default=None, max_length=64, index=True)
    author_id: str | None = Field(default=None, max_length=64)
    author_name: str
    text: str
    sent_at: datetime = _aware()
    edited_at: datetime | None = _aware(default=None)


class Job(SQLModel, table=True):
    """Durable work: written before the platform is acknowledged, resumed after a crash."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_after", "status", "run_after"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    status: str = Field(default="queued", max_length=16)  # queued/running/done/failed
    idempotency_key: str = Field(max_length=200, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    workspace_id: int | None = Field(default=None, foreign_key="workspaces.id", index=True)
    attempts: int = 0
    max_attempts: int = 3
    progress: float | None = None
    error: str | None = None
    worker_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = _aware(default_factory=utcnow)
    updated_at: datetime = _aware(default_factory=utcnow)
    run_after: datetime = _aware(default_factory=utcnow)
    lease_expires_at: datetime | None = _aware(default=None)
    finished_at: datetime | None = _aware(default=None)
    # Last hand-over to the Celery broker (None: in-process executor, or not sent yet).
    dispatched_at: datetime | None = _aware(default=None)
    # What the job produced, for callers that poll it (the HTTP API).
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Delivery(SQLModel, table=True):
    """A message the bot posted, by a key unique to its job and purpose: posting twice is
    impossible once the first post is recorded."""

    __tablename__ = "deliveries"

    key: str = Field(primary_key=True, max_length=200)
    platform: str = Field(max_length=20)
    channel: str = Field(max_length=64)
    message_id: str = Field(max_length=64)
    created_at: datetime = _aware(default_factory=utcnow)


class ProcessedEvent(SQLModel, table=True):
    """Platform event ids already accepted (Slack retries the same event id)."""

    __tablename__ = "processed_events"

    key: str = Field(primary_key=True, max_length=200)
    received_at: datetime = _aware(default_factory=utcnow, index=True)


class TranscriptRecord(SQLModel, table=True):
    __tablename__ = "transcripts"
    __table_args__ = (Index("ix_transcripts_workspace_channel", "workspace_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id")
    channel_id: int = Field(foreign_key="channels.id")
    source_message_id: str | None = Field(default=None, max_length=64, index=True)
    file_id: str = Field(max_length=64)
    file_name: str
    language: str | None = Field(default=None, max_length=16)
    duration_seconds: float = 0.0
    transcript: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _aware(default_factory=utcnow)
    # When the recording started (its segments enter channel history from here) and the
    # thread it was shared in (None: the channel itself).
    recorded_at: datetime | None = _aware(default=None, nullable=True)
    thread_id: str | None = Field(default=None, max_length=64, index=True)
    # Speaker label -> {"name": display name, "user_id": platform id}, named by people.
    speakers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class VoiceProfile(SQLModel, table=True):
    """A named person's voice in a workspace (only with VOICE_PROFILES=true): the mean
    speaker embedding of the recordings where someone named them."""

    __tablename__ = "voice_profiles"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    user_id: str = Field(max_length=64)
    name: str
    embedding: list[float] = Field(sa_column=Column(JSON, nullable=False))
    samples: int = 1  # recordings averaged into `embedding`
    updated_at: datetime = _aware(default_factory=utcnow)


class RecapRecord(SQLModel, table=True):
    __tablename__ = "recaps"
    __table_args__ = (
        Index("ix_recaps_workspace_channel_time", "workspace_id", "channel_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id")
    channel_id: int = Field(foreign_key="channels.id")
    thread_id: str | None = Field(default=None, max_length=64)
    window_start: datetime | None = _aware(default=None)
    window_end: datetime | None = _aware(default=None)
    transcript_id: int | None = Field(default=None, foreign_key="transcripts.id")
    engine: str = Field(max_length=100)
    input_tokens: int = 0
    output_tokens: int = 0
    recap: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    job_id: int | None = Field(default=None, foreign_key="jobs.id")
    created_at: datetime = _aware(default_factory=utcnow)
    # Where the recap was posted, to re-render it when an item changes: {"channel",
    # "thread", "message_id", "title", "links"}; {} when it was not posted (API, CLI).
    post: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requested_by: str | None = Field(default=None, max_length=64)


class ActionItemRecord(SQLModel, table=True):
    """An action item with an identity (issue #16): the same commitment seen again by a
    later recap updates this row (`key`), it does not add one. `recap_id` is the recap that
    last reported it; `recap_items` says every recap that shows it."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_workspace_channel", "workspace_id", "channel_id"),
        Index("ix_action_items_owner_status", "workspace_id", "owner_id", "status"),
        Index("ix_action_items_status_due", "status", "due"),
        UniqueConstraint("channel_id", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recap_id: int | None = Field(default=None, foreign_key="recaps.id", index=True)
    workspace_id: int = Field(foreign_key="workspaces.id")
    channel_id: int = Field(foreign_key="channels.id")
    thread_id: str | None = Field(default=None, max_length=64)
    # Identity within the channel (bot.features.items.identity): the source it cites and
    # the task's wording, hashed; a recap that reports it again finds it by this.
    key: str = Field(max_length=64)
    task: str
    owner_id: str | None = Field(default=None, max_length=64)
    owner_name: str | None = None
    due: date | None = None
    source_ref: str | None = Field(default=None, max_length=200, index=True)
    status: str = Field(default="open", max_length=16)  # open, done, dismissed
    confidence: float = 0.5
    requested_by: str | None = Field(default=None, max_length=64)  # who asked for the recap
    created_at: datetime = _aware(default_factory=utcnow)
    updated_at: datetime = _aware(default_factory=utcnow)
    # Tracker export (bot/trackers): "owner/repo#12", "ENG-42"; state open/closed there.
    tracker: str | None = Field(default=None, max_length=16)  # github, jira, linear
    tracker_ref: str | None = Field(default=None, max_length=200, index=True)
    tracker_url: str | None = None
    tracker_id: str | None = Field(default=None, max_length=100)  # the service's own id
    export_state: str | None = Field(default=None, max_length=16)  # pending, created, failed
    # Random, set when the export is first claimed: the marker the issue carries (with the
    # id), so an issue made for another item with this id (deleted since, or another
    # deployment's) is never taken for this one's.
    export_token: str | None = Field(default=None, max_length=32)


class ActionItemEvent(SQLModel, table=True):
    """One change to an item, kept as its history: who (a user id, or "bot", or a tracker
    name), what (`field`: created, seen, status, owner, due, export, reminder), from, to."""

    __tablename__ = "action_item_events"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="action_items.id", index=True)
    at: datetime = _aware(default_factory=utcnow)
    actor: str = Field(max_length=64)
    field: str = Field(max_length=16)
    old: str | None = None
    new: str | None = None


class RecapItem(SQLModel, table=True):
    """Which recaps show which items, in order: a change to an item re-renders them."""

    __tablename__ = "recap_items"

    recap_id: int = Field(foreign_key="recaps.id", primary_key=True)
    item_id: int = Field(foreign_key="action_items.id", primary_key=True, index=True)
    position: int  # index in the recap's action_items


class ItemReminder(SQLModel, table=True):
    """A reminder sent (or being sent) for an item: unique, so each is sent at most once
    across restarts and processes. `kind`: before (due soon) or overdue."""

    __tablename__ = "item_reminders"
    __table_args__ = (UniqueConstraint("item_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="action_items.id", index=True)
    kind: str = Field(max_length=16)
    due: date  # the due date it reminded of (a new due date may be reminded again)
    status: str = Field(default="sending", max_length=16)  # sending, sent
    created_at: datetime = _aware(default_factory=utcnow)


class TrackerLink(SQLModel, table=True):
    """The tracker a channel exports its items to (`@balafon link github owner/repo`)."""

    __tablename__ = "tracker_links"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    channel_id: int = Field(foreign_key="channels.id", unique=True)
    tracker: str = Field(max_length=16)  # github, jira, linear
    target: str = Field(max_length=200)  # owner/repo, project key, team key
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _aware(default_factory=utcnow)


class DigestSubscription(SQLModel, table=True):
    """A channel's scheduled digest: one per channel, replaced when re-subscribed."""

    __tablename__ = "digest_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    channel_id: int = Field(foreign_key="channels.id", unique=True)
    platform: str = Field(max_length=20)
    workspace_external_id: str = Field(max_length=64)
    channel_external_id: str = Field(max_length=64)
    cadence: str = Field(max_length=16)  # daily, weekdays, weekly
    weekday: str | None = Field(default=None, max_length=3)
    hour: int
    minute: int
    timezone: str = Field(max_length=64)
    active: bool = True
    post_when_quiet: bool = False
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _aware(default_factory=utcnow)


class DigestRun(SQLModel, table=True):
    """One scheduled slot of a subscription; unique, so a slot is posted at most once."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("subscription_id", "slot"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="digest_subscriptions.id", index=True)
    slot: datetime = _aware()
    status: str = Field(default="running", max_length=16)  # running, posted, quiet
    window_start: datetime = _aware()
    window_end: datetime = _aware()
    message_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _aware(default_factory=utcnow)
    finished_at: datetime | None = _aware(default=None)


class SchedulerLease(SQLModel, table=True):
    """Who runs the scheduler: one leader among processes, by an expiring lease."""

    __tablename__ = "scheduler_leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=100)
    expires_at: datetime = _aware()
