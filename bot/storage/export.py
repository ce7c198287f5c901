"""Records for `balafon export`: recaps or action items, oldest first, each with its
workspace and channel, streamed (500 rows at a time) from one session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlmodel import col, select

from bot.storage.base import Store
from bot.storage.models import ActionItemRecord, Channel, RecapRecord, Workspace


class ExportQueries(Store):
    def recaps(
        self, since: datetime | None = None
    ) -> Iterator[tuple[RecapRecord, Workspace, Channel]]:
        with self._session() as session:
            query = (
                select(RecapRecord, Workspace, Channel)
                .join(Channel, col(Channel.id) == col(RecapRecord.channel_id))
                .join(Workspace, col(Workspace.id) == col(RecapRecord.workspace_id))
                .order_by(col(RecapRecord.id))
            )
            if since is not None:
                query = query.where(col(RecapRecord.created_at) >= since)
            yield from session.exec(query).yield_per(500)

    def action_items(
        self, since: datetime | None = None
    ) -> Iterator[tuple[ActionItemRecord, Workspace, Channel]]:
        with self._session() as session:
            query = (
                select(ActionItemRecord, Workspace, Channel)
                .join(Channel, col(Channel.id) == col(ActionItemRecord.channel_id))
                .join(Workspace, col(Workspace.id) == col(ActionItemRecord.workspace_id))
                .order_by(col(ActionItemRecord.id))
            )
            if since is not None:
                query = query.where(col(ActionItemRecord.created_at) >= since)
            yield from session.exec(query).yield_per(500)
