"""Data governance: `forget`, per-channel retention, and exports for analytics."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot import sentences as messages
from bot.export import export_text
from bot.inbound import CommandRequest
from bot.ports import ChatMessage, Place
from bot.storage.models import ActionItemRecord, RecapRecord, StoredMessage
from tests.memory_platform import memory_bot

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def bot(engine):
    core, worker, platform = memory_bot(engine, clock=lambda: NOW)
    platform.managers = {"C1": {"U1"}, "C2": {"U1"}}  # U1 may `forget` and set `retention`
    return core, worker, platform


async def _say(core, platform, channel: str, id_: str, text: str, days_ago: float) -> None:
    message = ChatMessage(
        id=id_, author_id="U1", author_name="Ann", text=text, at=NOW - timedelta(days=days_ago)
    )
    platform.add(channel, message)
    await core.record_message(Place(platform="memory", workspace="T1", channel=channel), message)


async def _ask(core, text: str, key: str, channel: str = "C1"):
    request = CommandRequest(
        place=Place(platform="memory", workspace="T1", channel=channel),
        user_id="U1",
        text=text,
        event_key=key,
    )
    return (await core.handle_command(request)).reply


def _count(engine, model) -> int:
    with Session(engine) as session:
        return len(session.exec(select(model)).all())


@pytest.mark.anyio
async def test_forget_asks_then_deletes_only_this_channel(bot) -> None:
    core, worker, platform = bot
    await _say(core, platform, "C1", "a", "I'll send the contract to legal today.", 0.1)
    await _say(core, platform, "C2", "b", "I'll order the new laptops today.", 0.1)
    for channel, key in (("C1", "r1"), ("C2", "r2")):
        await _ask(core, "recap 24h", key, channel)
    await _ask(core, "digest daily 09:00", "d1")
    await worker.drain()
    assert _count(core.services.repo.engine, ActionItemRecord) == 2

    assert (await _ask(core, "forget", "f1")).text == messages.FORGET_CONFIRM
    assert _count(core.services.repo.engine, StoredMessage) == 2  # nothing deleted yet
    done = (await _ask(core, "forget confirm", "f2")).text
    assert "1 messages" in done and "1 recaps" in done and "1 action items" in done
    with Session(core.services.repo.engine) as session:
        assert [m.external_id for m in session.exec(select(StoredMessage)).all()] == ["b"]
        assert [a.task for a in session.exec(select(ActionItemRecord)).all()] == [
            "Order the new laptops"
        ]
    assert core.services.digests.active_subscriptions() == []


@pytest.mark.anyio
async def test_retention_deletes_what_is_older_than_the_channel_keeps(bot) -> None:
    core, _, platform = bot
    await _say(core, platform, "C1", "old", "I'll archive the old tickets.", 40)
    await _say(core, platform, "C1", "new", "I'll review the new tickets.", 2)
    await _say(core, platform, "C2", "keep", "I'll keep this forever.", 400)
    assert "30 days" in (await _ask(core, "retention 30", "k1")).text
    assert "24h" not in (await _ask(core, "retention banana", "k2")).text
    counts = core.services.repo.purge_expired(NOW, None)
    assert counts["messages"] == 1
    with Session(core.services.repo.engine) as session:
        left = sorted(m.external_id for m in session.exec(select(StoredMessage)).all())
    assert left == ["keep", "new"]
    # A server-wide default applies to channels without their own setting.
    assert core.services.repo.purge_expired(NOW, 365)["messages"] == 1


@pytest.mark.anyio
async def test_retention_off_says_which_retention_still_applies(bot) -> None:
    """`retention off` drops the channel's own setting; with RETENTION_DAYS set the
    server's default still applies, and the reply must not promise "until forget"."""
    core, _, _ = bot
    assert (await _ask(core, "retention off", "k1")).text == messages.RETENTION_OFF
    core.services.limits = dataclasses.replace(core.services.limits, retention_days=90)
    text = (await _ask(core, "retention off", "k2")).text
    assert text == messages.RETENTION_OFF_DEFAULT.format(days=90)
    assert "forget" not in text


@pytest.mark.anyio
async def test_export_jsonl_and_csv(bot) -> None:
    core, worker, platform = bot
    await _say(core, platform, "C1", "a", "I'll send the contract to legal by Friday.", 0.1)
    await _ask(core, "recap 24h", "r1")
    await worker.drain()
    [item] = [
        json.loads(line)
        for line in export_text(core.services.repo.engine, "action-items", "jsonl").splitlines()
    ]
    assert (item["platform"], item["channel"], item["task"], item["owner_id"], item["due"]) == (
        "memory",
        "C1",
        "Send the contract to legal",
        "U1",
        "2026-11-27",
    )
    assert item["status"] == "open" and item["tracker_ref"] is None
    assert [(e["actor"], e["field"]) for e in item["history"]] == [("bot", "created")]
    core.services.repo.items.change(item["id"], actor="U1", status="done")
    [row] = list(
        csv.DictReader(io.StringIO(export_text(core.services.repo.engine, "action-items", "csv")))
    )
    assert row["status"] == "done" and '"actor": "U1"' in row["history"]
    assert row["history"].count(" | ") == 1  # created | status
    [recap] = list(
        csv.DictReader(io.StringIO(export_text(core.services.repo.engine, "recaps", "csv")))
    )
    assert recap["engine"] == "offline" and recap["action_items"] == "1"
    assert _count(core.services.repo.engine, RecapRecord) == 1
    later = NOW + timedelta(days=1)
    assert (
        export_text(core.services.repo.engine, "recaps", "jsonl", since=later + timedelta(days=400))
        == ""
    )


def test_the_hourly_sweep_forgets_event_ids_after_30_days(bot, engine) -> None:
    """Retries are refused by the event ids kept (Slack events, clicks, tracker webhooks);
    kept 30 days, then the sweep deletes them, so the table does not grow forever."""
    from bot.scheduler import sweep
    from bot.storage.models import ProcessedEvent

    core, _, _ = bot
    repo = core.services.repo
    assert repo.first_time_seen("slack:T1:Ev-old") and repo.first_time_seen("webhook:x")
    with Session(engine) as session:
        old = session.get(ProcessedEvent, "slack:T1:Ev-old")
        old.received_at = NOW - timedelta(days=31)
        session.add(old)
        session.commit()
    assert core.services.digests is not None
    assert sweep(core.services.digests)["processed events"] == 1
    assert not repo.first_time_seen("webhook:x")  # a recent one still refuses its retry
    assert repo.first_time_seen("slack:T1:Ev-old")  # forgotten: seen as new
