"""Reminders on Teams: a proactive 1:1 chat opened with the connector's create
conversation (member and tenant), the reminder card sent into it, at the owner's local time
as their activities said it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from adapters.teams.activities import PLATFORM, channel_key
from adapters.teams.people import PeopleStore
from bot.ports import PrivateMessaging, TextReply
from tests.reminders import add_item, reminders
from tests.teams.conftest import ANN, BOB, CHANNEL, PERSONAL, TENANT, Harness

pytestmark = pytest.mark.anyio

TUESDAY = date(2026, 12, 8)
MONDAY_EVENING = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)  # 17:30 in Berlin


def _item(teams: Harness, owner: str, task: str) -> int:
    return add_item(
        teams.core.services.repo.engine,
        platform=PLATFORM,
        workspace=TENANT,
        channel=channel_key(CHANNEL),
        channel_name="Design reviews",
        task=task,
        owner_id=owner,
        due=TUESDAY,
    )


async def test_reminder_opens_a_personal_chat_and_sends_the_card(teams: Harness) -> None:
    # Ann speaks in the channel (Teams says her zone: Europe/Berlin, in message.json).
    await teams.say(teams.channel_message("Let's ship on Tuesday"))
    teams.fake.installed_for.add(ANN.aad)
    item_id = _item(teams, ANN.aad, "Send the deck to legal")
    platform = teams.adapter
    assert await platform.user_timezone(TENANT, ANN.aad) == "Europe/Berlin"
    # Stored: another process (the scheduler's) reads it from the database.
    engine = teams.core.services.repo.engine
    assert await PeopleStore(engine).timezone(TENANT, ANN.aad) == "Europe/Berlin"

    service = teams.core.services.reminders
    assert await service.run_pass(MONDAY_EVENING) == {"sent": 1}
    create = next(c for c in teams.fake.calls if c.path == "/connector/v3/conversations")
    assert create.body["members"] == [{"id": ANN.aad}]
    assert create.body["tenantId"] == TENANT and create.body["isGroup"] is False
    assert create.headers["Authorization"] == f"Bearer {teams.fake.bot_token()}"
    chat = teams.fake.personal_chats[ANN.aad]
    [card] = teams.fake.in_conversation(chat)
    shown = json.dumps(card.card)
    assert "Send the deck to legal" in shown  # the item, with its buttons
    assert "Design reviews" in card.text and "Tue 8 Dec" in card.text
    assert f"@balafon done {item_id}" in card.text
    assert reminders(teams.core.services.repo.engine) == {(item_id, "before"): (TUESDAY, "sent")}

    # The chat is stored: a later private message goes there without opening another.
    assert await platform.post_private(TENANT, ANN.aad, TextReply(text="Also this"))
    assert len(teams.fake.in_conversation(chat)) == 2
    opened = [c for c in teams.fake.calls if c.path == "/connector/v3/conversations"]
    assert len(opened) == 1


async def test_someone_without_the_app_is_not_reachable(teams: Harness) -> None:
    await teams.say(teams.channel_message("hello", user=BOB))
    item_id = _item(teams, BOB.aad, "Order the badges")
    assert await teams.core.services.reminders.run_pass(MONDAY_EVENING) == {"unreachable": 1}
    assert reminders(teams.core.services.repo.engine) == {
        (item_id, "before"): (TUESDAY, "unreachable")
    }
    assert await teams.adapter.post_private(TENANT, BOB.aad, TextReply(text="?")) is None


async def test_a_person_with_a_personal_chat_is_written_there(teams: Harness) -> None:
    await teams.say(teams.personal_message("hi"))  # Ann's 1:1 chat with the bot
    before = len(teams.replies(PERSONAL))  # (its answer to "hi")
    assert isinstance(teams.adapter, PrivateMessaging)
    assert await teams.adapter.post_private(TENANT, ANN.aad, TextReply(text="Only for you"))
    [sent] = teams.replies(PERSONAL)[before:]
    assert "Only for you" in sent.text
    assert not [c for c in teams.fake.calls if c.path == "/connector/v3/conversations"]
