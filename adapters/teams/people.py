"""People's time zones as Teams tells them: every activity carries its sender's
(`localTimezone`, or the clientInfo entity's `timezone`); the latest is kept per person, so
that reminders arrive at their local time from any process (the core's
`PrivateMessaging.user_timezone`). Migration 0008 creates the table."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, UniqueConstraint, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select


class TeamsPerson(SQLModel, table=True):
    __tablename__ = "teams_people"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)  # the Entra object id when Teams gives one
    timezone: str | None = Field(default=None, max_length=64)  # IANA name
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


READ_TTL = 3600.0  # another process (the web one) may have seen a newer zone since


class PeopleStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._zones: dict[tuple[str, str], str | None] = {}  # as written or read
        self._read_at: dict[tuple[str, str], float] = {}

    async def seen(self, tenant: str, user_id: str | None, timezone: str | None) -> None:
        """A person's activity arrived with `timezone`: keep it (written only on change)."""
        if not tenant or not user_id or not timezone:
            return
        if self._zones.get((tenant, user_id)) == timezone:
            return
        await asyncio.to_thread(self._upsert, tenant, user_id, timezone)
        self._zones[(tenant, user_id)] = timezone
        self._read_at[(tenant, user_id)] = time.monotonic() + READ_TTL

    async def timezone(self, tenant: str, user_id: str) -> str | None:
        key = (tenant, user_id)
        if key in self._zones and self._read_at.get(key, 0.0) > time.monotonic():
            return self._zones[key]
        found = await asyncio.to_thread(self._read, tenant, user_id)
        self._zones[key] = found
        self._read_at[key] = time.monotonic() + READ_TTL
        return found

    def _read(self, tenant: str, user_id: str) -> str | None:
        with Session(self.engine) as session:
            return session.exec(
                select(TeamsPerson.timezone).where(
                    col(TeamsPerson.tenant_id) == tenant, col(TeamsPerson.user_id) == user_id
                )
            ).first()

    def _upsert(self, tenant: str, user_id: str, timezone: str) -> None:
        now = datetime.now(UTC)
        change = (
            update(TeamsPerson)
            .where(col(TeamsPerson.tenant_id) == tenant, col(TeamsPerson.user_id) == user_id)
            .values(timezone=timezone, updated_at=now)
        )
        with Session(self.engine) as session:
            if session.exec(change).rowcount:
                session.commit()
                return
            session.add(
                TeamsPerson(tenant_id=tenant, user_id=user_id, timezone=timezone, updated_at=now)
            )
            try:
                session.commit()
            except IntegrityError:  # written concurrently: update it
                session.rollback()
                session.exec(change)
                session.commit()
