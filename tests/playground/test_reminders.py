"""Reminders in the playground: a notice only the owner sees, in their own view of the
item's channel (the playground has no direct messages)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from bot.ports import PrivateMessaging, TextReply
from tests.playground.conftest import Stack
from tests.reminders import add_item, reminders

pytestmark = pytest.mark.anyio

TUESDAY = date(2026, 12, 8)
MONDAY_EVENING = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)  # DEFAULT_TIMEZONE: UTC


async def test_reminder_is_a_notice_only_the_owner_sees(stack: Stack) -> None:
    playground = stack.playground
    playground.seed()
    engine = stack.core.services.repo.engine
    item_id = add_item(
        engine,
        platform="playground",
        workspace="local",
        channel="design",
        task="Send the deck to legal",
        owner_id="ann",
        due=TUESDAY,
    )
    assert await stack.core.services.reminders.run_pass(MONDAY_EVENING) == {"sent": 1}
    store = playground.store
    mine = [m for m in store.channel_messages("design", "ann") if m.visible_to == "ann"]
    assert len(mine) == 1
    assert "Send the deck to legal" in json.dumps(mine[0].reply)
    assert mine[0].id not in [m.id for m in store.channel_messages("design", "bob")]
    assert mine[0].id not in [m.id for m in store.history("design")]  # not conversation
    assert reminders(engine) == {(item_id, "before"): (TUESDAY, "sent")}


async def test_post_private_without_a_channel_uses_the_first(stack: Stack) -> None:
    playground = stack.playground
    playground.seed()
    assert isinstance(playground, PrivateMessaging)
    assert await playground.user_timezone("local", "bob") is None
    message_id = await playground.post_private("local", "bob", TextReply(text="psst"))
    assert message_id is not None
    row = playground.store.message(int(message_id))
    assert row is not None and row.visible_to == "bob" and row.channel_id == "general"
    assert await playground.post_private("local", "nobody", TextReply(text="?")) is None
