"""Recordings on Teams: uploaded files (pre-authorised SharePoint links, never sent our
token) and inline audio (connector URLs, fetched with the bot's token), then transcription
with progress updates, the transcript and a recap; bad files get a clear answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.speech import synthesize
from tests.teams.conftest import APP_ID, CHANNEL, PERSONAL, Harness
from tests.teams.fake_microsoft import FakeMicrosoft

pytestmark = pytest.mark.anyio

FILE_INFO = "application/vnd.microsoft.teams.file.download.info"


def uploaded(fake: FakeMicrosoft, name: str, data: bytes, kind: str, unique: str) -> dict:
    """A file someone uploaded: Teams gives the bot a pre-authorised download link."""
    url = fake.add_file(f"/sharepoint/personal/ann/{name}", data, kind)
    return {
        "contentType": FILE_INFO,
        "contentUrl": f"https://contoso.sharepoint.com/personal/ann/Documents/{name}",
        "name": name,
        "content": {"downloadUrl": url, "uniqueId": unique, "fileType": name.rsplit(".", 1)[-1]},
    }


def inline(fake: FakeMicrosoft, name: str, data: bytes, kind: str) -> dict:
    """Inline media in a chat: a connector URL that needs the bot's token."""
    url = fake.add_file(f"/connector/v3/attachments/0-{name}/views/original", data, kind)
    return {"contentType": kind, "contentUrl": url, "name": name}


@pytest.mark.slow
async def test_a_recording_sent_to_the_bot_is_transcribed_and_recapped(
    teams: Harness, tmp_path: Path
) -> None:
    audio = synthesize(
        "I will send the budget report by Friday. We decided to move the release to next week.",
        tmp_path / "standup.m4a",
        "m4a",
    )
    file = uploaded(teams.fake, "standup.m4a", audio.read_bytes(), "audio/mp4", "1d2e3f40-aaaa")
    await teams.say(teams.personal_message("", attachments=[file]))
    await teams.settle()

    ack, progress, transcript, recap = teams.replies(PERSONAL)
    assert "transcribing 1 file" in ack.text
    assert (
        "Downloading “standup.m4a”"
        in progress.activity["attachments"][0]["content"]["body"][0]["text"]
    )
    updates = [u["attachments"][0]["content"]["body"][0]["text"] for u in progress.updates]
    assert any("Transcribing “standup.m4a”" in u for u in updates)
    assert progress.text.startswith("Transcribed “standup.m4a” (0:0")
    assert "▰▰▰▰▰▰▰▰▰▰ 100%" in progress.text
    assert (
        transcript.text.startswith("Transcript (0:0") and "budget report" in transcript.text.lower()
    )
    assert "Action items" in recap.text and "budget report" in recap.text.lower()
    assert "Decisions" in recap.text and "release" in recap.text.lower()
    # The SharePoint link is pre-authorised: it never saw the bot's token.
    [download] = teams.fake.called("GET", "/sharepoint/")
    assert "Authorization" not in download.headers
    assert teams.core.services.queue.counts() == {"done": 1}


async def test_inline_audio_is_fetched_with_the_bot_token_and_corrupt_media_is_reported(
    teams: Harness,
) -> None:
    file = inline(teams.fake, "voice.ogg", b"OggS but not really" * 200, "audio/ogg")
    await teams.say(teams.personal_message("transcribe", attachments=[file]))
    await teams.settle()

    [download] = teams.fake.called("GET", "/connector/v3/attachments/")
    assert download.headers["Authorization"] == f"Bearer bot-token-for-{APP_ID}"
    _, progress = teams.replies(PERSONAL)
    assert progress.text.startswith("⚠️ I couldn't transcribe “voice.ogg”")
    assert progress.card["body"][0]["color"] == "Attention"
    assert teams.core.services.queue.counts() == {"done": 1}  # a clear answer, not a retry loop


@pytest.mark.teams_options(max_media_bytes=2**20)
async def test_oversized_media_is_refused_without_downloading_it_all(teams: Harness) -> None:
    big = b"\0" * (3 * 2**20)
    file = uploaded(teams.fake, "all-hands.mp4", big, "video/mp4", "77aa-big")
    await teams.say(teams.channel_message("transcribe", mention_bot=True, attachments=[file]))
    await teams.settle()
    [progress] = [s for s in teams.fake.sent if s.updates]
    assert "“all-hands.mp4”: it is larger than the 1 MB limit." in progress.text


async def test_a_file_that_is_not_audio_or_video_gets_a_clear_answer(teams: Harness) -> None:
    file = uploaded(teams.fake, "minutes.pdf", b"%PDF-1.7", "application/pdf", "99-pdf")
    await teams.say(teams.chat_message("transcribe", mention_bot=True, attachments=[file]))
    await teams.say(teams.personal_message("transcribe"))
    not_media, no_file = teams.fake.sent
    assert "“minutes.pdf” isn't an audio or video file" in not_media.text
    assert "I didn't find an audio or video file" in no_file.text
    assert teams.fake.called("GET", "/sharepoint/") == []


async def test_recordings_overheard_in_a_channel_are_transcribed_once(teams: Harness) -> None:
    file = inline(teams.fake, "clip.webm", b"not a webm" * 50, "video/webm")
    shared = teams.channel_message("here is the clip", attachments=[file])
    for _ in range(2):  # redelivered
        await teams.say(shared)
    # The same file arriving again in another message (a reply quoting it) is not new.
    await teams.say(teams.channel_message("see above", attachments=[file], thread=shared["id"]))
    await teams.settle()
    assert teams.core.services.queue.counts() == {"done": 1}
    assert len(teams.fake.called("GET", "/connector/v3/attachments/")) == 1
    [progress] = teams.replies(CHANNEL, shared["id"])
    assert "couldn't transcribe “clip.webm”" in progress.text
