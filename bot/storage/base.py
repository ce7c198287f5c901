"""What every repository shares: an engine, sessions that keep their rows readable after
commit, and small helpers for ids, chunks and row counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Executable
from sqlmodel import Session

from bot.storage.db import checkpoint

ChannelKey = tuple[str, str, str]  # (platform, workspace external id, channel external id)
FINISHED = ("done", "failed")  # job statuses that no longer change
CHUNK = 500  # ids per `IN (...)`: well under every database's parameter limit


class HasId(Protocol):
    @property
    def id(self) -> int | None: ...


def row_id(row: HasId) -> int:
    """The id of a row read from the database (only unsaved rows have none)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} is not stored yet")
    return row.id


def chunks(ids: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def rowcount(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE; the number of rows it touched."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def payload_channels(value: Any) -> Iterator[ChannelKey]:
    """Every channel a job payload names: each nested dict shaped like a `Place` (the
    recap's source, a reply's place, a meeting's place…), whatever the job kind."""
    if isinstance(value, dict):
        platform, workspace, channel = (
            value.get("platform"),
            value.get("workspace"),
            value.get("channel"),
        )
        if isinstance(platform, str) and isinstance(workspace, str) and isinstance(channel, str):
            yield (platform, workspace, channel)
        for item in value.values():
            yield from payload_channels(item)
    elif isinstance(value, list):
        for item in value:
            yield from payload_channels(item)


class Store:
    """A repository over one engine. Synchronous: callers run its methods in a thread
    (`asyncio.to_thread`) so the event loop never waits on the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def checkpoint(self) -> None:
        """After deleting for good: leave no old copies in SQLite's write-ahead log."""
        checkpoint(self.engine)
