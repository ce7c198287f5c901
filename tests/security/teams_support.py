"""Shared pieces of the Teams security tests: the real app against the fake Microsoft cloud
(tests/teams), built with per-test options, and a loopback listener standing in for an
internal service that must never be reached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.teams import TeamsAdapter
from bot.app import create_app
from bot.storage.db import create_db_engine
from tests.db import migrated_sqlite
from tests.teams.conftest import Harness, make_core, make_options
from tests.teams.crypto import SigningKey, Tls
from tests.teams.fake_microsoft import FakeMicrosoft

SECRET = b"internal-secret-metadata"


class Internal:
    """An HTTP service on 127.0.0.1 that records every request (it answers a secret)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _any(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, "headers": dict(request.headers)})
        return web.Response(body=SECRET, content_type="audio/mpeg")

    async def start(self) -> Internal:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._any)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@asynccontextmanager
async def teams_app(
    fake: FakeMicrosoft, tls: Tls, key: SigningKey, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Harness]:
    """What tests/teams' `teams` fixture builds, with options decided at run time."""
    engine = create_db_engine(migrated_sqlite(tmp_path / "teams-security.db"))
    core = make_core(engine, tmp_path)
    adapter = TeamsAdapter(core=core, options=make_options(fake, tls, **overrides))
    core.services.register(adapter)
    worker = core.services.worker(worker_id="test")
    app = create_app(adapters=[adapter], worker=None)
    try:
        async with app.router.lifespan_context(app):
            harness = Harness(
                fake=fake, key=key, adapter=adapter, core=core, worker=worker, app=app
            )
            try:
                yield harness
            finally:
                await harness.http.aclose()
    finally:
        engine.dispose()
