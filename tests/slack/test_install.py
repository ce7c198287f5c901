"""Installing the app: OAuth into many workspaces (tokens encrypted), Socket Mode, manifest."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from cryptography.fernet import Fernet

from adapters.slack import SlackAdapter, SlackConfigError
from adapters.slack.app import BOT_SCOPES
from adapters.slack.listeners import SHORTCUT_CALLBACK_ID, SLASH_COMMAND
from bot.app import create_app
from bot.cli import run
from bot.crypto import MissingEncryptionKeyError, TokenCipher
from bot.main import Settings
from tests.slack.conftest import ANN, GENERAL, Harness, make_core, make_settings, payload
from tests.slack.fake_slack import APP_TOKEN, BOT_USER, FakeSlack

pytestmark = pytest.mark.anyio

NEW_TEAM, NEW_BOT, NEW_TOKEN = "T0NEWTEAM", "U0NEWBOT", "xoxb-new-team-token"
MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def _oauth_settings(fake: FakeSlack, tmp_path: Path, **overrides):
    return make_settings(
        fake,
        tmp_path,
        slack_bot_token=None,
        slack_client_id="1111.2222",
        slack_client_secret="client-secret",
        **overrides,
    )


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")  # slack_sdk
async def test_oauth_install_keeps_tokens_encrypted_and_uses_them(
    fake: FakeSlack, sqlite_engine, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    core = make_core(sqlite_engine, tmp_path)
    settings = _oauth_settings(fake, tmp_path, encryption_key=key)
    adapter = SlackAdapter(settings=settings, core=core, encryption_key=key)
    core.services.register(adapter)
    app = create_app(adapters=[adapter], worker=None)
    fake.oauth_codes["code-1"] = {
        "access_token": NEW_TOKEN,
        "token_type": "bot",
        "scope": ",".join(BOT_SCOPES),
        "bot_user_id": NEW_BOT,
        "app_id": "A0BALAFON",
        "team": {"id": NEW_TEAM, "name": "New Team"},
        "enterprise": None,
        "authed_user": {"id": "U0ADMIN"},
        "is_enterprise_install": False,
    }
    fake.channels["C0NEWGEN"] = {"members": [NEW_BOT, ANN], "messages": []}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://balafon.test"
        ) as http,
    ):
        page = await http.get("/slack/install")
        assert page.status_code == 200
        link = re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page.text)
        query = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)
        assert query["client_id"] == ["1111.2222"]
        assert set(query["scope"][0].split(",")) == set(BOT_SCOPES)
        state = query["state"][0]

        done = await http.get("/slack/oauth_redirect", params={"code": "code-1", "state": state})
        assert done.status_code == 200, done.text
        replay = await http.get("/slack/oauth_redirect", params={"code": "code-1", "state": state})
        assert replay.status_code != 200  # a state is good once

        row = core.services.repo.get_workspace("slack", NEW_TEAM)
        assert row.bot_token and NEW_TOKEN not in row.bot_token  # never in clear text
        assert TokenCipher(key).decrypt(row.bot_token) == NEW_TOKEN
        assert (row.bot_user_id, row.installed_by, row.name) == (NEW_BOT, "U0ADMIN", "New Team")

        # An event from the new workspace is answered with that workspace's token.
        worker = core.services.worker(worker_id="test")
        harness = Harness(fake=fake, adapter=adapter, core=core, worker=worker, app=app)
        mention = fake.add_message("C0NEWGEN", ANN, f"<@{NEW_BOT}> help")
        envelope = payload("app_mention.json")
        envelope.update(team_id=NEW_TEAM, event_id="EvNEW1")
        envelope["authorizations"][0].update(team_id=NEW_TEAM, user_id=NEW_BOT)
        envelope["event"] = {**mention, "type": "app_mention", "channel": "C0NEWGEN"}
        assert (await harness.send(envelope)).status_code == 200
        await harness.settle()
        [answer] = fake.called("chat.postMessage")
        assert answer.token == NEW_TOKEN and answer.args["channel"] == "C0NEWGEN"

        # Uninstalling forgets the token; later events are not answered.
        uninstalled = {**envelope, "event_id": "EvNEW2", "event": {"type": "app_uninstalled"}}
        assert (await harness.send(uninstalled)).status_code == 200
        await harness.settle()
        row = core.services.repo.get_workspace("slack", NEW_TEAM)
        assert row.bot_token is None and row.uninstalled_at is not None
        again = {**envelope, "event_id": "EvNEW3"}
        await harness.send(again)
        await harness.settle()
        assert len(fake.called("chat.postMessage")) == 1
        await harness.http.aclose()


async def test_oauth_without_an_encryption_key_is_refused(
    fake: FakeSlack, sqlite_engine, tmp_path: Path
) -> None:
    core = make_core(sqlite_engine, tmp_path)
    with pytest.raises(MissingEncryptionKeyError, match="ENCRYPTION_KEY is not set"):
        SlackAdapter(settings=_oauth_settings(fake, tmp_path), core=core)


async def test_missing_slack_settings_say_what_to_set(
    fake: FakeSlack, sqlite_engine, tmp_path: Path
) -> None:
    core = make_core(sqlite_engine, tmp_path)
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN"):
        SlackAdapter(settings=make_settings(fake, tmp_path, slack_bot_token=None), core=core)
    with pytest.raises(SlackConfigError, match="SLACK_APP_TOKEN"):
        SlackAdapter(settings=make_settings(fake, tmp_path), core=core, socket_mode=True)


async def test_socket_mode_receives_events_and_acks_them(
    fake: FakeSlack, sqlite_engine, tmp_path: Path
) -> None:
    settings = make_settings(fake, tmp_path, slack_signing_secret=None, slack_app_token=APP_TOKEN)
    core = make_core(sqlite_engine, tmp_path)
    adapter = SlackAdapter(settings=settings, core=core, socket_mode=True)
    core.services.register(adapter)
    app = create_app(adapters=[adapter], worker=None)
    async with app.router.lifespan_context(app):
        worker = core.services.worker(worker_id="test")
        harness = Harness(fake=fake, adapter=adapter, core=core, worker=worker, app=app)
        mention = fake.add_message(GENERAL, ANN, f"<@{BOT_USER}> help")
        envelope = payload("app_mention.json")
        envelope["event"] = {**mention, "type": "app_mention", "channel": GENERAL}
        for attempt in (0, 1):  # Slack redelivers when an ack is late: still one answer
            await fake.push(
                {
                    "envelope_id": f"env-{attempt}",
                    "type": "events_api",
                    "accepts_response_payload": False,
                    "retry_attempt": attempt,
                    "retry_reason": "timeout" if attempt else "",
                    "payload": envelope,
                }
            )
        for _ in range(100):
            if len(fake.socket_acks) == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(a["envelope_id"] for a in fake.socket_acks) == ["env-0", "env-1"]
        await harness.settle()
        [answer] = fake.posts(GENERAL)
        assert "Here's what I can do" in answer["text"]
        # No HTTP events endpoint secret was configured: HTTP requests are refused.
        refused = await harness.post(json.dumps(envelope).encode(), content_type="application/json")
        assert refused.status_code == 401
        await harness.http.aclose()


def test_serve_with_unusable_slack_settings_exits_2(tmp_path: Path, capsys) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'serve.db'}",
        data_dir=str(tmp_path),
        slack_signing_secret="secret",
    )
    assert run(["serve", "--port", "0"], settings=settings) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err


def test_manifest_matches_the_app() -> None:
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert manifest["oauth_config"]["scopes"]["bot"] == sorted(BOT_SCOPES)
    settings = manifest["settings"]
    events = settings["event_subscriptions"]["bot_events"]
    assert {
        "app_mention",
        "message.channels",
        "message.groups",
        "message.im",
        "file_shared",
    } <= set(events)
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == SLASH_COMMAND and command["should_escape"] is True
    [shortcut] = manifest["features"]["shortcuts"]
    assert (shortcut["callback_id"], shortcut["type"]) == (SHORTCUT_CALLBACK_ID, "message")
    assert manifest["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
