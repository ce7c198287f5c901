"""Conversation references: what the bot needs to post into a conversation later.

Teams only lets a bot post where it was installed, and only with the conversation's
service URL, id and tenant, which arrive with each activity. They are stored at install
and refreshed on every message (service URLs move), so digests and long jobs can post
proactively, from any process, after a restart.

The table is the Teams adapter's own data (`TeamsConversation`, in the repository style of
bot/storage); migration 0003 creates it.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference
from sqlalchemy import JSON, DateTime, Index, Text, UniqueConstraint, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, select

from adapters.teams.activities import Conversation, thread_conversation, timezone_of
from adapters.teams.people import PeopleStore


class TeamsConversation(SQLModel, table=True):
    """One conversation's reference, by tenant and channel key."""

    __tablename__ = "teams_conversations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "channel_key"),
        Index("ix_teams_conversations_user", "tenant_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    channel_key: str = Field(max_length=64)
    conversation_id: str = Field(sa_type=Text)
    kind: str = Field(max_length=16)
    user_id: str | None = Field(default=None, max_length=64)  # personal chats: whose it is
    team_id: str | None = Field(default=None, sa_type=Text)
    team_group_id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, sa_type=Text)
    reference: dict[str, Any] = Field(sa_type=JSON)
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


@dataclass(frozen=True, kw_only=True)
class StoredConversation:
    tenant: str
    key: str
    conversation_id: str
    kind: str
    reference: dict[str, Any]
    user_id: str | None = None
    team_id: str | None = None
    team_group_id: str | None = None
    name: str | None = None

    @property
    def service_url(self) -> str:
        return self.reference.get("serviceUrl") or ""

    @property
    def is_channel(self) -> bool:
        return self.kind == "channel"

    def reference_for(self, thread: str | None = None) -> ConversationReference:
        """A reference that posts into the conversation, or into a channel thread."""
        data = copy.deepcopy(self.reference)
        conversation = data.setdefault("conversation", {})
        conversation["id"] = thread_conversation(
            self.conversation_id, thread if self.is_channel else None
        )
        data.pop("activityId", None)
        return ConversationReference().deserialize(data)


def _stored(row: TeamsConversation) -> StoredConversation:
    return StoredConversation(
        tenant=row.tenant_id,
        key=row.channel_key,
        conversation_id=row.conversation_id,
        kind=row.kind,
        reference=row.reference,
        user_id=row.user_id,
        team_id=row.team_id,
        team_group_id=row.team_group_id,
        name=row.name,
    )


class ConversationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[tuple[str, str], StoredConversation] = {}
        self._owners: dict[str, set[str]] = {}  # channel key -> tenants (tenants_of)
        self.people = PeopleStore(engine)  # senders' time zones (reminders)

    async def remember(self, conversation: Conversation, activity: Activity) -> StoredConversation:
        """Store (or refresh) the reference of the conversation `activity` came from."""
        reference = TurnContext.get_conversation_reference(activity).serialize()
        reference.pop("activityId", None)
        reference.setdefault("conversation", {})["id"] = conversation.id
        user_id = None
        sender = activity.from_property
        if sender is not None and (sender.role or "") != "bot":
            await self.people.seen(
                conversation.tenant, sender.aad_object_id or sender.id, timezone_of(activity)
            )
        if conversation.is_personal and sender is not None:
            user_id = sender.aad_object_id or sender.id
        else:  # who spoke last is not part of a shared conversation's address
            reference.pop("user", None)
            reference.pop("locale", None)
        cached = self._cache.get((conversation.tenant, conversation.key))
        stored = StoredConversation(
            tenant=conversation.tenant,
            key=conversation.key,
            conversation_id=conversation.id,
            kind=conversation.kind,
            reference=reference,
            user_id=user_id or (cached.user_id if cached else None),
            team_id=conversation.team_id or (cached.team_id if cached else None),
            team_group_id=conversation.team_group_id or (cached.team_group_id if cached else None),
            name=conversation.name or (cached.name if cached else None),
        )
        if stored != cached:
            await asyncio.to_thread(self._upsert, stored)
            self._cache[(stored.tenant, stored.key)] = stored
            self._owners.setdefault(stored.key, set()).add(stored.tenant)
        return stored

    def _upsert(self, stored: StoredConversation) -> None:
        values: dict[str, Any] = {
            "conversation_id": stored.conversation_id,
            "kind": stored.kind,
            "user_id": stored.user_id,
            "team_id": stored.team_id,
            "team_group_id": stored.team_group_id,
            "name": stored.name,
            "reference": json.loads(json.dumps(stored.reference, default=str)),
            "updated_at": datetime.now(UTC),
        }
        where = (
            col(TeamsConversation.tenant_id) == stored.tenant,
            col(TeamsConversation.channel_key) == stored.key,
        )
        changes = update(TeamsConversation).where(*where).values(**values)
        with Session(self.engine) as session:
            if session.exec(changes).rowcount:
                session.commit()
                return
            session.add(
                TeamsConversation(tenant_id=stored.tenant, channel_key=stored.key, **values)
            )
            try:
                session.commit()
            except IntegrityError:  # inserted concurrently: update it
                session.rollback()
                session.exec(changes)
                session.commit()

    async def get(self, tenant: str, key: str) -> StoredConversation | None:
        cached = self._cache.get((tenant, key))
        if cached is not None:
            return cached
        found = await asyncio.to_thread(
            self._first,
            col(TeamsConversation.tenant_id) == tenant,
            col(TeamsConversation.channel_key) == key,
        )
        if found is not None:
            self._cache[(tenant, key)] = found
        return found

    async def tenants_of(self, key: str) -> set[str]:
        """The tenants a conversation key is stored under (one, unless tampered with)."""
        found = self._owners.get(key)
        if found is None:
            found = await asyncio.to_thread(self._tenants, key)
            if found:
                self._owners[key] = found
        return found

    def _tenants(self, key: str) -> set[str]:
        with Session(self.engine) as session:
            query = select(TeamsConversation.tenant_id).where(
                col(TeamsConversation.channel_key) == key
            )
            return set(session.exec(query).all())

    async def personal(self, tenant: str, user_id: str) -> StoredConversation | None:
        """The user's 1:1 chat with the bot, if they have one."""
        return await asyncio.to_thread(
            self._first,
            col(TeamsConversation.tenant_id) == tenant,
            col(TeamsConversation.user_id) == user_id,
            col(TeamsConversation.kind) == "personal",
        )

    async def latest_in(self, tenant: str) -> StoredConversation | None:
        """The tenant's most recently refreshed conversation (its service URL is the one to
        open a new conversation with)."""
        return await asyncio.to_thread(self._first, col(TeamsConversation.tenant_id) == tenant)

    def _first(self, *where: ColumnElement[bool]) -> StoredConversation | None:
        """The most recently refreshed conversation matching `where`."""
        with Session(self.engine) as session:
            row = session.exec(
                select(TeamsConversation)
                .where(*where)
                .order_by(col(TeamsConversation.updated_at).desc())
            ).first()
        return _stored(row) if row is not None else None

    async def set_team_group(self, stored: StoredConversation, group_id: str) -> StoredConversation:
        changed = replace(stored, team_group_id=group_id)
        await asyncio.to_thread(self._upsert, changed)
        self._cache[(changed.tenant, changed.key)] = changed
        return changed
