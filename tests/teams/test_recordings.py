"""A recording attached to a Teams message is part of that conversation's history: dated
from the message's time, recapped by `recap 24h`, gone once the message is deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.storage.models import TranscriptRecord
from summarizer.dates import find_due
from tests.speech import synthesize
from tests.teams.conftest import GROUP_CHAT, Harness
from tests.teams.test_files import uploaded

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SAID = "I will update the screenshots for the store by Wednesday."


def _records(teams: Harness) -> list[TranscriptRecord]:
    with Session(teams.core.services.repo.engine) as session:
        return list(session.exec(select(TranscriptRecord)).all())


@pytest.mark.teams_options(graph_client_id="", graph_client_secret="")  # from the store
async def test_an_attached_recording_is_in_the_chat_recap_until_its_message_is_deleted(
    teams: Harness, tmp_path: Path
) -> None:
    audio = synthesize(SAID, tmp_path / "sync.m4a", "m4a")
    file = uploaded(teams.fake, "sync.m4a", audio.read_bytes(), "audio/mp4", "5e6f7a80-bbbb")
    shared = teams.chat_message("Notes from the design sync", attachments=[file], minutes_ago=90)
    await teams.say(shared)
    await teams.settle()
    [record] = _records(teams)
    sent = datetime.fromisoformat(shared["timestamp"]).astimezone(UTC)
    assert record.source_message_id == shared["id"]
    assert record.recorded_at == sent - timedelta(seconds=record.duration_seconds)

    await teams.say(teams.chat_message("recap 24h", mention_bot=True))
    await teams.settle()
    recap = teams.replies(GROUP_CHAT)[-1]
    assert "Recap of this conversation (24h)" in recap.text
    assert "screenshots for the store" in recap.text.lower()
    due, _ = find_due(SAID, record.recorded_at)
    assert due is not None and f"due {due:%a %d %b}" in recap.text, recap.text
    assert "t=0:0" in recap.text  # the moment in the recording

    delete = teams.activity(
        "message_delete.json", conversation=GROUP_CHAT, kind="groupChat", id=shared["id"]
    )
    await teams.say(delete)
    assert _records(teams) == []
    await teams.say(teams.chat_message("recap 24h", mention_bot=True))
    await teams.settle()
    assert "screenshots for the store" not in teams.replies(GROUP_CHAT)[-1].text.lower()
