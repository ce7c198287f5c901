# ruff: noqa: F811  (the harness's fixtures are imported, then named as parameters)
"""Issue #11 item 8 on Teams: in a team's channel only the team's owners (the connector's
roster, `userRole` "owner") or people in ADMIN_USERS may `forget` or set `retention`; a
group chat has no owner the roster shows (ADMIN_USERS only); a 1:1 chat is its person's.
Driven through the real ASGI app against the fake Microsoft cloud on 127.0.0.1."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import Session, select

from adapters.teams import sentences as teams_sentences
from bot import sentences as messages
from bot.storage.models import Channel, StoredMessage
from tests.teams.conftest import (  # noqa: F401  (fixtures)
    ANN,
    BOB,
    TEAM,
    Harness,
    fake,
    signing_key,
    sqlite_engine,
    teams,
    tls,
)

pytestmark = pytest.mark.anyio
REFUSAL = messages.NOT_A_MANAGER.format(who=teams_sentences.MANAGERS)


def _texts(teams: Harness) -> list[str]:
    return [sent.text for sent in teams.fake.sent]


def _stored(teams: Harness) -> tuple[list[str], list[int | None]]:
    with Session(teams.core.services.repo.engine) as session:
        texts = sorted(m.text for m in session.exec(select(StoredMessage)).all())
        days = [c.retention_days for c in session.exec(select(Channel)).all()]
        return texts, days


async def test_only_team_owners_manage_a_channel(teams: Harness) -> None:
    teams.fake.members[TEAM] |= {ANN.aad, BOB.aad}
    teams.fake.owners[TEAM].add(BOB.aad)
    await teams.say(teams.channel_message("The vendor shortlist is Acme and Globex."))
    for text in ("forget confirm", "retention 1"):
        await teams.say(teams.channel_message(text, mention_bot=True, user=ANN))
    await teams.settle()
    assert sum(REFUSAL in text for text in _texts(teams)) == 2
    assert _stored(teams) == (["The vendor shortlist is Acme and Globex."], [None])
    roster = teams.fake.called("GET", "/connector/v3/conversations/")
    assert roster and all(ANN.aad in call.path for call in roster)

    await teams.say(teams.channel_message("retention 7", mention_bot=True, user=BOB))
    await teams.say(teams.channel_message("forget confirm", mention_bot=True, user=BOB))
    await teams.settle()
    assert "Done: I deleted 1 messages" in _texts(teams)[-1]
    assert _stored(teams) == ([], [7])


async def test_group_chats_need_admin_users_and_personal_chats_are_their_persons(
    teams: Harness,
) -> None:
    await teams.say(teams.chat_message("Group chat secret.", user=ANN))
    await teams.say(teams.chat_message("forget confirm", mention_bot=True, user=ANN))
    await teams.settle()
    assert REFUSAL in _texts(teams)[-1]
    assert _stored(teams)[0] == ["Group chat secret."]

    teams.core.services.limits = replace(
        teams.core.services.limits, admin_users=frozenset({f"teams:{ANN.aad}"})
    )  # ADMIN_USERS=teams:<id>
    await teams.say(teams.chat_message("forget confirm", mention_bot=True, user=ANN))
    await teams.settle()
    assert "Done: I deleted 1 messages" in _texts(teams)[-1]

    teams.core.services.limits = replace(teams.core.services.limits, admin_users=frozenset())
    await teams.say(teams.personal_message("retention 3", user=BOB))
    await teams.settle()
    assert "3 days" in _texts(teams)[-1]
