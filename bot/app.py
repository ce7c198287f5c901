"""The ASGI application: health endpoints plus the routes every enabled adapter mounts.

The lifespan starts the in-process job worker, so one `balafon serve` process does
everything by default (web, jobs, SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route

from bot.jobs import Worker

log = logging.getLogger(__name__)


class Mountable(Protocol):
    """What an adapter gives the app: its routes and optional start/stop hooks."""

    def routes(self) -> Sequence[BaseRoute]: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


def create_app(
    *,
    adapters: Sequence[Mountable],
    worker: Worker | None,
    readiness: Sequence[Callable[[], Awaitable[None]]] = (),
) -> Starlette:
    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> JSONResponse:
        failures = {}
        for check in readiness:
            try:
                await check()
            except Exception as exc:
                failures[getattr(check, "__name__", "check")] = f"{type(exc).__name__}: {exc}"
        status = 503 if failures else 200
        return JSONResponse({"ready": not failures, "failures": failures}, status_code=status)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for adapter in adapters:
            await adapter.startup()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop)) if worker else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await asyncio.wait_for(task, timeout=60)
            for adapter in adapters:
                await adapter.shutdown()

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz)]
    for adapter in adapters:
        routes.extend(adapter.routes())
    return Starlette(routes=routes, lifespan=lifespan)


def database_check(engine) -> Callable[[], Awaitable[None]]:
    async def database() -> None:
        def ping() -> None:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        await asyncio.to_thread(ping)

    return database
