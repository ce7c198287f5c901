"""Issue #11, item 4: loopback trust. The app `balafon serve` builds (bot.main.build_runtime)
is reached as a reverse proxy on the same machine reaches it (peer 127.0.0.1, with or
without X-Forwarded-For): without the access token nothing is shown, posted, stored or
queued; the token URL sets a strict cookie; and a page on another site cannot make a
browser that holds the cookie upload to `/v1/transcriptions` (CSRF)."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from adapters.playground.store import PlaygroundStore
from bot.access import COOKIE, CrossSiteGuard, cookie_value
from bot.main import Runtime, Settings, build_runtime
from bot.storage.models import Job
from tests.db import migrated_sqlite

ACCESS = "a-shared-access-token-for-this-test"
API = "another-token-for-other-tools"
CONVERSATION = {"messages": [{"author": "Ann", "text": "I will send the deck by Friday."}]}


def _silent_wav() -> bytes:  # a real recording: the API probes uploads at once
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(b"\0\0" * 8000)
    return out.getvalue()


RECORDING = {"file": ("call.wav", _silent_wav(), "audio/wav")}
# As nginx's `proxy_pass http://127.0.0.1:8000;` relays a visitor from the internet.
PROXIED = {"X-Forwarded-For": "198.51.100.23", "X-Real-IP": "198.51.100.23"}


async def _started(tmp_path: Path, **settings: Any) -> Runtime:
    runtime = build_runtime(
        Settings(
            _env_file=None,
            database_url=migrated_sqlite(tmp_path / "access.db"),
            data_dir=str(tmp_path / "data"),
            access_token=ACCESS,
            serve_runs_worker=False,
            serve_runs_scheduler=False,
            **settings,
        ),
        host="127.0.0.1",
    )
    assert runtime.playground  # the default: serve on loopback shows the playground
    for adapter in runtime.adapters:
        await adapter.startup()  # seeds people and channels
    return runtime


@pytest.fixture
async def runtime(tmp_path: Path) -> Any:
    """A fresh install (no API_TOKEN), as the README's quick start runs it."""
    runtime = await _started(tmp_path)
    yield runtime
    for adapter in runtime.adapters:
        await adapter.shutdown()


def _client(runtime: Runtime, **kwargs: Any) -> httpx.AsyncClient:
    """Requests whose peer is 127.0.0.1: this machine, or a reverse proxy on it."""
    transport = httpx.ASGITransport(app=runtime.app, client=("127.0.0.1", 41000))
    kwargs.setdefault("base_url", "http://127.0.0.1:8000")
    return httpx.AsyncClient(transport=transport, **kwargs)


def _jobs(runtime: Runtime) -> list[Job]:
    with Session(runtime.core.services.repo.engine) as session:
        return list(session.exec(select(Job)).all())


def _files(runtime: Runtime) -> list[Path]:
    data = Path(runtime.settings.data_dir)
    return [
        p for folder in ("api", "playground") for p in (data / folder).rglob("*") if p.is_file()
    ]


def _posted(runtime: Runtime) -> list[str]:
    store = PlaygroundStore(runtime.core.services.repo.engine)
    return [row.text for row in store.channel_messages("general", "ann") if row.kind != "bot"]


@pytest.mark.anyio
@pytest.mark.parametrize("relayed", [False, True], ids=["plain", "reverse-proxy"])
async def test_a_request_from_loopback_needs_the_token(runtime: Runtime, relayed: bool) -> None:
    headers = PROXIED if relayed else {}
    async with _client(runtime, headers=headers) as visitor:
        page = await visitor.get("/playground/")
        home = await visitor.get("/", follow_redirects=True)
        state = await visitor.get("/playground/api/state")
        said = await visitor.post(
            "/playground/api/messages",
            json={"channel": "general", "user": "ann", "text": "posted as Ann by a stranger"},
            headers={"X-Playground": "1"},
        )
        shared = await visitor.post(
            "/playground/api/uploads",
            data={"channel": "general", "user": "ann"},
            files=RECORDING,
            headers={"X-Playground": "1"},
        )
        recap = await visitor.post("/v1/recaps", json=CONVERSATION)
        upload = await visitor.post("/v1/transcriptions", files=RECORDING)
        job = await visitor.get("/v1/jobs/" + "0" * 32)

    for locked in (page, home):
        assert locked.status_code == 401
        assert "balafon serve" in locked.text and "Ann" not in locked.text  # no data
        assert COOKIE not in locked.headers.get("set-cookie", "")
    for refused in (state, said, shared, recap, upload, job):
        assert refused.status_code == 401, refused.text
        assert set(refused.json()) == {"error", "message"}
        assert refused.json()["error"] == "unauthorized"
    assert _posted(runtime) == [] and _jobs(runtime) == [] and _files(runtime) == []


@pytest.mark.anyio
async def test_the_token_url_sets_a_strict_cookie_and_leaves_the_address(
    runtime: Runtime,
) -> None:
    async with _client(runtime) as browser:
        wrong = await browser.get("/?token=not-the-token")
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        opened = await browser.get(f"/?token={ACCESS}")
        deep = await browser.get(f"/playground/?channel=design&token={ACCESS}")
        page = await browser.get("/playground/")  # the cookie, from now on
        said = await browser.post(
            "/playground/api/messages",
            json={"channel": "general", "user": "ann", "text": "hello from the page"},
            headers={"X-Playground": "1", "Origin": "http://127.0.0.1:8000"},
        )
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    assert deep.headers["location"] == "/playground/?channel=design"  # the token is dropped
    cookie = opened.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE}={cookie_value(ACCESS)};")
    assert ACCESS not in cookie  # the cookie is not the token itself
    assert {"httponly", "path", "max-age"} <= attributes and "secure" not in attributes
    assert "samesite=strict" in cookie.lower() and "path=/;" in cookie.lower() + ";"
    assert page.status_code == 200 and "Ann" in page.text
    assert said.status_code == 201 and _posted(runtime) == ["hello from the page"]

    async with _client(runtime, base_url="https://bot.example") as secure_browser:
        over_tls = await secure_browser.get(f"/?token={ACCESS}")
    assert "secure" in over_tls.headers["set-cookie"].lower()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "browser_headers",
    [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},  # a browser without Fetch Metadata
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:3000", "Sec-Fetch-Site": "same-site"},  # another port
        {"Origin": "null"},  # a sandboxed frame or a file: page
    ],
    ids=["cross-site", "origin-only", "fetch-site-only", "same-site", "null-origin"],
)
async def test_another_site_cannot_use_the_cookie(
    runtime: Runtime, browser_headers: dict[str, str]
) -> None:
    """The form a hostile page auto-submits: multipart, no custom header, the cookie on."""
    cookies = {COOKIE: cookie_value(ACCESS)}
    async with _client(runtime, cookies=cookies, headers=browser_headers) as victim:
        upload = await victim.post("/v1/transcriptions", files=RECORDING, data={"recap": "true"})
        bearer = await victim.post(  # even a request carrying a good token
            "/v1/recaps", json=CONVERSATION, headers={"Authorization": f"Bearer {ACCESS}"}
        )
        shared = await victim.post(
            "/playground/api/uploads",
            data={"channel": "general", "user": "ann"},
            files=RECORDING,
            headers={"X-Playground": "1"},
        )
        said = await victim.post(
            "/playground/api/messages",
            json={"channel": "general", "user": "ann", "text": "forged"},
            headers={"X-Playground": "1"},
        )
        edited = await victim.patch("/playground/api/messages/1", json={"user": "x", "text": "y"})
        deleted = await victim.delete("/playground/api/messages/1?user=x")
        admin = await victim.post("/admin")
    for refused in (upload, bearer, shared, said, edited, deleted, admin):
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
    assert _jobs(runtime) == [] and _files(runtime) == [] and _posted(runtime) == []


@pytest.mark.anyio
async def test_bearer_tokens_open_the_api_from_anywhere(tmp_path: Path) -> None:
    runtime = await _started(tmp_path, api_token=API)
    transport = httpx.ASGITransport(app=runtime.app, client=("203.0.113.40", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.example") as tool:
        answers = {
            token: await tool.post(
                "/v1/recaps", json=CONVERSATION, headers={"Authorization": f"Bearer {token}"}
            )
            for token in (API, ACCESS, "wrong", cookie_value(ACCESS))
        }
        proxied = await tool.post(  # a same-origin request behind a proxy is fine
            "/v1/transcriptions",
            files=RECORDING,
            headers={
                "Authorization": f"Bearer {API}",
                "Origin": "https://bot.example",
                "Sec-Fetch-Site": "same-origin",
            },
        )
    assert answers[API].status_code == answers[ACCESS].status_code == 200
    assert answers["wrong"].status_code == answers[cookie_value(ACCESS)].status_code == 401
    assert answers["wrong"].json()["error"] == "unauthorized"
    assert proxied.status_code == 202 and len(_jobs(runtime)) == 1


@pytest.mark.anyio
async def test_signed_webhooks_are_not_judged_as_browser_requests() -> None:
    seen: list[str] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guarded = CrossSiteGuard(app, exempt={"/slack/events", "/api/messages"})
    transport = httpx.ASGITransport(app=guarded)
    headers = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        statuses = [
            (await client.post(path, headers=headers)).status_code
            for path in ("/slack/events", "/api/messages", "/v1/recaps")
        ]
    assert statuses == [200, 200, 403] and seen == ["/slack/events", "/api/messages"]
