"""Issue #11 item 17 (Slack part): single-workspace mode ignores other workspaces' events,
and the bot token only ever goes over https to the configured API host or Slack's file
hosts. A second listener on 127.0.0.1 (`bystander`) stands for any other host: it must get
no request and no Authorization header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlmodel import Session, select

from adapters.slack import SlackAdapter, SlackConfigError
from adapters.slack.hosts import TokenHosts
from bot.storage.models import Job, StoredMessage
from tests.security.slack_support import Bystander, bystander, start_harness
from tests.slack.conftest import (
    ANN,
    BOB,
    GENERAL,
    Harness,
    fake,
    make_core,
    make_settings,
    sqlite_engine,
)
from tests.slack.fake_slack import BOT_USER, FakeSlack

__all__ = ["bystander", "fake", "sqlite_engine"]
pytestmark = pytest.mark.anyio
OTHER_TEAM = "T0ELSEWHERE"


@pytest.fixture
async def slack(fake, sqlite_engine, tmp_path: Path) -> AsyncIterator[Harness]:
    harness, lifespan = await start_harness(fake, sqlite_engine, tmp_path)
    async with lifespan:
        try:
            yield harness
        finally:
            await harness.http.aclose()


def _foreign(envelope: dict) -> dict:
    envelope["team_id"] = envelope["context_team_id"] = OTHER_TEAM
    envelope["event"]["team"] = OTHER_TEAM
    for authorization in envelope.get("authorizations") or []:
        authorization["team_id"] = OTHER_TEAM
    return envelope


def _nothing_done(slack: Harness, engine) -> None:
    assert not slack.fake.posts() and not slack.fake.called("chat.postEphemeral")
    assert [c.method for c in slack.fake.calls] == ["auth.test"]  # the start-up one only
    with Session(engine) as session:
        assert not session.exec(select(Job)).all()
        assert not session.exec(select(StoredMessage)).all()


async def test_events_of_another_workspace_are_ignored(slack: Harness, sqlite_engine) -> None:
    root = slack.fake.add_message(GENERAL, ANN, "Our roadmap is secret.", minutes_ago=5)
    for name, extra in (("message.json", {"channel_type": "channel"}), ("app_mention.json", {})):
        kind = {"app_mention.json": "app_mention"}.get(name, "message")
        text = f"<@{BOT_USER}> recap" if kind == "app_mention" else "hello from elsewhere"
        event = {
            "type": kind,
            "user": BOB,
            "text": text,
            "ts": slack.fake.next_ts(),
            "thread_ts": root["ts"],
            "channel": GENERAL,
            **extra,
        }
        response = await slack.send(_foreign(slack.envelope(name, event)))
        assert response.status_code == 200 and response.text == ""
    # A slash command from the other workspace: acknowledged, no answer, no job.
    form = dict(parse_qsl(slack.slash_body("recap 7d").decode()))
    form["team_id"] = OTHER_TEAM
    body = urlencode(form).encode()
    response = await slack.post(body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.text == ""
    await slack.settle()
    _nothing_done(slack, sqlite_engine)
    assert not slack.fake.responses


async def test_our_workspace_is_still_served(slack: Harness) -> None:
    """The same mention from our own workspace gets its acknowledgement (control)."""
    root = await slack.say(GENERAL, ANN, "We decided to ship on Friday.")
    _, response = await slack.mention(GENERAL, ANN, "recap", thread_ts=root["ts"])
    assert response.status_code == 200
    await slack.settle()
    assert len(slack.thread_replies(GENERAL, root["ts"])) == 1


@pytest.mark.parametrize(
    "url",
    ["http://slack.example.com/api/", "http://10.0.0.5:8080/api/", "ftp://slack.com/api/", "slack"],
)
def test_a_plain_http_api_url_is_refused_at_start(url: str, tmp_path: Path, sqlite_engine) -> None:
    core = make_core(sqlite_engine, tmp_path)
    settings = make_settings(FakeSlack(), tmp_path, slack_api_url=url)
    with pytest.raises(SlackConfigError, match="https"):
        SlackAdapter(settings=settings, core=core)


def test_loopback_http_is_allowed_for_local_fakes(tmp_path: Path, sqlite_engine) -> None:
    core = make_core(sqlite_engine, tmp_path)
    for url in ("http://127.0.0.1:9/api/", "http://localhost:9/api/", "http://[::1]:9/api/"):
        SlackAdapter(settings=make_settings(FakeSlack(), tmp_path, slack_api_url=url), core=core)


def test_which_urls_get_the_token() -> None:
    hosts = TokenHosts("https://slack.com/api/")
    assert hosts.may_receive_token("https://files.slack.com/files-pri/T1-F1/download/a.m4a")
    assert hosts.may_receive_token("https://slack.com/api/files.info")
    for url in (
        "http://files.slack.com/files-pri/T1-F1/a.m4a",  # not encrypted
        "https://files.slack.com:8443/files-pri/T1-F1/a.m4a",
        "https://files.slack.com.evil.example/a.m4a",
        "https://evil.example/files.slack.com/a.m4a",
        "https://files.slack.com@evil.example/a.m4a",
        "https://user:pw@files.slack.com/a.m4a",
        "https://attacker.slack-edge.com/a.m4a",
        "https://hooks.slack.com/commands/T1/2/x",  # a Slack host, but no file host
        "https://127.0.0.1/api/",
    ):
        assert not hosts.may_receive_token(url), url
    loopback = TokenHosts("http://127.0.0.1:8000/api/")
    assert loopback.may_receive_token("http://127.0.0.1:8000/files/F1/a.wav")
    assert not loopback.may_receive_token("http://127.0.0.1:8001/files/F1/a.wav")
    assert not loopback.may_receive_token("https://127.0.0.1:8000/files/F1/a.wav")


async def _share(slack: Harness, file: dict) -> None:
    message = slack.fake.add_message(GENERAL, ANN, "", subtype="file_share", files=[file])
    file["shares"] = {"public": {GENERAL: [{"ts": message["ts"]}]}}
    event = {**message, "channel": GENERAL, "event_ts": message["ts"], "channel_type": "channel"}
    envelope = slack.envelope("message.json", event)
    assert (await slack.send(envelope)).status_code == 200


def _last_update(slack: Harness) -> str:
    return [c.args["text"] for c in slack.fake.called("chat.update")][-1]


async def test_a_file_url_on_another_host_gets_no_token(
    slack: Harness, bystander: Bystander
) -> None:
    # Same address as the fake Slack, another port: another origin, another service.
    file = slack.fake.add_file("memo.wav", b"RIFF", "audio/wav")
    file["url_private_download"] = file["url_private"] = f"{bystander.url}/steal/memo.wav"
    await _share(slack, file)
    await slack.settle()
    assert bystander.requests == []
    assert "didn't give me a download link" in _last_update(slack)
    assert not slack.fake.called("files.download")


async def test_a_download_redirected_off_slack_is_not_followed(
    slack: Harness, bystander: Bystander
) -> None:
    file = slack.fake.add_file("memo.wav", b"RIFF", "audio/wav")
    file["redirect_to"] = f"{bystander.url}/elsewhere/memo.wav"
    await _share(slack, file)
    await slack.settle()
    [download] = slack.fake.called("files.download")  # Slack's own host got the token
    assert download.args["file"] == file["id"]
    assert bystander.requests == []  # the redirect was refused, not followed
    assert "didn't give me a download link" in _last_update(slack)
