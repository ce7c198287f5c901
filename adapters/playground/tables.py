"""The playground's own tables (it is its own chat server): people, channels, messages,
files and the change log that the live stream replays. Created by migration 0004; the
store (store.py) is the only module that queries them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Text
from sqlmodel import Field, SQLModel

from bot.storage.models import UTCDateTime, utcnow


def _aware(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime(), **kwargs)


class PlaygroundUser(SQLModel, table=True):
    __tablename__ = "playground_users"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=80)
    created_at: datetime = _aware(default_factory=utcnow)


class PlaygroundChannel(SQLModel, table=True):
    __tablename__ = "playground_channels"

    id: str = Field(primary_key=True, max_length=64)
    topic: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _aware(default_factory=utcnow)


class PlaygroundMessage(SQLModel, table=True):
    __tablename__ = "playground_messages"
    __table_args__ = (
        Index("ix_playground_messages_channel_time", "channel_id", "created_at"),
        Index("ix_playground_messages_thread", "thread_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: str = Field(foreign_key="playground_channels.id", max_length=64)
    thread_id: int | None = Field(default=None, foreign_key="playground_messages.id")
    kind: str = Field(max_length=16)  # message, command, bot
    author_id: str | None = Field(default=None, max_length=64)
    author_name: str = Field(sa_type=Text)
    text: str = Field(sa_type=Text)
    reply: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # bot posts (replies.py)
    visible_to: str | None = Field(default=None, max_length=64)  # ephemeral: only them
    created_at: datetime = _aware(default_factory=utcnow)
    edited_at: datetime | None = _aware(default=None)
    deleted_at: datetime | None = _aware(default=None)


class PlaygroundFile(SQLModel, table=True):
    __tablename__ = "playground_files"
    __table_args__ = (Index("ix_playground_files_message", "message_id"),)

    id: str = Field(primary_key=True, max_length=32)
    message_id: int = Field(foreign_key="playground_messages.id")
    channel_id: str = Field(max_length=64)
    name: str = Field(sa_type=Text)
    mimetype: str | None = Field(default=None, max_length=100)
    size: int = Field(sa_type=BigInteger)
    created_at: datetime = _aware(default_factory=utcnow)


class PlaygroundEvent(SQLModel, table=True):
    __tablename__ = "playground_events"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # message, channel, user
    channel_id: str | None = Field(default=None, max_length=64)
    message_id: int | None = None
    created_at: datetime = _aware(default_factory=utcnow)
