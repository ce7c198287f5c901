"""The playground's own "chat server": people, channels, messages and files, in the database.

The playground is its own platform, so this is the source of history the core reads back
through `fetch_messages`. Every change also appends a row to `playground_events`; the live
stream replays that log from the id a browser last saw, so a reconnect misses nothing and a
worker in another process is seen as well. Tables are created by migration 0004.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from bot.storage.models import UTCDateTime, utcnow

metadata = MetaData()

users = Table(
    "playground_users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(80), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

channels = Table(
    "playground_channels",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("topic", Text),
    Column("created_at", UTCDateTime(), nullable=False),
)

messages = Table(
    "playground_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel_id", String(64), ForeignKey("playground_channels.id"), nullable=False),
    Column("thread_id", Integer, ForeignKey("playground_messages.id")),
    Column("kind", String(16), nullable=False),  # message, command, bot
    Column("author_id", String(64)),
    Column("author_name", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("reply", JSON),  # bot posts: the core's reply (see replies.py)
    Column("visible_to", String(64)),  # ephemeral: only this person sees it
    Column("created_at", UTCDateTime(), nullable=False),
    Column("edited_at", UTCDateTime()),
    Column("deleted_at", UTCDateTime()),
    Index("ix_playground_messages_channel_time", "channel_id", "created_at"),
    Index("ix_playground_messages_thread", "thread_id"),
)

files = Table(
    "playground_files",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("message_id", Integer, ForeignKey("playground_messages.id"), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("mimetype", String(100)),
    Column("size", BigInteger, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_playground_files_message", "message_id"),
)

events = Table(
    "playground_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # message, channel, user
    Column("channel_id", String(64)),
    Column("message_id", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
)

BOT_ID = "balafon"
BOT_NAME = "balafon"
_SLUG = re.compile(r"[^a-z0-9_-]+")
HISTORY_LIMIT = 1000  # messages a channel view loads


class StoreError(ValueError):
    """A request the playground cannot do (unknown channel, duplicate name…); the message
    is shown to the person who asked."""


def slug(name: str) -> str:
    """`Design Review` -> `design-review`: channel and people ids, also usable as `#id`."""
    return _SLUG.sub("-", name.strip().lower()).strip("-")[:40]


@dataclass(frozen=True, kw_only=True)
class StoredFile:
    id: str
    message_id: int
    channel_id: str
    name: str
    mimetype: str | None
    size: int


@dataclass(frozen=True, kw_only=True)
class StoredMessage:
    id: int
    channel_id: str
    thread_id: int | None
    kind: str
    author_id: str | None
    author_name: str
    text: str
    reply: dict[str, Any] | None
    visible_to: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    files: tuple[StoredFile, ...] = field(default=())

    @property
    def from_bot(self) -> bool:
        return self.kind == "bot"


def _file(row: RowMapping) -> StoredFile:
    return StoredFile(
        id=row["id"],
        message_id=row["message_id"],
        channel_id=row["channel_id"],
        name=row["name"],
        mimetype=row["mimetype"],
        size=row["size"],
    )


class PlaygroundStore:
    """Synchronous queries; the adapter runs them in a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- people and channels ----------------------------------------------------------

    def users(self) -> list[dict[str, str]]:
        with self.engine.connect() as db:
            rows = db.execute(select(users.c.id, users.c.name).order_by(users.c.created_at))
            return [dict(row._mapping) for row in rows]

    def user(self, user_id: str) -> dict[str, str] | None:
        with self.engine.connect() as db:
            row = db.execute(select(users.c.id, users.c.name).where(users.c.id == user_id))
            found = row.first()
            return dict(found._mapping) if found else None

    def add_user(self, name: str) -> dict[str, str]:
        name = " ".join(name.split())[:80]
        user_id = slug(name)
        if not user_id or user_id == BOT_ID:
            raise StoreError("Pick another name (letters or digits, not “balafon”).")
        with self.engine.begin() as db:
            try:
                db.execute(insert(users).values(id=user_id, name=name, created_at=utcnow()))
            except IntegrityError:
                raise StoreError(f"There is already someone called “{name}”.") from None
            self._event(db, "user")
        return {"id": user_id, "name": name}

    def channels(self) -> list[dict[str, str | None]]:
        with self.engine.connect() as db:
            rows = db.execute(
                select(channels.c.id, channels.c.topic).order_by(channels.c.created_at)
            )
            return [dict(row._mapping) for row in rows]

    def has_channel(self, channel_id: str) -> bool:
        with self.engine.connect() as db:
            found = db.execute(select(channels.c.id).where(channels.c.id == channel_id))
            return found.first() is not None

    def add_channel(self, name: str, topic: str | None = None) -> dict[str, str | None]:
        channel_id = slug(name.lstrip("#"))
        if not channel_id:
            raise StoreError("A channel name needs letters or digits.")
        with self.engine.begin() as db:
            try:
                db.execute(insert(channels).values(id=channel_id, topic=topic, created_at=utcnow()))
            except IntegrityError:
                raise StoreError(f"#{channel_id} already exists.") from None
            self._event(db, "channel", channel_id)
        return {"id": channel_id, "topic": topic}

    def is_empty(self) -> bool:
        with self.engine.connect() as db:
            return db.execute(select(func.count()).select_from(channels)).scalar_one() == 0

    # --- messages ---------------------------------------------------------------------

    def add_message(
        self,
        *,
        channel_id: str,
        kind: str,
        author_id: str | None,
        author_name: str,
        text: str = "",
        thread_id: int | None = None,
        reply: dict[str, Any] | None = None,
        visible_to: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Store a message; a thread id that is itself a reply means that reply's thread."""
        with self.engine.begin() as db:
            if thread_id is not None:
                thread_id = self._thread_root(db, channel_id, thread_id)
            message_id = db.execute(
                insert(messages).values(
                    channel_id=channel_id,
                    thread_id=thread_id,
                    kind=kind,
                    author_id=author_id,
                    author_name=author_name,
                    text=text,
                    reply=reply,
                    visible_to=visible_to,
                    created_at=at or utcnow(),
                )
            ).inserted_primary_key[0]
            self._event(db, "message", channel_id, message_id)
        return int(message_id)

    def thread_root(self, channel_id: str, message_id: int) -> int:
        """The root of the thread that `message_id` is in (itself when it is a root)."""
        with self.engine.connect() as db:
            return self._thread_root(db, channel_id, message_id)

    def _thread_root(self, db: Connection, channel_id: str, message_id: int) -> int:
        row = db.execute(
            select(messages.c.id, messages.c.thread_id).where(
                messages.c.id == message_id, messages.c.channel_id == channel_id
            )
        ).first()
        if row is None:
            raise StoreError(f"There is no message {message_id} in #{channel_id}.")
        return row.thread_id or row.id

    def add_file(
        self, *, file_id: str, message_id: int, name: str, mimetype: str | None, size: int
    ) -> StoredFile:
        with self.engine.begin() as db:
            channel_id = db.execute(
                select(messages.c.channel_id).where(messages.c.id == message_id)
            ).scalar_one()
            values = {
                "id": file_id,
                "message_id": message_id,
                "channel_id": channel_id,
                "name": name,
                "mimetype": mimetype,
                "size": size,
            }
            db.execute(insert(files).values(**values, created_at=utcnow()))
            self._event(db, "message", channel_id, message_id)
        return StoredFile(**values)

    def set_reply(self, message_id: int, reply: dict[str, Any], text: str) -> bool:
        with self.engine.begin() as db:
            channel_id = db.execute(
                select(messages.c.channel_id).where(messages.c.id == message_id)
            ).scalar()
            if channel_id is None:
                return False
            db.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(reply=reply, text=text, edited_at=utcnow())
            )
            self._event(db, "message", channel_id, message_id)
        return True

    def withdraw(self, message_id: int) -> bool:
        """Remove a message shown to one person only (the bot's "working on it"), with no
        tombstone: the live stream tells the pages it is gone. Others stay."""
        with self.engine.begin() as db:
            channel_id = db.execute(
                select(messages.c.channel_id).where(
                    messages.c.id == message_id, messages.c.visible_to.is_not(None)
                )
            ).scalar()
            replied = db.execute(
                select(messages.c.id).where(messages.c.thread_id == message_id).limit(1)
            ).first()
            if channel_id is None or replied is not None:
                return False
            db.execute(delete(messages).where(messages.c.id == message_id))
            self._event(db, "message", channel_id, message_id)
        return True

    def edit(self, message_id: int, text: str) -> None:
        with self.engine.begin() as db:
            channel_id = db.execute(
                select(messages.c.channel_id).where(messages.c.id == message_id)
            ).scalar_one()
            db.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(text=text, edited_at=utcnow())
            )
            self._event(db, "message", channel_id, message_id)

    def delete(self, message_id: int) -> list[StoredFile]:
        """Leave a tombstone (its thread stays readable); returns the files to remove."""
        with self.engine.begin() as db:
            channel_id = db.execute(
                select(messages.c.channel_id).where(messages.c.id == message_id)
            ).scalar_one()
            gone = [
                _file(r._mapping)
                for r in db.execute(select(files).where(files.c.message_id == message_id))
            ]
            db.execute(delete(files).where(files.c.message_id == message_id))
            db.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(text="", reply=None, deleted_at=utcnow())
            )
            self._event(db, "message", channel_id, message_id)
        return gone

    def forget_channel(self, channel_id: str) -> list[StoredFile]:
        """`forget` in the playground, which is its own chat server: every message of the
        channel becomes a tombstone (text and bot replies gone, threads still readable)
        and its file rows go; returns the files to remove from disk."""
        with self.engine.begin() as db:
            gone = [
                _file(r._mapping)
                for r in db.execute(select(files).where(files.c.channel_id == channel_id))
            ]
            db.execute(delete(files).where(files.c.channel_id == channel_id))
            ids = list(
                db.execute(select(messages.c.id).where(messages.c.channel_id == channel_id))
                .scalars()
                .all()
            )
            db.execute(
                update(messages)
                .where(messages.c.channel_id == channel_id)
                .values(text="", reply=None, deleted_at=utcnow())
            )
            for message_id in ids:  # the open pages show the tombstones at once
                self._event(db, "message", channel_id, message_id)
        return gone

    def message(self, message_id: int) -> StoredMessage | None:
        found = self._messages(messages.c.id == message_id)
        return found[0] if found else None

    def file(self, file_id: str) -> StoredFile | None:
        with self.engine.connect() as db:
            row = db.execute(select(files).where(files.c.id == file_id)).first()
            return _file(row._mapping) if row else None

    def channel_messages(self, channel_id: str, viewer: str | None) -> list[StoredMessage]:
        """The channel as `viewer` sees it (their ephemeral messages included), oldest first."""
        newest = self._messages(
            messages.c.channel_id == channel_id,
            self._visible(viewer),
            newest_first=True,
            limit=HISTORY_LIMIT,
        )
        return newest[::-1]

    def history(
        self,
        channel_id: str,
        *,
        thread_id: int | None = None,
        oldest: datetime | None = None,
        latest: datetime | None = None,
    ) -> list[StoredMessage]:
        """What everyone sees (no ephemeral or deleted messages): the core's history."""
        conditions: list[Any] = [
            messages.c.channel_id == channel_id,
            messages.c.visible_to.is_(None),
            messages.c.deleted_at.is_(None),
        ]
        if thread_id is not None:
            conditions.append(or_(messages.c.id == thread_id, messages.c.thread_id == thread_id))
        if oldest is not None:
            conditions.append(messages.c.created_at >= oldest)
        if latest is not None:
            conditions.append(messages.c.created_at <= latest)
        return self._messages(*conditions)

    @staticmethod
    def _visible(viewer: str | None) -> Any:
        if viewer is None:
            return messages.c.visible_to.is_(None)
        return or_(messages.c.visible_to.is_(None), messages.c.visible_to == viewer)

    def _messages(
        self, *conditions: Any, newest_first: bool = False, limit: int | None = None
    ) -> list[StoredMessage]:
        order = messages.c.id.desc() if newest_first else messages.c.id
        query = select(messages).where(and_(*conditions)).order_by(order).limit(limit)
        with self.engine.connect() as db:
            rows = [row._mapping for row in db.execute(query)]
            attached: dict[int, list[StoredFile]] = {}
            ids = [row["id"] for row in rows]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for found in db.execute(
                    select(files).where(files.c.message_id.in_(chunk)).order_by(files.c.created_at)
                ):
                    attached.setdefault(found.message_id, []).append(_file(found._mapping))
        return [
            StoredMessage(**dict(row), files=tuple(attached.get(row["id"], ()))) for row in rows
        ]

    # --- the change log ---------------------------------------------------------------

    def _event(
        self,
        db: Connection,
        kind: str,
        channel_id: str | None = None,
        message_id: int | None = None,
    ) -> None:
        db.execute(
            insert(events).values(
                kind=kind, channel_id=channel_id, message_id=message_id, created_at=utcnow()
            )
        )

    def last_event(self) -> int:
        with self.engine.connect() as db:
            return int(db.execute(select(func.max(events.c.id))).scalar() or 0)

    def events_after(self, after: int, limit: int = 200) -> list[dict[str, Any]]:
        """Changes after event `after`, oldest first: {id, kind, channel_id, message_id}."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(events.c.id, events.c.kind, events.c.channel_id, events.c.message_id)
                .where(events.c.id > after)
                .order_by(events.c.id)
                .limit(limit)
            )
            return [dict(row._mapping) for row in rows]

    def prune_events(self, older_than: timedelta = timedelta(days=2)) -> None:
        """The log only serves reconnecting browsers; older clients reload everything."""
        with self.engine.begin() as db:
            db.execute(delete(events).where(events.c.created_at < utcnow() - older_than))
