"""Issue #11, item 5 on Teams: a playlist sent to the bot gets "not a recording we can read";
the server-local file it points at is never opened and no transcript is posted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.media_support import OpenWatch, hls_playlist, mentions_secret, secret_recording
from tests.teams import conftest as harness
from tests.teams.conftest import PERSONAL, Harness
from tests.teams.fake_microsoft import FakeMicrosoft

pytestmark = pytest.mark.anyio

# The Teams harness's fixtures, for a test outside tests/teams.
fake, signing_key, sqlite_engine, teams, tls = (
    harness.fake,
    harness.signing_key,
    harness.sqlite_engine,
    harness.teams,
    harness.tls,
)


def uploaded(microsoft: FakeMicrosoft, name: str, data: bytes, kind: str, unique: str) -> dict:
    """A file someone uploaded (as in tests/teams/test_files.py): a pre-authorised link."""
    url = microsoft.add_file(f"/sharepoint/personal/ann/{name}", data, kind)
    return {
        "contentType": "application/vnd.microsoft.teams.file.download.info",
        "contentUrl": f"https://contoso.sharepoint.com/personal/ann/Documents/{name}",
        "name": name,
        "content": {"downloadUrl": url, "uniqueId": unique, "fileType": name.rsplit(".", 1)[-1]},
    }


async def test_a_playlist_sent_to_the_bot_is_refused(teams: Harness, tmp_path: Path) -> None:
    secret = secret_recording(tmp_path / "server")
    body = hls_playlist(tmp_path / "standup.m3u", f"file:{secret}").read_bytes()
    file = uploaded(teams.fake, "standup.m3u", body, "audio/x-mpegurl", "5a5a-m3u")

    with OpenWatch(secret) as watch:
        await teams.say(teams.personal_message("transcribe", attachments=[file]))
        await teams.settle()
        assert not watch.opened(), "the playlist made FFmpeg open a server file"

    assert teams.fake.called("GET", "/sharepoint/")  # fetched, then refused on its format
    _ack, progress = teams.replies(PERSONAL)  # no transcript, no recap
    assert progress.text.startswith("⚠️ I couldn't transcribe “standup.m3u”")
    assert "not a recording we can read" in progress.text
    sent = json.dumps([s.activity | {"updates": s.updates} for s in teams.fake.sent])
    assert not mentions_secret(sent)
    assert teams.core.services.queue.counts() == {"done": 1}
