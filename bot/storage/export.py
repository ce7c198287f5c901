"""Records for `balafon export`: recaps or action items, oldest first, each with its
workspace and channel, and voice profiles with their workspace, streamed (500 rows at a
time) from one session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TypeVar

from sqlmodel import col, select

from bot.storage.base import Store, chunks
from bot.storage.models import (
    ActionItemEvent,
    ActionItemRecord,
    Channel,
    RecapRecord,
    VoiceProfile,
    Workspace,
)

R = TypeVar("R", RecapRecord, ActionItemRecord)


class ExportQueries(Store):
    def recaps(
        self, since: datetime | None = None
    ) -> Iterator[tuple[RecapRecord, Workspace, Channel]]:
        return self._records(RecapRecord, since)

    def action_items(
        self, since: datetime | None = None
    ) -> Iterator[tuple[ActionItemRecord, Workspace, Channel]]:
        return self._records(ActionItemRecord, since)

    def item_histories(self, item_ids: list[int]) -> dict[int, list[ActionItemEvent]]:
        """Each item's history, oldest first (one query per `CHUNK` items)."""
        found: dict[int, list[ActionItemEvent]] = {}
        with self._session() as session:
            for chunk in chunks(item_ids):
                for event in session.exec(
                    select(ActionItemEvent)
                    .where(col(ActionItemEvent.item_id).in_(chunk))
                    .order_by(col(ActionItemEvent.id))
                ).all():
                    found.setdefault(event.item_id, []).append(event)
        return found

    def voice_profiles(
        self, since: datetime | None = None
    ) -> Iterator[tuple[VoiceProfile, Workspace]]:
        with self._session() as session:
            query = (
                select(VoiceProfile, Workspace)
                .join(Workspace, col(Workspace.id) == col(VoiceProfile.workspace_id))
                .order_by(col(VoiceProfile.id))
            )
            if since is not None:
                query = query.where(col(VoiceProfile.updated_at) >= since)
            yield from session.exec(query).yield_per(500)

    def _records(
        self, record: type[R], since: datetime | None
    ) -> Iterator[tuple[R, Workspace, Channel]]:
        with self._session() as session:
            query = (
                select(record, Workspace, Channel)
                .join(Channel, col(Channel.id) == col(record.channel_id))
                .join(Workspace, col(Workspace.id) == col(record.workspace_id))
                .order_by(col(record.id))
            )
            if since is not None:
                query = query.where(col(record.created_at) >= since)
            yield from session.exec(query).yield_per(500)
