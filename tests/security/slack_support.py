"""Fixtures shared by the Slack security tests: the real app and bolt against the fake
Slack on 127.0.0.1 (tests/slack's harness), plus a listener that must never be reached."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from adapters.slack import SlackAdapter
from bot.app import create_app
from tests.slack.conftest import Harness, make_core, make_settings
from tests.slack.fake_slack import FakeSlack


class Bystander:
    """A plain HTTP listener on 127.0.0.1 that records every request it gets: a host that
    must never receive the bot token (or anything at all)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _any(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            {"path": request.path_qs, "authorization": request.headers.get("Authorization")}
        )
        return web.Response(body=b"RIFF....WAVEfmt ", content_type="audio/wav")

    async def start(self) -> Bystander:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def bystander() -> AsyncIterator[Bystander]:
    listener = await Bystander().start()
    try:
        yield listener
    finally:
        await listener.stop()


async def start_harness(
    fake: FakeSlack,
    engine: Any,
    tmp_path: Path,
    *,
    lease_seconds: float | None = None,
    **settings: Any,
) -> tuple[Harness, Any]:
    """The app as tests/slack's `slack` fixture builds it; returns it with its lifespan
    context (enter it, and close `harness.http` after)."""
    core = make_core(engine, tmp_path)
    if lease_seconds is not None:
        from datetime import timedelta

        core.services.queue.lease = timedelta(seconds=lease_seconds)
    adapter = SlackAdapter(settings=make_settings(fake, tmp_path, **settings), core=core)
    core.services.register(adapter)
    worker = core.services.worker(worker_id="w1")
    app = create_app(adapters=[adapter], worker=None)
    harness = Harness(fake=fake, adapter=adapter, core=core, worker=worker, app=app)
    return harness, app.router.lifespan_context(app)


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
