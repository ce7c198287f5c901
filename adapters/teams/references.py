"""Conversation references: what the bot needs to post into a conversation later.

Teams only lets a bot post where it was installed, and only with the conversation's
service URL, id and tenant, which arrive with each activity. They are stored at install
and refreshed on every message (service URLs move), so digests and long jobs can post
proactively, from any process, after a restart.

The table lives here until the core's migrations take it over (see docs/teams.md); it is
created on start-up when missing.
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
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from adapters.teams.activities import Conversation, thread_conversation

metadata = MetaData()

conversations = Table(
    "teams_conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("channel_key", String(64), nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("user_id", String(64)),  # personal chats: whose chat it is
    Column("team_id", Text),
    Column("team_group_id", String(64)),
    Column("name", Text),
    Column("reference", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "channel_key"),
    Index("ix_teams_conversations_user", "tenant_id", "user_id"),
)


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


def _row(row: Any) -> StoredConversation:
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

    async def remember(self, conversation: Conversation, activity: Activity) -> StoredConversation:
        """Store (or refresh) the reference of the conversation `activity` came from."""
        reference = TurnContext.get_conversation_reference(activity).serialize()
        reference.pop("activityId", None)
        reference.setdefault("conversation", {})["id"] = conversation.id
        user_id = None
        if conversation.is_personal and activity.from_property is not None:
            sender = activity.from_property
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
        values = {
            "conversation_id": stored.conversation_id,
            "kind": stored.kind,
            "user_id": stored.user_id,
            "team_id": stored.team_id,
            "team_group_id": stored.team_group_id,
            "name": stored.name,
            "reference": json.loads(json.dumps(stored.reference, default=str)),
            "updated_at": datetime.now(UTC),
        }
        where = and_(
            conversations.c.tenant_id == stored.tenant, conversations.c.channel_key == stored.key
        )
        with self.engine.begin() as connection:
            if connection.execute(update(conversations).where(where).values(**values)).rowcount:
                return
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(conversations).values(
                        tenant_id=stored.tenant, channel_key=stored.key, **values
                    )
                )
        except IntegrityError:  # inserted concurrently: update it
            with self.engine.begin() as connection:
                connection.execute(update(conversations).where(where).values(**values))

    async def get(self, tenant: str, key: str) -> StoredConversation | None:
        cached = self._cache.get((tenant, key))
        if cached is not None:
            return cached
        where = and_(conversations.c.tenant_id == tenant, conversations.c.channel_key == key)
        found = await asyncio.to_thread(self._first, where)
        if found is not None:
            self._cache[(tenant, key)] = found
        return found

    async def tenants_of(self, key: str) -> set[str]:
        """The tenants a conversation key is stored under (one, unless tampered with)."""
        found = self._owners.get(key)
        if found is None:
            found = await asyncio.to_thread(self._tenants, conversations.c.channel_key == key)
            if found:
                self._owners[key] = found
        return found

    def _tenants(self, where: Any) -> set[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(conversations.c.tenant_id).where(where)).all()
        return {row.tenant_id for row in rows}

    async def personal(self, tenant: str, user_id: str) -> StoredConversation | None:
        """The user's 1:1 chat with the bot, if they have one."""
        where = and_(
            conversations.c.tenant_id == tenant,
            conversations.c.user_id == user_id,
            conversations.c.kind == "personal",
        )
        return await asyncio.to_thread(self._first, where)

    def _first(self, where: Any) -> StoredConversation | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(conversations).where(where).order_by(conversations.c.updated_at.desc())
            ).first()
        return _row(row) if row is not None else None

    async def set_team_group(self, stored: StoredConversation, group_id: str) -> StoredConversation:
        changed = replace(stored, team_group_id=group_id)
        await asyncio.to_thread(self._upsert, changed)
        self._cache[(changed.tenant, changed.key)] = changed
        return changed
