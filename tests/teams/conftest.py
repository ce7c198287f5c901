"""The Teams harness: the real ASGI app with the real botbuilder stack, driven over HTTP
with JWTs signed by a key the test generated, talking to a fake Microsoft cloud on
127.0.0.1 (connector, OpenID/JWKS, HTTPS token endpoint, Graph); jobs run via `settle()`."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters.teams import TeamsAdapter, TeamsOptions
from bot.app import create_app
from bot.inbound import Inbound
from bot.jobs import Worker
from bot.main import build_services
from bot.storage.db import create_db_engine
from bot.storage.models import Job
from summarizer.config import TranscriberConfig
from summarizer.pipeline import Summarizer
from tests.db import migrated_sqlite
from tests.teams.crypto import SigningKey, Tls
from tests.teams.fake_microsoft import CHANNEL_TENANT, FakeMicrosoft, Sent

PAYLOADS = Path(__file__).parent / "payloads"
APP_ID = "9d1f0e6c-2b7a-4c55-8f3e-0a1b2c3d4e5f"
APP_PASSWORD = "s3cret-app-password"
GRAPH_ID = "5e0c7a1b-8d2f-4e6a-9b3c-7f1e2d3c4b5a"
GRAPH_SECRET = "s3cret-graph-password"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BOT = f"28:{APP_ID}"
TEAM = "19:Zt7vYQ9vS6yTeamThread@thread.tacv2"
TEAM_GROUP = "0c7a2a47-6a1e-4d44-b1b5-5c2b8f1e9a10"
CHANNEL = "19:Qd2sDesignChannel0001@thread.tacv2"
GROUP_CHAT = "19:b8e4f1c2a7d94e3f8a6b5c4d3e2f1a0b@thread.v2"
MEETING_CHAT = "19:meeting_ZTk1NmI0ZDItNGJhOC00MGYwLWIzNmUtYjg3YTk1ZGY2MjE2@thread.v2"
PERSONAL = "a:1" + "Xq9vR2kLm5Nc8Pz0Tw3Ys6Ub1Hd4Jf7Gi" * 4  # longer than a channel key


@dataclass(frozen=True)
class Person:
    id: str  # the Teams user id (29:…)
    aad: str  # the Entra object id
    name: str

    def account(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad}


ANN = Person("29:1AnnLeeTeamsId", "11111111-1111-4111-8111-111111111111", "Ann Lee")
BOB = Person("29:1BobStoneTeamsId", "22222222-2222-4222-8222-222222222222", "Bob Stone")
CY = Person("29:1CyParkTeamsId", "33333333-3333-4333-8333-333333333333", "Cy Park")


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return Tls.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate("channel-key-1")


@pytest.fixture(scope="session")
def other_key() -> SigningKey:
    """A key the channel never published (forged tokens, rotation)."""
    return SigningKey.generate("channel-key-2")


@pytest.fixture
async def fake(tls: Tls, signing_key: SigningKey) -> AsyncIterator[FakeMicrosoft]:
    server = FakeMicrosoft(app_id=APP_ID, app_password=APP_PASSWORD, tls=tls, keys=[signing_key])
    server.other_apps[GRAPH_ID] = GRAPH_SECRET
    await server.start()
    server.teams[TEAM] = {"id": TEAM, "name": "Design", "aadGroupId": TEAM_GROUP}
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(migrated_sqlite(tmp_path / "teams.db"))
    yield engine
    engine.dispose()


def make_options(fake: FakeMicrosoft, tls: Tls, **overrides: Any) -> TeamsOptions:
    values: dict[str, Any] = {
        "app_id": APP_ID,
        "app_password": APP_PASSWORD,
        "openid_metadata_url": fake.openid_url,
        "emulator_openid_metadata_url": f"{fake.url}/emulator/.well-known/openid-configuration",
        "login_url": f"{fake.login_url}/{CHANNEL_TENANT}",
        "graph_client_id": GRAPH_ID,
        "graph_client_secret": GRAPH_SECRET,
        "graph_url": fake.graph_url,
        "ca_bundle": str(tls.ca_file),
        "trust_env": False,
        "meeting_poll_seconds": 0.01,
        "meeting_wait_seconds": 3600.0,
        "http_timeout_seconds": 10.0,
        **overrides,
    }
    return TeamsOptions(**values)


def make_core(engine: Engine, tmp_path: Path, *, max_media_bytes: int = 5 * 2**20) -> Inbound:
    def transcriber():
        from summarizer.transcribe import Transcriber

        return Transcriber(config=TranscriberConfig(beam_size=1, cpu_threads=1))

    return Inbound(
        build_services(
            digests=False,
            engine=engine,
            summarizer=Summarizer(),
            transcriber_factory=transcriber,
            max_media_bytes=max_media_bytes,
            work_dir=tmp_path,
        )
    )


def graph_message(
    ident: str,
    person: Person,
    html: str,
    *,
    at: datetime,
    reply_to: str | None = None,
    mentions: tuple[Person, ...] = (),
    mentions_bot: bool = False,
    app: bool = False,
) -> dict[str, Any]:
    """A Graph chatMessage, as /teams/…/messages and /chats/…/messages return them."""
    sender = (
        {"application": {"id": APP_ID, "displayName": "balafon"}, "user": None}
        if app
        else {"user": {"id": person.aad, "displayName": person.name}, "application": None}
    )
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "id": ident,
        "replyToId": reply_to,
        "messageType": "message",
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "deletedDateTime": None,
        "from": sender,
        "body": {"contentType": "html", "content": f"<p>{html}</p>"},
        "mentions": [
            {
                "id": number,
                "mentionText": who.name,
                "mentioned": {"user": {"id": who.aad, "displayName": who.name}},
            }
            for number, who in enumerate(mentions)
        ]
        + (
            [{"id": 9, "mentionText": "balafon", "mentioned": {"application": {"id": APP_ID}}}]
            if mentions_bot
            else []
        ),
        "attachments": [],
    }


def payload(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((PAYLOADS / name).read_text()))


class Harness:
    """Speaks Bot Framework to the app: activities signed like the Teams channel signs them."""

    def __init__(
        self,
        *,
        fake: FakeMicrosoft,
        key: SigningKey,
        adapter: TeamsAdapter,
        core: Inbound,
        worker: Worker,
        app: Any,
    ) -> None:
        self.fake, self.key, self.adapter, self.core, self.worker = fake, key, adapter, core, worker
        self.app = app
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://balafon.test"
        )
        self._ids = itertools.count(1_763_900_000_000)
        self.clock = datetime.now(UTC) - timedelta(hours=2)

    def token(self, **overrides: Any) -> str:
        values = {"audience": APP_ID, "service_url": self.fake.service_url, **overrides}
        return self.key.token(**values)

    async def send(
        self, activity: dict[str, Any], *, token: str | None = None, headers: dict | None = None
    ) -> httpx.Response:
        if headers is None:
            headers = {"Authorization": f"Bearer {token or self.token()}"}
        return await self.http.post("/api/messages", json=activity, headers=headers)

    def next_id(self) -> str:
        return str(next(self._ids))

    def activity(
        self,
        name: str,
        *,
        conversation: str,
        kind: str,
        text: str = "",
        user: Person = ANN,
        mention_bot: bool = False,
        mentions: tuple[Person, ...] = (),
        thread: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        id: str | None = None,
        minutes_ago: float | None = None,
    ) -> dict[str, Any]:
        """An activity from the payload file `name`, addressed to one conversation."""
        activity = payload(name)
        ident = id or self.next_id()
        if minutes_ago is None:
            self.clock += timedelta(seconds=30)
            at = self.clock
        else:
            at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        activity.update(id=ident, serviceUrl=self.fake.service_url, timestamp=at.isoformat())
        activity["from"] = user.account()
        activity["recipient"] = {"id": BOT, "name": "balafon"}
        account = activity.setdefault("conversation", {})
        account.update(conversationType=kind, tenantId=TENANT)
        if kind == "channel":
            root = thread or ident
            account["id"] = f"{conversation};messageid={root}"
            activity.setdefault("channelData", {}).update(
                channel={"id": conversation, "name": "Design reviews"},
                team={"id": TEAM, "name": "Design"},
                tenant={"id": TENANT},
            )
        else:
            account["id"] = conversation
            activity.setdefault("channelData", {}).update(tenant={"id": TENANT})
        entities = [e for e in activity.get("entities", []) if e.get("type") != "mention"]
        prefix = ""
        if mention_bot:
            prefix = "<at>balafon</at> "
            entities.append(
                {
                    "type": "mention",
                    "text": "<at>balafon</at>",
                    "mentioned": {"id": BOT, "name": "balafon"},
                }
            )
        for person in mentions:
            entities.append(
                {
                    "type": "mention",
                    "text": f"<at>{person.name}</at>",
                    "mentioned": {"id": person.id, "name": person.name},
                }
            )
        if "text" in activity or text:
            activity["text"] = prefix + text
        activity["entities"] = entities
        if attachments is not None:
            activity["attachments"] = attachments
        return activity

    def channel_message(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return self.activity(
            "message.json", conversation=CHANNEL, kind="channel", text=text, **kwargs
        )

    def chat_message(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return self.activity(
            "message.json", conversation=GROUP_CHAT, kind="groupChat", text=text, **kwargs
        )

    def personal_message(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return self.activity(
            "message.json", conversation=PERSONAL, kind="personal", text=text, **kwargs
        )

    async def say(self, activity: dict[str, Any]) -> dict[str, Any]:
        response = await self.send(activity)
        assert response.status_code == 200, response.text
        return activity

    async def settle(self, *, within: float = 5.0) -> None:
        """Run every queued job (meeting recaps too: one registry) until none is left; a
        job that went back to the queue for a moment (`NotYet`: a meeting's transcript is
        not there yet) is waited for, up to `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            await self.worker.drain()
            if not self._sleeping() or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.02)

    def _sleeping(self) -> bool:
        """A queued job is due within a second (a snooze, not a retry's backoff)."""
        soon = datetime.now(UTC) + timedelta(seconds=1)
        with Session(self.core.services.repo.engine) as session:
            due = select(Job).where(Job.status == "queued", col(Job.run_after) <= soon)
            return session.exec(due).first() is not None

    def replies(self, conversation: str, thread: str | None = None) -> list[Sent]:
        wanted = f"{conversation};messageid={thread}" if thread else conversation
        return self.fake.in_conversation(wanted)


async def _harness(
    request: pytest.FixtureRequest, fake: FakeMicrosoft, tls: Tls, key: SigningKey, tmp_path: Path
) -> AsyncIterator[Harness]:
    if "engine" in request.fixturenames:
        engine = request.getfixturevalue("engine")
    else:
        engine = request.getfixturevalue("sqlite_engine")
    marker = request.node.get_closest_marker("teams_options")
    overrides = dict(marker.kwargs) if marker else {}
    max_media_bytes = overrides.pop("max_media_bytes", 5 * 2**20)
    core = make_core(engine, tmp_path, max_media_bytes=max_media_bytes)
    adapter = TeamsAdapter(core=core, options=make_options(fake, tls, **overrides))
    core.services.register(adapter)
    worker = core.services.worker(worker_id="test")
    app = create_app(adapters=[adapter], worker=None)
    async with app.router.lifespan_context(app):
        harness = Harness(fake=fake, key=key, adapter=adapter, core=core, worker=worker, app=app)
        try:
            yield harness
        finally:
            await harness.http.aclose()


@pytest.fixture
async def teams(
    request: pytest.FixtureRequest,
    fake: FakeMicrosoft,
    tls: Tls,
    signing_key: SigningKey,
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    """The app on SQLite, or on both databases for tests that ask for `engine`."""
    async for harness in _harness(request, fake, tls, signing_key, tmp_path):
        yield harness


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "teams_options(**kw): TeamsOptions overrides for the teams fixture"
    )
