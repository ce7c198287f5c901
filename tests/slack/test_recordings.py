"""A recording shared in a Slack channel is part of that channel's history: `/recap 24h`
lists what was said in it, dated from the file's upload, cited at its time in the file;
deleting the message takes it out again."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.storage.models import TranscriptRecord
from summarizer.dates import find_due
from tests.slack.conftest import BOB, GENERAL, Harness, payload, post_text
from tests.speech import synthesize

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# (espeak-ng's "store screenshots by" is heard as "source screenshot site" by tiny.en)
SAID = "I will update the screenshots for the store by Wednesday."


@pytest.fixture(scope="module")
def screenshots_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return synthesize(SAID, tmp_path_factory.mktemp("speech") / "sync.m4a", "m4a").read_bytes()


def _records(slack: Harness) -> list[TranscriptRecord]:
    from sqlmodel import Session, select

    with Session(slack.core.services.repo.engine) as session:
        return list(session.exec(select(TranscriptRecord)).all())


async def test_a_shared_recording_is_in_the_channel_recap_until_its_message_is_deleted(
    slack: Harness, screenshots_clip: bytes
) -> None:
    uploaded = int(time.time()) - 3 * 3600  # three hours ago, inside `/recap 24h`
    file = slack.fake.add_file("sync.m4a", screenshots_clip, "audio/mp4", created=uploaded)
    message = await slack.share_file(file, "Notes from the design sync")
    await slack.settle()

    [record] = _records(slack)
    assert record.source_message_id == message["ts"] and record.thread_id is None
    assert record.recorded_at is not None
    # The upload time is the recording's end: it started one clip length before.
    started = datetime.fromtimestamp(uploaded, UTC) - timedelta(seconds=record.duration_seconds)
    assert abs((record.recorded_at - started).total_seconds()) < 1

    posted = len(slack.fake.posts(GENERAL))
    await slack.slash("24h")
    await slack.settle()
    recap = slack.fake.posts(GENERAL)[posted]
    text = post_text(recap)
    assert "Recap of <#C0GENERAL> (24h)" in text
    assert "screenshots for the store" in text.lower()
    due, _ = find_due(SAID, record.recorded_at)
    assert due is not None and f"due {due:%a %d %b %Y}" in text, text
    # Cited at its time in the recording, linked to the message that shared it.
    permalink = (
        f"https://balafon-test.slack.com/archives/{GENERAL}/p{message['ts'].replace('.', '')}"
    )
    assert f"<{permalink}|t=0:0" in text
    # The transcript and recap the bot posted are not summarized again: one item, not three.
    assert text.count("• Update the screenshots for the store") == 1

    deleted = payload("message_deleted.json")
    deleted["event"].update(deleted_ts=message["ts"], previous_message={**message}, channel=GENERAL)
    deleted["event_id"] = "EvDeletedRecording"
    slack.fake.delete_message(GENERAL, message["ts"])
    assert (await slack.send(deleted)).status_code == 200
    assert _records(slack) == []

    posted = len(slack.fake.posts(GENERAL))
    await slack.slash("24h")
    await slack.settle()
    after = [post_text(p) for p in slack.fake.posts(GENERAL)[posted:]]
    assert after and "screenshots for the store" not in " ".join(after).lower()


async def test_deleting_the_file_or_editing_it_off_its_message_removes_its_transcript(
    slack: Harness, screenshots_clip: bytes
) -> None:
    now = int(time.time())
    deleted = slack.fake.add_file("sync.m4a", screenshots_clip, "audio/mp4", created=now)
    await slack.share_file(deleted, "")
    edited = slack.fake.add_file("call.m4a", screenshots_clip, "audio/mp4", created=now)
    message = await slack.share_file(edited, "Two recordings today")
    await slack.settle()
    assert sorted(r.file_id for r in _records(slack)) == sorted([deleted["id"], edited["id"]])

    envelope = slack.envelope("message.json", {"type": "file_deleted", "file_id": deleted["id"]})
    assert (await slack.send(envelope)).status_code == 200
    assert [r.file_id for r in _records(slack)] == [edited["id"]]

    changed = payload("message_changed.json")
    after = {k: v for k, v in message.items() if k != "files"}
    changed["event"].update(message=after, previous_message=message, channel=GENERAL)
    changed["event_id"] = "EvEditedOff"
    assert (await slack.send(changed)).status_code == 200
    await slack.settle()
    assert _records(slack) == []


async def test_the_shortcut_on_a_thread_recaps_the_recording_shared_in_it(
    slack: Harness, screenshots_clip: bytes
) -> None:
    root = await slack.say(GENERAL, BOB, "How did the design sync go?", minutes_ago=30)
    file = slack.fake.add_file("sync.m4a", screenshots_clip, "audio/mp4", created=int(time.time()))
    await slack.share_file(file, "Here is the recording", thread_ts=root["ts"])
    await slack.settle()
    [record] = _records(slack)
    assert record.thread_id == root["ts"]

    posted = len(slack.thread_replies(GENERAL, root["ts"]))
    await slack.shortcut(root["ts"], user=BOB)
    await slack.settle()
    recap = post_text(slack.thread_replies(GENERAL, root["ts"])[posted])
    assert "Thread recap" in recap and "screenshots for the store" in recap.lower()
    assert "|t=0:0" in recap
    # One item: the bot's transcript and recap in the thread are not summarized again.
    assert recap.count("• Update the screenshots for the store") == 1
