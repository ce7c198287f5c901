"""The Slack harness: the real ASGI app with the real bolt app, driven over HTTP with
signed requests, talking to a fake Slack Web API on 127.0.0.1; jobs run via `drain()`."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from sqlalchemy.engine import Engine

from adapters.slack import SlackAdapter
from bot.app import create_app
from bot.inbound import Inbound
from bot.jobs import Worker
from bot.main import Settings, build_services
from bot.storage.db import create_db_engine
from summarizer.config import TranscriberConfig
from summarizer.pipeline import Summarizer
from tests.db import migrated_sqlite
from tests.slack.fake_slack import BOT_TOKEN, BOT_USER, TEAM, FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PAYLOADS = Path(__file__).parent / "payloads"
GENERAL, OTHER = "C0GENERAL", "C0OTHER"
ANN, BOB, CY = "U0ANN", "U0BOB", "U0CY"


def payload(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((PAYLOADS / name).read_text()))


def sign(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(migrated_sqlite(tmp_path / "slack.db"))
    yield engine
    engine.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    slack.add_user(ANN, "Ann")
    slack.add_user(BOB, "Bob")
    slack.add_user(CY, "Cy")
    slack.add_channel(GENERAL, ANN, BOB, CY)
    slack.add_channel(OTHER, BOB)
    try:
        yield slack
    finally:
        await slack.stop()


class Harness:
    """Speaks Slack to the app: events, slash commands and shortcuts, all signed."""

    def __init__(
        self, *, fake: FakeSlack, adapter: SlackAdapter, core: Inbound, worker: Worker, app: Any
    ) -> None:
        self.fake, self.adapter, self.core, self.worker, self.app = fake, adapter, core, worker, app
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://balafon.test"
        )
        self._events = itertools.count(1)

    async def post(
        self, body: bytes, *, content_type: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        sent = {"Content-Type": content_type, **(sign(body) if headers is None else headers)}
        return await self.http.post("/slack/events", content=body, headers=sent)

    async def send(
        self, envelope: dict[str, Any], *, retry: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        body = json.dumps(envelope).encode()
        headers = kwargs.pop("headers", None)
        if headers is None and retry is not None:
            headers = {
                **sign(body),
                "X-Slack-Retry-Num": str(retry),
                "X-Slack-Retry-Reason": "http_timeout",
            }
        return await self.post(body, content_type="application/json", headers=headers)

    def envelope(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        envelope = payload(name)
        envelope["event"] = event
        envelope["event_id"] = f"Ev{next(self._events):08d}"
        envelope["event_time"] = int(time.time())
        return envelope

    async def say(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Someone posts a message: it lands in Slack's history and the app gets the event."""
        message = self.fake.add_message(channel, user, text, thread_ts=thread_ts, **extra)
        event = {**message, "channel": channel, "event_ts": message["ts"]}
        event["channel_type"] = "channel"
        response = await self.send(self.envelope("message.json", event))
        assert response.status_code == 200, response.text
        return message

    async def share_file(
        self, file: dict[str, Any], text: str = "", *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """Ann uploads `file` into #general (in a thread with `thread_ts`): Slack sends a
        `file_share` message event, keyed by the file."""
        message = self.fake.add_message(
            GENERAL, ANN, text, subtype="file_share", files=[file], thread_ts=thread_ts
        )
        share = {"ts": message["ts"], "channel_name": "general"}
        if thread_ts:
            share["thread_ts"] = thread_ts
        file["shares"] = {"public": {GENERAL: [share]}}
        envelope = payload("message_file_share.json")
        envelope["event"].update(message, channel=GENERAL, event_ts=message["ts"])
        envelope["event_id"] = f"Ev{file['id']}"
        assert (await self.send(envelope)).status_code == 200
        return message

    async def mention(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None, **extra: Any
    ) -> tuple[dict[str, Any], httpx.Response]:
        """`@balafon <text>`: Slack sends both the message and the app_mention event."""
        message = await self.say(
            channel, user, f"<@{BOT_USER}> {text}", thread_ts=thread_ts, **extra
        )
        event = {**message, "type": "app_mention", "channel": channel, "event_ts": message["ts"]}
        event.pop("channel_type", None)
        envelope = self.envelope("app_mention.json", event)
        response = await self.send(envelope)
        self.last_envelope = envelope
        return message, response

    def slash_body(self, text: str, *, channel: str = GENERAL, user: str = ANN) -> bytes:
        form = dict(parse_qsl(PAYLOADS.joinpath("slash_command.txt").read_text().strip()))
        form.update(
            text=text,
            channel_id=channel,
            user_id=user,
            response_url=self.fake.response_url(),
            trigger_id=f"{next(self._events)}.1234567890.abcdef",
        )
        return urlencode(form).encode()

    async def slash(self, text: str, **kwargs: Any) -> httpx.Response:
        body = self.slash_body(text, **kwargs)
        return await self.post(body, content_type="application/x-www-form-urlencoded")

    async def shortcut(self, message_ts: str, *, user: str = BOB) -> httpx.Response:
        action = payload("message_shortcut.json")
        root = self.fake.message(GENERAL, message_ts)
        action["message"] = root
        action["message_ts"] = message_ts
        action["user"]["id"] = user
        action["trigger_id"] = f"{next(self._events)}.9876543210.fedcba"
        body = urlencode({"payload": json.dumps(action)}).encode()
        return await self.post(body, content_type="application/x-www-form-urlencoded")

    async def settle(self) -> None:
        """Run everything the requests started: background work, then jobs, until idle."""
        while True:
            await self.adapter.settle()
            ran = await self.worker.drain()
            await self.adapter.settle()
            if ran == 0 and not len(self.adapter.background):
                return

    def thread_replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return [p for p in self.fake.posts(channel) if p.get("thread_ts") == thread_ts]


def make_settings(fake: FakeSlack, tmp_path: Path, **overrides: Any) -> Settings:
    values = {
        "slack_signing_secret": SECRET,
        "slack_bot_token": BOT_TOKEN,
        "slack_api_url": fake.api_url,
        "data_dir": str(tmp_path),
        "max_media_mb": 5,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def make_core(engine: Engine, tmp_path: Path, *, max_media_bytes: int = 5 * 2**20) -> Inbound:
    def transcriber():
        from summarizer.transcribe import Transcriber

        # beam 1 and one thread: quick on a 2-core machine, and these clips are short.
        return Transcriber(config=TranscriberConfig(beam_size=1, cpu_threads=1))

    core = Inbound(
        build_services(
            engine=engine,
            summarizer=Summarizer(),
            transcriber_factory=transcriber,
            max_media_bytes=max_media_bytes,
            work_dir=tmp_path,
        )
    )
    return core


@pytest.fixture
async def slack(
    request: pytest.FixtureRequest, fake: FakeSlack, tmp_path: Path
) -> AsyncIterator[Harness]:
    """The app on SQLite, or on both databases for tests that ask for `engine`."""
    if "engine" in request.fixturenames:
        engine = request.getfixturevalue("engine")
    else:
        engine = request.getfixturevalue("sqlite_engine")
    marker = request.node.get_closest_marker("settings")
    overrides = dict(marker.kwargs) if marker else {}
    core = make_core(engine, tmp_path, max_media_bytes=overrides.pop("max_media_bytes", 5 * 2**20))
    adapter = SlackAdapter(settings=make_settings(fake, tmp_path, **overrides), core=core)
    core.services.register(adapter)
    worker = core.services.worker(worker_id="test")
    app = create_app(adapters=[adapter], worker=None)
    async with app.router.lifespan_context(app):
        harness = Harness(fake=fake, adapter=adapter, core=core, worker=worker, app=app)
        try:
            yield harness
        finally:
            await harness.http.aclose()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**kw): Settings overrides for the slack fixture")


__all__ = ["ANN", "BOB", "CY", "GENERAL", "OTHER", "TEAM", "Harness", "payload", "sign"]


def post_text(post: dict[str, Any]) -> str:
    """Everything a posted message shows: its blocks (as JSON) and its fallback text."""
    return json.dumps(post.get("blocks", []), ensure_ascii=False) + post.get("text", "")
