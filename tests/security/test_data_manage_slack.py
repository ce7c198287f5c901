# ruff: noqa: F811  (the harness's fixtures are imported, then named as parameters)
"""Issue #11 item 8 on Slack: only workspace admins / owners (users.info) or people in
ADMIN_USERS may `forget` a channel or set its `retention`; anyone else is told who can and
nothing changes. Driven through the real ASGI app against the fake Slack on 127.0.0.1."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlmodel import Session, select

from adapters.slack import sentences as slack_sentences
from bot import sentences as messages
from bot.main import Settings, build_core
from bot.storage.models import Channel, StoredMessage
from tests.slack.conftest import (  # noqa: F401  (fixtures)
    ANN,
    BOB,
    CY,
    GENERAL,
    Harness,
    fake,
    slack,
    sqlite_engine,
)

pytestmark = pytest.mark.anyio
REFUSAL = messages.NOT_A_MANAGER.format(who=slack_sentences.MANAGERS)


def _replies(slack: Harness) -> list[str]:
    return [
        json.dumps(p.get("blocks", []), ensure_ascii=False) + p.get("text", "")
        for p in slack.fake.posts(GENERAL)
    ]


def _stored(slack: Harness) -> tuple[list[str], int | None]:
    with Session(slack.core.services.repo.engine) as session:
        texts = [m.text for m in session.exec(select(StoredMessage)).all()]
        channel = session.exec(select(Channel).where(Channel.external_id == GENERAL)).one()
        return texts, channel.retention_days


async def test_a_member_cannot_forget_or_set_retention(slack: Harness) -> None:
    await slack.say(GENERAL, BOB, "The launch code word is PELICAN.")
    await slack.settle()
    for text in ("forget", "forget confirm", "retention 1", "retention off"):
        await slack.mention(GENERAL, ANN, text)
        await slack.settle()
    replies = _replies(slack)
    assert len(replies) == 4 and all(REFUSAL in reply for reply in replies)
    assert "workspace admins and owners" in REFUSAL
    assert _stored(slack) == (["The launch code word is PELICAN."], None)  # nothing changed
    asked = [c.args["user"] for c in slack.fake.called("users.info")]
    assert asked.count(ANN) >= 4  # asked afresh every time: rights can be revoked


async def test_a_workspace_admin_or_owner_can(slack: Harness) -> None:
    slack.fake.add_user(BOB, "Bob", admin=True)
    slack.fake.add_user(CY, "Cy", owner=True)
    await slack.say(GENERAL, ANN, "The launch code word is PELICAN.")
    await slack.settle()
    await slack.mention(GENERAL, BOB, "retention 30")
    await slack.settle()
    assert _stored(slack)[1] == 30
    await slack.mention(GENERAL, CY, "forget confirm")
    await slack.settle()
    assert "Done: I deleted 1 messages" in _replies(slack)[-1]
    assert _stored(slack)[0] == []


async def test_guests_and_people_of_another_organisation_cannot(slack: Harness) -> None:
    slack.fake.add_user(BOB, "Bob", admin=True)
    slack.fake.users[BOB]["is_restricted"] = True  # a multi-channel guest flagged admin
    slack.fake.add_user(CY, "Cy", admin=True)
    slack.fake.users[CY]["team_id"] = "T0OTHERORG"  # Slack Connect: admin of their own org
    await slack.say(GENERAL, ANN, "kept")
    await slack.settle()
    for user in (BOB, CY):
        await slack.mention(GENERAL, user, "forget confirm")
        await slack.settle()
    assert all(REFUSAL in reply for reply in _replies(slack))
    assert _stored(slack)[0] == ["kept"]


async def test_admin_users_override(slack: Harness) -> None:
    # ADMIN_USERS as an operator writes it; build_core passes it to the core.
    settings = Settings(_env_file=None, admin_users=f" slack:{ANN}, teams:{CY} ,U0SOMEONE")
    core, _ = build_core(settings.model_copy(update={"database_url": "sqlite://"}))
    assert core.services.limits.admin_users == {f"slack:{ANN}", f"teams:{CY}", "U0SOMEONE"}
    slack.core.services.limits = replace(
        slack.core.services.limits, admin_users=core.services.limits.admin_users
    )
    await slack.say(GENERAL, BOB, "to forget")
    await slack.settle()
    await slack.mention(GENERAL, CY, "forget confirm")  # listed for Teams only: refused
    await slack.settle()
    assert REFUSAL in _replies(slack)[-1]
    await slack.mention(GENERAL, ANN, "forget confirm")
    await slack.settle()
    assert "Done: I deleted" in _replies(slack)[-1]
    assert _stored(slack)[0] == []
