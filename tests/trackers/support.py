"""The core with trackers pointed at the loopback fakes, and stored items to export."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from bot.commands import Outcome
from bot.features.items.trackers import request_export
from bot.inbound import CommandRequest, Inbound
from bot.jobs import Worker
from bot.ports import Place
from bot.storage.base import row_id
from bot.storage.models import ActionItemEvent, ActionItemRecord, RecapRecord
from bot.trackers.registry import TrackerConfig, Trackers
from tests.memory_platform import MemoryPlatform, memory_bot

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
HERE = Place(platform="memory", workspace="T1", channel="C1")
MANAGER = "U-Boss"
THREAD = "1700.0001"  # the thread of the recap that shows the items
SECRETS = {"github": "gh-secret", "jira": "jira-secret", "linear": "linear-secret"}
OPENED: list[Trackers] = []  # closed after each test (tests/trackers/conftest.py)


class Sleeps:
    """The clients' `sleep`: records each wait and returns at once (no timed tests)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def tracker_config(
    *, github: Any = None, jira: Any = None, linear: Any = None, auto_export: bool = False
) -> TrackerConfig:
    """Settings for the fakes given (the others stay unset)."""
    options: dict[str, Any] = {"auto_export": auto_export}
    if github is not None:
        options |= {
            "github_token": github.token,
            "github_api_url": github.base_url,
            "github_webhook_secret": SECRETS["github"],
        }
    if jira is not None:
        options |= {
            "jira_url": jira.base_url,
            "jira_email": "bot@acme.example",
            "jira_api_token": "jira-token",
            "jira_webhook_secret": SECRETS["jira"],
        }
    if linear is not None:
        options |= {
            "linear_api_key": linear.api_key,
            "linear_api_url": linear.api_url,
            "linear_webhook_secret": SECRETS["linear"],
        }
    return TrackerConfig(**options)


def tracker_bot(
    engine: Any, config: TrackerConfig, sleeps: Sleeps | None = None
) -> tuple[Inbound, Worker, MemoryPlatform]:
    core, worker, platform = memory_bot(engine, clock=lambda: NOW)
    core.services.trackers = Trackers(config, sleep=sleeps or Sleeps())
    OPENED.append(core.services.trackers)
    platform.managers["C1"] = {MANAGER}
    return core, worker, platform


async def say(core: Inbound, text: str, key: str, *, user: str = MANAGER) -> Outcome:
    request = CommandRequest(place=HERE, user_id=user, text=text, event_key=key)
    return await core.handle_command(request)


async def stored_item(
    core: Inbound,
    task: str = "Send the launch plan to Kofi",
    *,
    item_id: int | None = None,
    owned: bool = True,
) -> int:
    """An item as a posted recap reported it (in THREAD), as the items core stores it
    (`item_id`: the id a deleted item had, as SQLite gives it again)."""
    services = core.services
    channel = await services.conversations.get_or_create_channel(replace(HERE, thread=None))
    with Session(services.repo.engine) as session:
        recap = RecapRecord(
            workspace_id=channel.workspace_id,
            channel_id=row_id(channel),
            engine="offline",
            recap={"summary": "", "action_items": [{"task": task}]},
            post={"channel": "C1", "thread": THREAD, "message_id": "1700.0002"},
        )
        session.add(recap)
        session.commit()
        item = ActionItemRecord(
            id=item_id,
            recap_id=row_id(recap),
            workspace_id=channel.workspace_id,
            channel_id=row_id(channel),
            key=f"key-{task}",
            task=task,
            owner_id="U-Kofi" if owned else None,
            owner_name="Kofi" if owned else None,
            due=date(2026, 12, 11),
        )
        session.add(item)
        session.commit()
        return row_id(item)


async def exported_item(
    core: Inbound, worker: Worker, command: str, task: str = "Ship the launch plan"
) -> int:
    """An item stored after `command` linked the channel, exported by Kofi, its issue created."""
    await say(core, command, f"Ev-{command}")
    item_id = await stored_item(core, task)
    await request_export(core.services, item_id, "U-Kofi")
    await worker.drain()
    assert item(core, item_id).tracker_ref
    return item_id


def item(core: Inbound, item_id: int) -> ActionItemRecord:
    with Session(core.services.repo.engine) as session:
        found = session.get(ActionItemRecord, item_id)
        assert found is not None
        return found


def history(core: Inbound, item_id: int) -> list[tuple[str, str, str | None, str | None]]:
    """(actor, field, old, new) of the item's events, oldest first."""
    from sqlmodel import col, select

    with Session(core.services.repo.engine) as session:
        events = session.exec(
            select(ActionItemEvent)
            .where(col(ActionItemEvent.item_id) == item_id)
            .order_by(col(ActionItemEvent.id))
        ).all()
        return [(e.actor, e.field, e.old, e.new) for e in events]
