"""Several voices on Teams, end to end with real espeak-ng speech: a recording attached in a
channel is posted with "Speaker 1"/"Speaker 2" labels, naming a speaker makes them the owner
of what they said they'd do, and a meeting recording (no VTT) is told apart into at most as
many voices as the meeting had participants."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.features.media import MediaRunner
from summarizer.types import Transcript
from tests.speech import synthesize_dialogue
from tests.teams.conftest import ANN, BOB, CHANNEL, MEETING_CHAT, TEAM, TENANT, Harness
from tests.teams.test_files import uploaded
from tests.teams.test_meetings import BASE, GRAPH_MEETING, MEETING, recording_only

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TURNS = [
    (0, "Good morning. The new release is ready for the review today."),
    (1, "Thanks. I will test the payment page after lunch."),
    (0, "Great, then we ship it on Friday if nothing breaks."),
    (1, "I will write the release notes tonight."),
]
LINE = re.compile(r"^\[\d+:\d\d\] (Speaker \d+): (.*)$", re.MULTILINE)


async def test_an_attached_dialogue_is_labelled_and_a_named_speaker_owns_their_items(
    teams: Harness, tmp_path: Path
) -> None:
    teams.fake.members[TEAM] |= {ANN.aad, ANN.id}
    audio, _ = synthesize_dialogue(TURNS, tmp_path / "standup.m4a", "m4a")
    file = uploaded(teams.fake, "standup.m4a", audio.read_bytes(), "audio/mp4", "0a0b-voices")
    shared = await teams.say(teams.channel_message("standup", attachments=[file]))
    await teams.settle()

    sent = teams.replies(CHANNEL, shared["id"])
    transcript = next(s for s in sent if s.text.startswith("Transcript ("))
    recap = next(s for s in sent if "Recap" in s.text)
    lines = LINE.findall(transcript.text)
    assert [who for who, _ in lines] == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2"]
    assert "payment" in lines[1][1].lower()
    assert "release notes" in recap.text.lower() and "— Speaker" not in recap.text
    assert "Bob" not in recap.text

    command = teams.channel_message(
        "speaker 2 is <at>Bob Stone</at>", mention_bot=True, mentions=(BOB,), thread=shared["id"]
    )
    await teams.say(command)
    await teams.settle()

    assert transcript.updates and "Bob Stone: " in transcript.text
    assert "Speaker 1: " in transcript.text and "Speaker 2: " not in transcript.text
    notes = next(x for x in recap.text.split("\n") if "release notes" in x.lower() and " — " in x)
    assert "<at>Bob Stone</at>" in notes, recap.text
    entities = recap.last.get("entities") or recap.card.get("msteams", {}).get("entities", [])
    assert any(e.get("mentioned", {}).get("id") == BOB.id for e in entities)


THREE = [  # three voices; the meeting below lists only two participants
    (0, "Good morning everyone. The new release is ready for the review today."),
    (1, "Thanks. I will test the payment page after lunch and report back."),
    (2, "I will update the documentation for the new settings page tomorrow."),
    (0, "Great, then we ship it on Friday if nothing breaks before then."),
    (1, "I will write the release notes tonight and send them to the team."),
    (2, "And I will check the translations for the French version of the app."),
]


async def test_a_meeting_recording_is_bounded_by_its_participant_count(
    teams: Harness, tmp_path: Path
) -> None:
    # Ann organises, Bob attends: two people on the meeting's participant list.
    teams.fake.meetings[MEETING] = {
        "details": {"msGraphResourceId": GRAPH_MEETING, "title": "Release sync"},
        "organizer": {"aadObjectId": ANN.aad, "tenantId": TENANT},
        "conversation": {"id": MEETING_CHAT},
    }
    person = {"identity": {"user": {"id": BOB.aad, "displayName": BOB.name}}}
    organizer = {"identity": {"user": {"id": ANN.aad, "displayName": ANN.name}}}
    teams.fake.graph[BASE] = {
        "id": GRAPH_MEETING,
        "subject": "Release sync",
        "participants": {"organizer": organizer, "attendees": [person]},
    }
    audio, _ = synthesize_dialogue(THREE, tmp_path / "meeting.mp4", "mp4")
    recording_only(teams, audio.read_bytes())

    media = teams.core.services.media
    bounds: list[int | None] = []
    real = media.transcribe

    async def transcribe(path: Path, **kwargs: object) -> Transcript:
        bounds.append(kwargs.get("speakers"))  # type: ignore[arg-type]
        return await real(path, **kwargs)  # type: ignore[arg-type]

    media.transcribe = transcribe  # type: ignore[method-assign]
    assert isinstance(media, MediaRunner) and media.diarization
    ended = teams.activity("meeting_end.json", conversation=MEETING_CHAT, kind="groupChat")
    ended["value"]["EndTime"] = datetime.now(UTC).isoformat()
    await teams.say(ended)
    await teams.settle(within=60)

    assert bounds == [2]  # the participant list reached the transcription job
    transcript = next(r for r in teams.replies(MEETING_CHAT) if "Transcript (" in r.text)
    voices = {who for who, _ in LINE.findall(transcript.text)}
    assert voices and voices <= {"Speaker 1", "Speaker 2"}, transcript.text
    assert "documentation" in transcript.text.lower()
