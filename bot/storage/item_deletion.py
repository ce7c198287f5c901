"""Deleting items with what hangs on them (history, recap links, reminders), and recaps
with the items they last reported: `forget`, retention, deleted messages and files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from bot.storage.base import chunks, rowcount
from bot.storage.models import (
    ActionItemEvent,
    ActionItemRecord,
    Channel,
    ItemReminder,
    RecapItem,
    RecapRecord,
)


def delete_items(session: Session, *conditions: Any) -> int:
    """Delete the items matching `conditions` with their history, recap links and
    reminders (they cannot outlive the item); the number of items deleted."""
    ids = [
        item_id
        for item_id in session.exec(select(ActionItemRecord.id).where(*conditions)).all()
        if item_id is not None
    ]
    deleted = 0
    for chunk in chunks(ids):
        for model, column in (
            (ActionItemEvent, ActionItemEvent.item_id),
            (RecapItem, RecapItem.item_id),
            (ItemReminder, ItemReminder.item_id),
        ):
            session.execute(delete(model).where(col(column).in_(chunk)))
        deleted += rowcount(
            session, delete(ActionItemRecord).where(col(ActionItemRecord.id).in_(chunk))
        )
    return deleted


def delete_recaps(session: Session, *conditions: Any) -> int:
    """Delete the recaps matching `conditions`, the items they last reported (with their
    history) and their links to the items they show; the number of recaps deleted."""
    recap_ids = [
        recap_id
        for recap_id in session.exec(select(RecapRecord.id).where(*conditions)).all()
        if recap_id is not None
    ]
    deleted = 0
    for chunk in chunks(recap_ids):
        delete_items(session, col(ActionItemRecord.recap_id).in_(chunk))
        session.execute(delete(RecapItem).where(col(RecapItem.recap_id).in_(chunk)))
        deleted += rowcount(session, delete(RecapRecord).where(col(RecapRecord.id).in_(chunk)))
    return deleted


def citing(channel: Channel, message_id: str) -> ColumnElement[bool]:
    """Items of the channel citing the message or a moment of its recording."""
    return (
        (col(ActionItemRecord.workspace_id) == channel.workspace_id)
        & (col(ActionItemRecord.channel_id) == channel.id)
        & or_(
            col(ActionItemRecord.source_ref) == message_id,
            col(ActionItemRecord.source_ref).startswith(f"{message_id}@", autoescape=True),
        )
    )
