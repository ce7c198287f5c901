"""`balafon serve`'s composition: the playground on a loopback address only (unless
PLAYGROUND_ENABLED says otherwise) and the API everywhere, both behind the access token
(and the API behind API_TOKEN too, when set).

Runs once bot/main.py mounts them (`build_runtime(..., host=...)`); until then it skips.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import httpx
import pytest

from bot.main import Settings, build_runtime
from tests.db import migrated_sqlite

if "host" not in inspect.signature(build_runtime).parameters:
    pytest.skip("bot.main does not mount the playground yet", allow_module_level=True)


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        _env_file=None,
        database_url=migrated_sqlite(tmp_path / "serve.db"),
        data_dir=str(tmp_path / "data"),
        **values,
    )


def _client(app: object, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


@pytest.mark.anyio
async def test_serve_mounts_the_playground_on_loopback_and_the_api_everywhere(
    tmp_path: Path,
) -> None:
    local = build_runtime(_settings(tmp_path), host="127.0.0.1")
    public = build_runtime(_settings(tmp_path), host="0.0.0.0")
    opened = build_runtime(_settings(tmp_path, playground_enabled=True), host="0.0.0.0")
    guarded = build_runtime(_settings(tmp_path, api_token="s3cret"), host="0.0.0.0")
    assert [r.playground for r in (local, public, opened, guarded)] == [True, False, True, False]
    assert "playground" in local.core.services.platforms
    # A new access token per start; ACCESS_TOKEN, when set, is shared.
    assert len({r.access_token for r in (local, public, opened, guarded)}) == 4
    shared = build_runtime(_settings(tmp_path, access_token="shared-token"), host="127.0.0.1")
    assert shared.access_token == "shared-token"
    conversation = {"messages": [{"author": "Ann", "text": "I'll send the deck."}]}

    async with _client(local.app, "127.0.0.1") as browser:
        assert (await browser.get("/")).status_code == 401  # this machine, but no token
        opened_url = await browser.get(f"/?token={local.access_token}")
        assert opened_url.status_code == 303 and opened_url.headers["location"] == "/"
        assert (await browser.get("/")).headers["location"] == "/playground/"  # the cookie
        assert (await browser.get("/v1/openapi.json")).status_code == 200
    async with _client(public.app, "203.0.113.5") as outsider:
        assert (await outsider.get("/")).status_code == 404
        refused = await outsider.post("/v1/recaps", json={"messages": []})
        assert refused.status_code == 401
        allowed = await outsider.post(
            "/v1/recaps",
            json=conversation,
            headers={"Authorization": f"Bearer {public.access_token}"},
        )
        assert allowed.status_code == 200
    async with _client(opened.app, "203.0.113.5") as outsider:
        assert (await outsider.get("/playground/")).status_code == 401
        await outsider.get(f"/playground/?token={opened.access_token}")
        assert (await outsider.get("/playground/")).status_code == 200
    async with _client(guarded.app, "203.0.113.5") as outsider:
        assert (await outsider.post("/v1/recaps", json={})).status_code == 401
        for token in ("s3cret", guarded.access_token):
            allowed = await outsider.post(
                "/v1/recaps", json=conversation, headers={"Authorization": f"Bearer {token}"}
            )
            assert allowed.status_code == 200


@pytest.mark.anyio
async def test_live_streams_do_not_hold_jobs_back() -> None:
    """Jobs wait for the requests in flight (Ingress); an open event stream is not one."""
    from bot.app import Ingress

    ingress = Ingress()
    seen: list[int] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        seen.append(ingress.active)

    counted = ingress.middleware(app)
    for accept in (b"text/event-stream", b"application/json"):
        scope = {"type": "http", "path": "/", "headers": [(b"accept", accept)]}
        await counted(scope, None, None)
    assert seen == [0, 1]
