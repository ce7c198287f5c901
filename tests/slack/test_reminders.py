"""Reminders on Slack: a direct message (conversations.open, chat.postMessage marked with
the delivery key) at the owner's local time (users.info `tz`), posted once even when the
process dies between Slack accepting the post and the bot recording it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.features.items.reminders import STALE
from tests.reminders import add_item, reminders
from tests.slack.conftest import ANN, BOB, GENERAL, TEAM, post_text

pytestmark = pytest.mark.anyio

TUESDAY = date(2026, 12, 8)
MONDAY_EVENING = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)  # 17:30 in Paris


def _item(slack, owner: str, task: str, due: date = TUESDAY) -> int:
    return add_item(
        slack.core.services.repo.engine,
        platform="slack",
        workspace=TEAM,
        channel=GENERAL,
        task=task,
        owner_id=owner,
        due=due,
    )


async def test_reminder_is_a_direct_message_at_the_owners_local_time(slack) -> None:
    slack.fake.users[BOB]["tz"] = "America/Los_Angeles"  # 08:30 there: not yet
    ann = _item(slack, ANN, "Send the deck to legal")
    _item(slack, BOB, "Book the venue")
    service = slack.core.services.reminders

    assert await service.run_pass(MONDAY_EVENING) == {"sent": 1}
    [opened] = slack.fake.called("conversations.open")
    assert opened.args["users"] == ANN
    dm = "D" + ANN.removeprefix("U")
    [post] = slack.fake.posts(dm)
    shown = post_text(post)
    assert "Send the deck to legal" in shown and "Tue 8 Dec" in shown
    assert f"@balafon done {ann}" in shown
    assert f"<#{GENERAL}>" in shown
    metadata = post["metadata"]
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    assert metadata["event_payload"]["key"] == f"reminder:{ann}:before:2026-12-08"
    assert {c.args["user"] for c in slack.fake.called("users.info")} >= {ANN, BOB}

    # 17:00 in Los Angeles is 01:00 UTC: Bob's turn; Ann is not reminded twice.
    assert await service.run_pass(datetime(2026, 12, 8, 1, 0, tzinfo=UTC)) == {"sent": 1}
    assert len(slack.fake.posts(dm)) == 1
    assert len(slack.fake.posts("D" + BOB.removeprefix("U"))) == 1
    assert len(slack.fake.called("conversations.open")) == 2


async def test_a_crash_after_slack_accepted_the_post_does_not_post_twice(
    slack, monkeypatch
) -> None:
    ann = _item(slack, ANN, "Renew the certificate")
    service = slack.core.services.reminders
    repo = slack.core.services.repo
    dm = "D" + ANN.removeprefix("U")

    def crash(*args, **kwargs) -> None:
        raise ConnectionError("the database went away before the post was recorded")

    with monkeypatch.context() as patch:
        patch.setattr(repo, "record_delivery", crash)
        assert await service.run_pass(MONDAY_EVENING) == {"error": 1}
    assert len(slack.fake.posts(dm)) == 1  # Slack has it
    assert reminders(repo.engine) == {(ann, "before"): (TUESDAY, "sending")}

    # Another process (a restarted one) takes the claim once it is stale: it reads the DM
    # for the marked post and records it instead of posting again.
    later = MONDAY_EVENING + STALE + timedelta(minutes=1)
    assert await service.run_pass(later) == {"sent": 1}
    assert len(slack.fake.posts(dm)) == 1
    history = slack.fake.called("conversations.history")
    assert history and history[-1].args["channel"] == dm
    assert reminders(repo.engine) == {(ann, "before"): (TUESDAY, "sent")}


async def test_a_deactivated_owner_is_not_written_to(slack) -> None:
    slack.fake.users[BOB]["deleted"] = True
    bob = _item(slack, BOB, "Hand over the keys")
    service = slack.core.services.reminders
    slack.fake.users[BOB]["tz"] = "Europe/Paris"
    assert await service.run_pass(MONDAY_EVENING) == {"unreachable": 1}
    assert slack.fake.posts() == []
    assert reminders(slack.core.services.repo.engine) == {(bob, "before"): (TUESDAY, "unreachable")}


async def test_post_private_and_user_timezone(slack) -> None:
    from bot.ports import PrivateMessaging, TextReply

    platform = slack.adapter
    assert isinstance(platform, PrivateMessaging)
    assert await platform.user_timezone(TEAM, ANN) == "Europe/Paris"
    message_id = await platform.post_private(TEAM, ANN, TextReply(text="Only for you"))
    [post] = slack.fake.posts("D" + ANN.removeprefix("U"))
    assert message_id and "Only for you" in post_text(post)
    assert await platform.post_private(TEAM, "U0NOBODY", TextReply(text="?")) is None
