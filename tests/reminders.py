"""Items to remind, stored as the items feature stores them, for the reminder tests (and
bench/reminders.py): rows written directly, so these tests need no recap to make them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.storage.base import row_id
from bot.storage.models import ActionItemEvent, ActionItemRecord, ItemReminder
from bot.storage.repo import Repository

_keys = itertools.count(1)


def add_item(
    engine: Engine,
    *,
    platform: str,
    workspace: str,
    channel: str,
    task: str,
    owner_id: str | None,
    due: date | None,
    status: str = "open",
    channel_name: str | None = None,
    **fields: Any,
) -> int:
    """An action item of `channel` (created with its workspace on first use); its id."""
    repo = Repository(engine)
    space = repo.get_or_create_workspace(platform, workspace)
    place = repo.get_or_create_channel(row_id(space), channel)
    if channel_name and place.name != channel_name:
        place = repo.update_channel(row_id(space), channel, name=channel_name)
    with Session(engine) as session:
        item = ActionItemRecord(
            workspace_id=row_id(space),
            channel_id=row_id(place),
            key=f"test-{next(_keys)}",
            task=task,
            owner_id=owner_id,
            owner_name=owner_id and owner_id.title(),
            due=due,
            status=status,
            **fields,
        )
        session.add(item)
        session.commit()
        return row_id(item)


def add_items(engine: Engine, rows: Iterable[dict[str, Any]], **common: Any) -> None:
    """Many items at once (bench/reminders.py): one transaction."""
    repo = Repository(engine)
    space = repo.get_or_create_workspace(common["platform"], common["workspace"])
    place = repo.get_or_create_channel(row_id(space), common["channel"])
    with Session(engine) as session:
        for row in rows:
            session.add(
                ActionItemRecord(
                    workspace_id=row_id(space),
                    channel_id=row_id(place),
                    key=f"bench-{next(_keys)}",
                    **row,
                )
            )
        session.commit()


def reminders(engine: Engine) -> dict[tuple[int, str], tuple[date, str]]:
    """(item id, kind) -> (due date reminded of, status)."""
    with Session(engine) as session:
        rows = session.exec(select(ItemReminder)).all()
    return {(row.item_id, row.kind): (row.due, row.status) for row in rows}


def history(engine: Engine, item_id: int) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.exec(
            select(ActionItemEvent)
            .where(col(ActionItemEvent.item_id) == item_id)
            .order_by(col(ActionItemEvent.id))
        ).all()
    return [(row.field, row.new) for row in rows]


def set_item(engine: Engine, item_id: int, **fields: Any) -> None:
    with Session(engine) as session:
        item = session.get(ActionItemRecord, item_id)
        assert item is not None
        for name, value in fields.items():
            setattr(item, name, value)
        session.add(item)
        session.commit()
