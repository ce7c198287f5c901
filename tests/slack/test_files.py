"""Recordings shared in Slack: download with the bot token, transcribe, reply in the thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.ports import Place, ReplyTarget, TranscriptReply
from summarizer.types import Segment, Transcript
from tests.slack.conftest import ANN, GENERAL, Harness, payload, post_text
from tests.slack.fake_slack import BOT_TOKEN
from tests.speech import synthesize

pytestmark = pytest.mark.anyio


async def _file_shared_event(slack: Harness, file: dict[str, Any]) -> None:
    envelope = payload("file_shared.json")
    envelope["event"].update(file_id=file["id"], file={"id": file["id"]})
    envelope["event_id"] = f"EvShared{file['id']}"
    assert (await slack.send(envelope)).status_code == 200


def _updates(slack: Harness, ts: str) -> list[str]:
    return [c.args["text"] for c in slack.fake.called("chat.update") if c.args["ts"] == ts]


@pytest.mark.slow
async def test_shared_recording_is_transcribed_and_recapped_in_its_thread(
    slack: Harness, tmp_path: Path
) -> None:
    audio = synthesize(
        "I will send the budget report by Friday. We decided to move the release to next week.",
        tmp_path / "standup.m4a",
        "m4a",
    )
    file = slack.fake.add_file("standup.m4a", audio.read_bytes(), "audio/mp4")
    message = await slack.share_file(file, "Recording of today's standup")
    await _file_shared_event(slack, file)  # the same upload, reported twice by Slack
    await slack.settle()

    [download] = slack.fake.called("files.download")
    assert download.token == BOT_TOKEN and download.args["file"] == file["id"]
    progress, transcript, recap = slack.thread_replies(GENERAL, message["ts"])
    assert "Downloading “standup.m4a”" in progress["text"]
    progress_ts = next(slack.fake.bot_messages(GENERAL))["ts"]
    updates = _updates(slack, progress_ts)
    assert any("Transcribing “standup.m4a”" in u for u in updates)
    assert updates[-1].startswith("Transcribed “standup.m4a” (0:0")
    assert "budget report" in post_text(transcript).lower()
    assert transcript["text"].startswith("Transcript (0:0")
    recap_text = post_text(recap)
    assert "Action items" in recap_text and "budget report" in recap_text.lower()
    assert "Decisions" in recap_text and "release" in recap_text.lower()
    assert slack.core.services.queue.counts() == {"done": 1}


async def test_long_transcripts_are_uploaded_as_a_file(slack: Harness) -> None:
    sentence = "We went through every open incident and agreed on owners for each one. "
    transcript = Transcript(
        segments=[Segment(start=i * 5.0, end=i * 5.0 + 4.5, text=sentence) for i in range(60)],
        duration=300.0,
    )
    place = Place(platform="slack", workspace="T0BALAFON", channel=GENERAL, thread="1.000100")
    file_id = await slack.adapter.post(
        ReplyTarget(place=place), TranscriptReply(transcript=transcript, filename="call.txt")
    )
    assert file_id.startswith("file:F")
    [complete] = slack.fake.called("files.completeUploadExternal")
    assert complete.args["thread_ts"] == "1.000100" and complete.args["channel_id"] == GENERAL
    uploaded = slack.fake.uploads[file_id.removeprefix("file:")].decode()
    assert uploaded.count("\n") == 60 and uploaded.startswith("[0:00] We went through")
    assert not slack.fake.posts()


async def test_corrupt_audio_gets_a_clear_reply(slack: Harness) -> None:
    file = slack.fake.add_file("call.mp3", b"ID3" + b"\x00garbage" * 500, "audio/mpeg")
    message = await slack.share_file(file)
    await slack.settle()
    [progress] = slack.thread_replies(GENERAL, message["ts"])
    [bot_message] = slack.fake.bot_messages(GENERAL)
    final = _updates(slack, bot_message["ts"])[-1]
    assert final.startswith(":warning: I couldn't transcribe “call.mp3”")
    assert "Downloading" in progress["text"]
    assert slack.core.services.queue.counts() == {"done": 1}


@pytest.mark.settings(max_media_bytes=4000)
async def test_oversized_file_is_refused_without_downloading(slack: Harness) -> None:
    file = slack.fake.add_file("all-hands.mp4", b"\x00" * 9000, "video/mp4")
    message = await slack.share_file(file)
    await slack.settle()
    [reply] = slack.thread_replies(GENERAL, message["ts"])
    assert "“all-hands.mp4” is 0.0 MB; the limit is 0 MB" in reply["text"]
    assert not slack.fake.called("files.download")


@pytest.mark.settings(max_media_bytes=4000)
async def test_download_stops_at_the_limit_when_slack_understates_the_size(
    slack: Harness,
) -> None:
    file = slack.fake.add_file("memo.ogg", b"OggS" + b"\x01" * 50_000, "audio/ogg", size=100)
    message = await slack.share_file(file)
    await slack.settle()
    [bot_message] = slack.fake.bot_messages(GENERAL)
    assert "larger than the 0 MB limit" in _updates(slack, bot_message["ts"])[-1]
    assert message["ts"] == bot_message["thread_ts"]


async def test_a_file_slack_will_not_hand_over_is_explained(slack: Harness) -> None:
    file = slack.fake.add_file("memo.webm", b"\x1aE\xdf\xa3", "audio/webm")
    file["url_private_download"] = file["url_private_download"].replace(file["id"], "F0GONE")
    await slack.share_file(file)
    await slack.settle()
    [bot_message] = slack.fake.bot_messages(GENERAL)
    assert "files:read" in _updates(slack, bot_message["ts"])[-1]


async def test_the_token_never_leaves_slack_hosts(slack: Harness) -> None:
    file = slack.fake.add_file("memo.wav", b"RIFF", "audio/wav")
    file["url_private_download"] = "https://files.example.net/steal/memo.wav"
    file["url_private"] = file["url_private_download"]
    await slack.share_file(file)
    await slack.settle()
    [bot_message] = slack.fake.bot_messages(GENERAL)
    assert "didn't give me a download link" in _updates(slack, bot_message["ts"])[-1]


async def test_auto_transcription_can_be_turned_off_per_channel(slack: Harness) -> None:
    await slack.mention(GENERAL, ANN, "auto-transcribe off")
    await slack.settle()
    file = slack.fake.add_file("standup.m4a", b"\x00" * 100, "audio/mp4")
    await slack.share_file(file)
    await _file_shared_event(slack, file)
    await slack.settle()
    assert slack.core.services.queue.counts() == {}
    assert len(slack.fake.posts()) == 1  # only the answer to the setting


async def test_file_shared_alone_starts_one_transcription(slack: Harness) -> None:
    file = slack.fake.add_file("voice.ogg", b"not really audio", "audio/ogg")
    message = slack.fake.add_message(GENERAL, ANN, "", subtype="file_share", files=[file])
    file["shares"] = {"public": {GENERAL: [{"ts": message["ts"]}]}}
    await _file_shared_event(slack, file)
    await _file_shared_event(slack, file)  # a retry
    await slack.settle()
    assert slack.fake.called("files.info")
    [progress] = slack.thread_replies(GENERAL, message["ts"])
    assert "voice.ogg" in progress["text"]
    assert slack.core.services.queue.counts() == {"done": 1}


async def test_transcribe_in_a_thread_finds_the_recording_on_its_first_message(
    slack: Harness,
) -> None:
    await slack.mention(GENERAL, ANN, "auto-transcribe off")
    file = slack.fake.add_file("call.m4a", b"\x00\x00\x00\x18ftypM4A ", "audio/mp4")
    message = await slack.share_file(file)
    await slack.mention(GENERAL, ANN, "transcribe", thread_ts=message["ts"])
    await slack.settle()
    assert slack.core.services.queue.counts() == {"done": 1}
    replies = slack.thread_replies(GENERAL, message["ts"])
    assert any("call.m4a" in r["text"] for r in replies)


async def test_transcribe_on_a_document_says_it_is_not_media(slack: Harness) -> None:
    file = slack.fake.add_file("notes.pdf", b"%PDF-1.7", "application/pdf")
    message, _ = await slack.mention(GENERAL, ANN, "transcribe", files=[file], subtype="file_share")
    await slack.settle()
    [reply] = slack.thread_replies(GENERAL, message["ts"])
    assert "isn't an audio or video file" in reply["text"]
    assert slack.core.services.queue.counts() == {}
