"""The playground's own "chat server": people, channels, messages and files, in the database.

The playground is its own platform, so this is the source of history the core reads back
through `fetch_messages`. Every change also appends a row to `playground_events`; the live
stream replays that log from the id a browser last saw, so a reconnect misses nothing and a
worker in another process is seen as well. The tables are in tables.py (migration 0004).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from adapters.playground.tables import (
    PlaygroundChannel,
    PlaygroundEvent,
    PlaygroundFile,
    PlaygroundMessage,
    PlaygroundUser,
)
from bot.storage.base import Store, chunks, row_id
from bot.storage.models import utcnow

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
    created: datetime | None = None  # upload time: the recording's end, for its dates


@dataclass(frozen=True, kw_only=True)
class ChatLine:
    """One message of the playground's chat as the adapter shows it (a `PlaygroundMessage`
    row with its files); not to be confused with the core's `bot.storage.models.StoredMessage`."""

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


def _file(row: PlaygroundFile) -> StoredFile:
    return StoredFile(
        id=row.id,
        message_id=row.message_id,
        channel_id=row.channel_id,
        name=row.name,
        mimetype=row.mimetype,
        size=row.size,
        created=row.created_at,
    )


class PlaygroundStore(Store):
    """Synchronous queries; the adapter runs them in a thread."""

    # --- people and channels ----------------------------------------------------------

    def users(self) -> list[dict[str, str]]:
        with self._session() as session:
            rows = session.exec(select(PlaygroundUser).order_by(col(PlaygroundUser.created_at)))
            return [{"id": row.id, "name": row.name} for row in rows]

    def user(self, user_id: str) -> dict[str, str] | None:
        with self._session() as session:
            row = session.get(PlaygroundUser, user_id)
            return {"id": row.id, "name": row.name} if row else None

    def add_user(self, name: str) -> dict[str, str]:
        name = " ".join(name.split())[:80]
        user_id = slug(name)
        if not user_id or user_id == BOT_ID:
            raise StoreError("Pick another name (letters or digits, not “balafon”).")
        with self._session() as session:
            session.add(PlaygroundUser(id=user_id, name=name))
            try:
                session.flush()
            except IntegrityError:
                raise StoreError(f"There is already someone called “{name}”.") from None
            self._event(session, "user")
            session.commit()
        return {"id": user_id, "name": name}

    def channels(self) -> list[dict[str, str | None]]:
        with self._session() as session:
            rows = session.exec(
                select(PlaygroundChannel).order_by(col(PlaygroundChannel.created_at))
            )
            return [{"id": row.id, "topic": row.topic} for row in rows]

    def has_channel(self, channel_id: str) -> bool:
        with self._session() as session:
            return session.get(PlaygroundChannel, channel_id) is not None

    def add_channel(self, name: str, topic: str | None = None) -> dict[str, str | None]:
        channel_id = slug(name.lstrip("#"))
        if not channel_id:
            raise StoreError("A channel name needs letters or digits.")
        with self._session() as session:
            session.add(PlaygroundChannel(id=channel_id, topic=topic))
            try:
                session.flush()
            except IntegrityError:
                raise StoreError(f"#{channel_id} already exists.") from None
            self._event(session, "channel", channel_id)
            session.commit()
        return {"id": channel_id, "topic": topic}

    def is_empty(self) -> bool:
        with self._session() as session:
            return session.exec(select(func.count()).select_from(PlaygroundChannel)).one() == 0

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
        with self._session() as session:
            if thread_id is not None:
                thread_id = self._thread_root(session, channel_id, thread_id)
            row = PlaygroundMessage(
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
            session.add(row)
            session.flush()
            message_id = row_id(row)
            self._event(session, "message", channel_id, message_id)
            session.commit()
        return message_id

    def thread_root(self, channel_id: str, message_id: int) -> int:
        """The root of the thread that `message_id` is in (itself when it is a root)."""
        with self._session() as session:
            return self._thread_root(session, channel_id, message_id)

    @staticmethod
    def _thread_root(session: Session, channel_id: str, message_id: int) -> int:
        row = session.get(PlaygroundMessage, message_id)
        if row is None or row.channel_id != channel_id:
            raise StoreError(f"There is no message {message_id} in #{channel_id}.")
        return row.thread_id or message_id

    def add_file(
        self, *, file_id: str, message_id: int, name: str, mimetype: str | None, size: int
    ) -> StoredFile:
        with self._session() as session:
            channel_id = self._channel_of(session, message_id)
            row = PlaygroundFile(
                id=file_id,
                message_id=message_id,
                channel_id=channel_id,
                name=name,
                mimetype=mimetype,
                size=size,
            )
            session.add(row)
            self._event(session, "message", channel_id, message_id)
            session.commit()
            return _file(row)

    def set_reply(self, message_id: int, reply: dict[str, Any], text: str) -> bool:
        with self._session() as session:
            row = session.get(PlaygroundMessage, message_id)
            if row is None:
                return False
            row.reply, row.text, row.edited_at = reply, text, utcnow()
            session.add(row)
            self._event(session, "message", row.channel_id, message_id)
            session.commit()
        return True

    def withdraw(self, message_id: int) -> bool:
        """Remove a message shown to one person only (the bot's "working on it"), with no
        tombstone: the live stream tells the pages it is gone. Others stay."""
        with self._session() as session:
            row = session.get(PlaygroundMessage, message_id)
            replied = session.exec(
                select(PlaygroundMessage.id)
                .where(col(PlaygroundMessage.thread_id) == message_id)
                .limit(1)
            ).first()
            if row is None or row.visible_to is None or replied is not None:
                return False
            session.exec(delete(PlaygroundMessage).where(col(PlaygroundMessage.id) == message_id))
            self._event(session, "message", row.channel_id, message_id)
            session.commit()
        return True

    def edit(self, message_id: int, text: str) -> None:
        with self._session() as session:
            channel_id = self._channel_of(session, message_id)
            session.exec(
                update(PlaygroundMessage)
                .where(col(PlaygroundMessage.id) == message_id)
                .values(text=text, edited_at=utcnow())
            )
            self._event(session, "message", channel_id, message_id)
            session.commit()

    def delete(self, message_id: int) -> list[StoredFile]:
        """Leave a tombstone (its thread stays readable); returns the files to remove."""
        with self._session() as session:
            channel_id = self._channel_of(session, message_id)
            gone = self._remove_files(session, col(PlaygroundFile.message_id) == message_id)
            session.exec(
                update(PlaygroundMessage)
                .where(col(PlaygroundMessage.id) == message_id)
                .values(text="", reply=None, deleted_at=utcnow())
            )
            self._event(session, "message", channel_id, message_id)
            session.commit()
        return gone

    def forget_channel(self, channel_id: str) -> list[StoredFile]:
        """`forget` in the playground, which is its own chat server: every message of the
        channel becomes a tombstone (text and bot replies gone, threads still readable)
        and its file rows go; returns the files to remove from disk."""
        with self._session() as session:
            gone = self._remove_files(session, col(PlaygroundFile.channel_id) == channel_id)
            in_channel = col(PlaygroundMessage.channel_id) == channel_id
            ids = list(session.exec(select(PlaygroundMessage.id).where(in_channel)).all())
            session.exec(
                update(PlaygroundMessage)
                .where(in_channel)
                .values(text="", reply=None, deleted_at=utcnow())
            )
            for message_id in ids:  # the open pages show the tombstones at once
                self._event(session, "message", channel_id, message_id)
            session.commit()
        return gone

    @staticmethod
    def _channel_of(session: Session, message_id: int) -> str:
        row = session.get(PlaygroundMessage, message_id)
        if row is None:
            raise StoreError(f"There is no message {message_id}.")
        return row.channel_id

    @staticmethod
    def _remove_files(session: Session, where: ColumnElement[bool]) -> list[StoredFile]:
        gone = [_file(row) for row in session.exec(select(PlaygroundFile).where(where))]
        session.exec(delete(PlaygroundFile).where(where))
        return gone

    def message(self, message_id: int) -> ChatLine | None:
        found = self._messages(col(PlaygroundMessage.id) == message_id)
        return found[0] if found else None

    def file(self, file_id: str) -> StoredFile | None:
        with self._session() as session:
            row = session.get(PlaygroundFile, file_id)
            return _file(row) if row else None

    def channel_messages(self, channel_id: str, viewer: str | None) -> list[ChatLine]:
        """The channel as `viewer` sees it (their ephemeral messages included), oldest first."""
        newest = self._messages(
            col(PlaygroundMessage.channel_id) == channel_id,
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
    ) -> list[ChatLine]:
        """What everyone sees (no ephemeral or deleted messages): the core's history."""
        conditions: list[ColumnElement[bool]] = [
            col(PlaygroundMessage.channel_id) == channel_id,
            col(PlaygroundMessage.visible_to).is_(None),
            col(PlaygroundMessage.deleted_at).is_(None),
        ]
        if thread_id is not None:
            conditions.append(
                or_(
                    col(PlaygroundMessage.id) == thread_id,
                    col(PlaygroundMessage.thread_id) == thread_id,
                )
            )
        if oldest is not None:
            conditions.append(col(PlaygroundMessage.created_at) >= oldest)
        if latest is not None:
            conditions.append(col(PlaygroundMessage.created_at) <= latest)
        return self._messages(*conditions)

    @staticmethod
    def _visible(viewer: str | None) -> ColumnElement[bool]:
        if viewer is None:
            return col(PlaygroundMessage.visible_to).is_(None)
        return or_(
            col(PlaygroundMessage.visible_to).is_(None),
            col(PlaygroundMessage.visible_to) == viewer,
        )

    def _messages(
        self, *conditions: ColumnElement[bool], newest_first: bool = False, limit: int | None = None
    ) -> list[ChatLine]:
        order = col(PlaygroundMessage.id).desc() if newest_first else col(PlaygroundMessage.id)
        query = select(PlaygroundMessage).where(*conditions).order_by(order).limit(limit)
        with self._session() as session:
            rows = list(session.exec(query).all())
            attached: dict[int, list[StoredFile]] = {}
            for chunk in chunks([row.id for row in rows]):
                for found in session.exec(
                    select(PlaygroundFile)
                    .where(col(PlaygroundFile.message_id).in_(chunk))
                    .order_by(col(PlaygroundFile.created_at))
                ):
                    attached.setdefault(found.message_id, []).append(_file(found))
        return [_message(row, tuple(attached.get(row_id(row), ()))) for row in rows]

    # --- the change log ---------------------------------------------------------------

    @staticmethod
    def _event(
        session: Session,
        kind: str,
        channel_id: str | None = None,
        message_id: int | None = None,
    ) -> None:
        session.add(PlaygroundEvent(kind=kind, channel_id=channel_id, message_id=message_id))

    def last_event(self) -> int:
        with self._session() as session:
            return int(session.exec(select(func.max(PlaygroundEvent.id))).one() or 0)

    def events_after(self, after: int, limit: int = 200) -> list[dict[str, Any]]:
        """Changes after event `after`, oldest first: {id, kind, channel_id, message_id}."""
        with self._session() as session:
            rows = session.exec(
                select(PlaygroundEvent)
                .where(col(PlaygroundEvent.id) > after)
                .order_by(col(PlaygroundEvent.id))
                .limit(limit)
            )
            return [
                {
                    "id": row.id,
                    "kind": row.kind,
                    "channel_id": row.channel_id,
                    "message_id": row.message_id,
                }
                for row in rows
            ]

    def prune_events(self, older_than: timedelta = timedelta(days=2)) -> None:
        """The log only serves reconnecting browsers; older clients reload everything."""
        with self._session() as session:
            session.exec(
                delete(PlaygroundEvent).where(
                    col(PlaygroundEvent.created_at) < utcnow() - older_than
                )
            )
            session.commit()


def _message(row: PlaygroundMessage, files: tuple[StoredFile, ...]) -> ChatLine:
    return ChatLine(
        id=row_id(row),
        channel_id=row.channel_id,
        thread_id=row.thread_id,
        kind=row.kind,
        author_id=row.author_id,
        author_name=row.author_name,
        text=row.text,
        reply=row.reply,
        visible_to=row.visible_to,
        created_at=row.created_at,
        edited_at=row.edited_at,
        deleted_at=row.deleted_at,
        files=files,
    )
