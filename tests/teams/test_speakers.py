"""Naming a recording's speakers in Teams: `@balafon speaker 1 is @Bob Stone` in the
recording's thread updates the transcript and recap cards in place, with Bob mentioned as
the owner of what he said he'd do; meeting transcripts' VTT voice tags are names already."""

from __future__ import annotations

import pytest

from adapters.teams.vtt import parse_vtt
from bot.features.media import MediaRunner
from summarizer.pipeline import Summarizer, transcript_to_conversation
from tests.teams.conftest import ANN, BOB, CHANNEL, GROUP_CHAT, TEAM, Harness
from tests.teams.test_files import inline
from tests.voices import TwoVoices

pytestmark = pytest.mark.anyio


async def test_naming_a_speaker_updates_the_cards_with_a_mention(teams: Harness) -> None:
    teams.core.services.media = MediaRunner(TwoVoices, workers=1)
    teams.fake.members[TEAM] |= {ANN.aad, ANN.id}
    file = inline(teams.fake, "standup.webm", b"not decoded by the fake" * 10, "video/webm")
    shared = await teams.say(teams.channel_message("standup", attachments=[file]))
    await teams.settle()
    sent = teams.replies(CHANNEL, shared["id"])
    transcript = next(s for s in sent if "Speaker 1" in s.text and "Recap" not in s.text)
    recap = next(s for s in sent if "Recap" in s.text)
    assert "Bob" not in recap.text

    command = teams.channel_message(
        "speaker 1 is <at>Bob Stone</at>", mention_bot=True, mentions=(BOB,), thread=shared["id"]
    )
    await teams.say(command)
    await teams.settle()

    assert transcript.updates and "Bob Stone" in transcript.text
    assert recap.updates
    screenshots = next(x for x in recap.text.split("\n") if "screenshots" in x and " — " in x)
    assert "<at>Bob Stone</at>" in screenshots
    entities = recap.last.get("entities") or recap.card.get("msteams", {}).get("entities", [])
    assert any(e.get("mentioned", {}).get("id") == BOB.id for e in entities)
    invoices = next(x for x in recap.text.split("\n") if "invoices" in x and " — " in x)
    assert "<at>" not in invoices
    assert any(
        "Speaker 1 of “standup.webm” is Bob Stone" in s.text
        for s in teams.replies(CHANNEL, shared["id"])
    )


def test_meeting_voice_tags_own_their_items() -> None:
    vtt = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:04.000\n<v Ama Owusu>I'll book the room for Thursday.</v>\n\n"
        "00:00:05.000 --> 00:00:08.000\n<v Bob Stone>Thanks, that works.</v>\n"
    )
    transcript = parse_vtt(vtt)
    conversation = transcript_to_conversation(transcript)

    assert conversation.unnamed == []
    recap = Summarizer().recap(conversation)
    assert [item.owner for item in recap.action_items] == ["Ama Owusu"]


async def test_in_a_group_chat_without_threads_the_latest_recording_is_named(
    teams: Harness,
) -> None:
    teams.core.services.media = MediaRunner(TwoVoices, workers=1)
    teams.fake.members[GROUP_CHAT] |= {ANN.aad, ANN.id}
    file = inline(teams.fake, "call.webm", b"not decoded by the fake" * 10, "video/webm")
    await teams.say(teams.chat_message("transcribe", mention_bot=True, attachments=[file]))
    await teams.settle()
    recap = next(s for s in teams.replies(GROUP_CHAT) if "Recap" in s.text)

    await teams.say(
        teams.chat_message("speaker 1 is <at>Bob Stone</at>", mention_bot=True, mentions=(BOB,))
    )
    await teams.settle()

    screenshots = next(x for x in recap.text.split("\n") if "screenshots" in x and " — " in x)
    assert "<at>Bob Stone</at>" in screenshots
