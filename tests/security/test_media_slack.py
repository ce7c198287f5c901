"""Issue #11, item 5 on Slack: a playlist shared in a channel (Slack calls an .m3u
"audio/x-mpegurl", so it looks like audio) gets "not a recording we can read" in its thread;
the server-local file it points at is never opened and no transcript is posted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.media_support import OpenWatch, hls_playlist, mentions_secret, secret_recording
from tests.slack import conftest as harness
from tests.slack.conftest import ANN, GENERAL, Harness, payload

# The Slack harness's fixtures, for a test outside tests/slack.
fake, slack, sqlite_engine = (
    harness.fake,
    harness.slack,
    harness.sqlite_engine,
)

pytestmark = pytest.mark.anyio


async def test_a_shared_playlist_is_refused_in_its_thread(slack: Harness, tmp_path: Path) -> None:
    secret = secret_recording(tmp_path / "server")
    body = hls_playlist(tmp_path / "standup.m3u", f"file:{secret}").read_bytes()
    file = slack.fake.add_file("standup.m3u", body, "audio/x-mpegurl")
    message = slack.fake.add_message(GENERAL, ANN, "", subtype="file_share", files=[file])
    envelope = payload("message_file_share.json")
    envelope["event"].update(message, channel=GENERAL, event_ts=message["ts"])
    envelope["event_id"] = f"Ev{file['id']}"

    with OpenWatch(secret) as watch:
        assert (await slack.send(envelope)).status_code == 200
        await slack.settle()
        assert not watch.opened(), "the playlist made FFmpeg open a server file"

    assert slack.fake.called("files.download")  # it was fetched, then refused on its format
    [_progress] = slack.thread_replies(GENERAL, message["ts"])  # no transcript, no recap
    final = [c.args["text"] for c in slack.fake.called("chat.update")][-1]
    assert final.startswith(":warning: I couldn't transcribe “standup.m3u”")
    assert "not a recording we can read" in final
    assert not slack.fake.called("files.completeUploadExternal")
    everything = json.dumps([c.args for c in slack.fake.calls], ensure_ascii=False)
    assert not mentions_secret(everything + "".join(map(repr, slack.fake.uploads.values())))
    assert slack.core.services.queue.counts() == {"done": 1}
