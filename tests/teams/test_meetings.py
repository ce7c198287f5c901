"""Meeting recaps: the meetingEnd event, then the transcript (or the recording) through a
fake Microsoft Graph, and the recap posted into the meeting chat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.storage.models import TranscriptRecord
from tests.teams.conftest import ANN, BOB, CY, GRAPH_ID, MEETING_CHAT, TENANT, Harness

pytestmark = pytest.mark.anyio

MEETING = (  # channelData.meeting.id of the payload: the Bot Framework's meeting id
    "MCMxOTptZWV0aW5nX1pUazFObUkwWkRJdE5HSmhPQzAwTUdZd0xXSXpObVV0WWpnM1lUazFaR1kyTWpFMkB0aHJl"
    "YWQudjIjMA=="
)
GRAPH_MEETING = "MSoxMTExMTExMS0xMTExLTQxMTEtODExMS0xMTExMTExMTExMTEqMCoqMTk6bWVldGluZ19aVGsx"
BASE = f"users/{ANN.aad}/onlineMeetings/{GRAPH_MEETING}"
VTT = """WEBVTT

0a1b2c3d-1/10
00:00:01.000 --> 00:00:05.200
<v Ann Lee>Let's plan the sprint. Bob, can you own the login bug?</v>

0a1b2c3d-1/11
00:00:05.500 --> 00:00:09.000
<v Bob Stone>Yes, I will fix the login bug by Wednesday.</v>

0a1b2c3d-1/12
00:00:09.500 --> 00:00:14.000
<v Cy Park>We decided to postpone the dark mode release to January.</v>
"""


def _meeting(teams: Harness) -> None:
    teams.fake.meetings[MEETING] = {
        "details": {"msGraphResourceId": GRAPH_MEETING, "title": "Sprint planning"},
        "organizer": {"aadObjectId": ANN.aad, "tenantId": TENANT},
        "conversation": {"id": MEETING_CHAT},
    }
    people = [{"identity": {"user": {"id": p.aad, "displayName": p.name}}} for p in (BOB, CY)]
    teams.fake.graph[BASE] = {
        "id": GRAPH_MEETING,
        "subject": "Sprint planning",
        "participants": {
            "organizer": {"identity": {"user": {"id": ANN.aad, "displayName": ANN.name}}},
            "attendees": people,
        },
    }


def recording_only(teams: Harness, content: bytes) -> None:
    """The meeting has no transcript, and one recording whose bytes are `content`."""
    teams.fake.graph[f"{BASE}/transcripts"] = {"value": []}
    url = f"{teams.fake.graph_url}/{BASE}/recordings/rec-1/content"
    teams.fake.graph[f"{BASE}/recordings"] = {
        "value": [
            {
                "id": "rec-1",
                "createdDateTime": "2026-11-25T15:03:00Z",
                "recordingContentUrl": url,
            }
        ]
    }
    teams.fake.graph[f"{BASE}/recordings/rec-1/content"] = content


def _ended(teams: Harness) -> dict:
    activity = teams.activity("meeting_end.json", conversation=MEETING_CHAT, kind="groupChat")
    activity["value"]["EndTime"] = datetime.now(UTC).isoformat()
    return activity


async def test_the_transcript_is_recapped_into_the_meeting_chat(teams: Harness) -> None:
    _meeting(teams)
    teams.fake.graph[f"{BASE}/transcripts"] = {
        "value": [
            {
                "id": "tr-1",
                "createdDateTime": "2026-11-25T15:02:00Z",
                "meetingStartDateTime": "2026-11-25T14:00:00Z",
            }
        ]
    }
    teams.fake.graph_failures[f"{BASE}/transcripts"] = [404]  # not there yet at first
    teams.fake.graph[f"{BASE}/transcripts/tr-1/content"] = VTT
    ended = _ended(teams)
    for _ in range(2):  # redelivered
        await teams.say(ended)
    assert teams.fake.sent == []  # nothing to say until the transcript is in
    await teams.settle()

    [recap] = teams.replies(MEETING_CHAT)
    assert "Meeting recap: “Sprint planning”" in recap.text
    assert "Fix the login bug — <at>Bob Stone</at> · due Wed" in recap.text
    assert "postpone the dark mode release" in recap.text
    assert "at 0:05" in recap.text  # items cite the transcript position
    assert recap.card["msteams"]["entities"][0]["mentioned"]["id"] == BOB.aad
    [content] = teams.fake.called("GET", f"/graph/v1.0/{BASE}/transcripts/tr-1/content")
    assert content.query["$format"] == "text/vtt"
    assert content.headers["Authorization"] == f"Bearer graph-token-{GRAPH_ID}-{TENANT}"
    assert len(teams.fake.called("GET", f"/graph/v1.0/{BASE}/transcripts")) >= 2  # it polled
    assert teams.core.services.queue.counts() == {"done": 1}
    # Kept dated from the meeting's start: the chat's later recaps include what was said.
    with Session(teams.core.services.repo.engine) as session:
        [stored] = session.exec(select(TranscriptRecord)).all()
    assert stored.recorded_at == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


async def test_a_recording_is_handed_to_transcription(teams: Harness) -> None:
    _meeting(teams)
    recording_only(teams, b"not an mp4 at all" * 100)
    await teams.say(_ended(teams))
    await teams.settle()

    # The core's transcription job downloaded it from Graph with the Graph token...
    [download] = teams.fake.called("GET", f"/graph/v1.0/{BASE}/recordings/rec-1/content")
    assert download.headers["Authorization"].startswith("Bearer graph-token-")
    # ... and reported on it in the meeting chat (this "recording" is not decodable).
    replies = teams.replies(MEETING_CHAT)
    assert any("couldn't transcribe “Sprint planning.mp4”" in r.text for r in replies)
    assert teams.core.services.queue.counts() == {
        "done": 2
    }  # the meeting job and the transcription


@pytest.mark.teams_options(meeting_wait_seconds=0.0)
async def test_a_meeting_without_transcript_or_recording_says_so(teams: Harness) -> None:
    _meeting(teams)
    teams.fake.graph[f"{BASE}/transcripts"] = {"value": []}
    teams.fake.graph[f"{BASE}/recordings"] = {"value": []}
    await teams.say(_ended(teams))
    await teams.settle()
    [reply] = teams.replies(MEETING_CHAT)
    assert "found no transcript or recording" in reply.text


async def test_missing_graph_permissions_are_explained(teams: Harness) -> None:
    _meeting(teams)
    teams.fake.graph_failures[f"{BASE}/transcripts"] = [403]
    await teams.say(_ended(teams))
    await teams.settle()
    [reply] = teams.replies(MEETING_CHAT)
    assert "Microsoft Graph refused (HTTP 403)" in reply.text and reply.text.startswith("⚠️")


@pytest.mark.teams_options(graph_client_id="", graph_client_secret="")
async def test_without_graph_a_meeting_end_does_nothing(teams: Harness) -> None:
    _meeting(teams)
    assert (await teams.send(_ended(teams))).status_code == 200
    await teams.settle()
    assert teams.fake.sent == [] and teams.core.services.queue.counts() == {}
