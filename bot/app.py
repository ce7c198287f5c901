"""The ASGI application: health endpoints plus the routes every enabled adapter mounts.

The lifespan starts the in-process job worker, so one `balafon serve` process does
everything by default (web, jobs, SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.access import CrossSiteGuard
from bot.admin import admin_routes
from bot.body_limit import BodyLimit, collect_limits
from bot.jobs import Worker
from bot.logs import RequestIds
from bot.metrics import RequestMetrics, metrics_endpoint
from bot.storage.db import ping
from summarizer.config import TranscriberConfig

log = logging.getLogger(__name__)
T = TypeVar("T")


class Ingress:
    """Requests being answered right now, so work that can wait steps aside for them.

    Chat platforms want their acknowledgement fast (Slack: 3 s, and it retries after). Jobs
    and follow-up posts call `settled()` before starting: it returns at once when no request
    is in flight, else when they are all answered, or after `max_wait` at the latest, so a
    steady stream of requests delays the work but never starves it.
    """

    def __init__(self, *, max_wait: float = 2.0) -> None:
        self.max_wait = max_wait
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count one request (or event) as in flight while the block runs."""
        self.active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.active -= 1
            if self.active == 0:
                self._idle.set()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or _event_stream(scope):
                await app(scope, receive, send)
                return
            with self.answering():
                await app(scope, receive, send)

        return counted

    async def settled(self, max_wait: float | None = None) -> None:
        if self.active == 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self._idle.wait(), self.max_wait if max_wait is None else max_wait
            )

    def deferring(self, handler: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        """`handler`, starting only once the requests in flight are answered."""

        async def deferred(*args: Any, **kwargs: Any) -> T:
            await self.settled()
            return await handler(*args, **kwargs)

        return deferred


def _event_stream(scope: Scope) -> bool:
    """A long-lived response (server-sent events: the playground's live updates) is not a
    request waiting for its answer; counting it would hold every job back."""
    return any(
        name == b"accept" and b"text/event-stream" in value
        for name, value in scope.get("headers", ())
    )


class Mountable(Protocol):
    """What an adapter gives the app: its routes and optional start/stop hooks. A part may
    also say how large its request bodies may be (`body_limits()`, see bot/body_limit.py);
    paths it does not name take small bodies."""

    def routes(self) -> Sequence[BaseRoute]: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


def create_app(
    *,
    adapters: Sequence[Mountable],
    worker: Worker | None,
    readiness: Sequence[Callable[[], Awaitable[None]]] = (),
    ingress: Ingress | None = None,
    metrics_engine: Engine | None = None,
    admin_token: str | None = None,
    metrics_token: str | None = None,
    webhook_paths: Collection[str] = (),
    metrics_prefixes: Sequence[tuple[str, str]] = (),
) -> Starlette:
    """The app; with `metrics_engine`, `/metrics` (Prometheus) reports requests, jobs and
    the queue read from that database (behind `Authorization: Bearer <metrics_token>` when
    given). Every state-changing request from another web site is refused
    (CrossSiteGuard), except on `webhook_paths` (signed, server to server)."""

    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> JSONResponse:
        # Anyone may call it: the body names the failing checks, the log says why.
        failures = {}
        for check in readiness:
            name = getattr(check, "__name__", "check")
            try:
                await check()
            except Exception:
                log.warning("readiness check %s failed", name, exc_info=True)
                failures[name] = "failed"
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
        except asyncio.CancelledError:
            # A forced exit (Ctrl+C twice): the server skipped this shutdown and cancels
            # everything; running jobs hand themselves back. A traceback would add nothing.
            log.warning("forced exit: shutdown cut short")
        finally:
            stop.set()  # the worker finishes or hands back its running jobs
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=60)
            for adapter in adapters:
                with contextlib.suppress(asyncio.CancelledError):
                    await adapter.shutdown()

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz)]
    for adapter in adapters:
        routes.extend(adapter.routes())
    # Request ids first (for the logs); cross-site requests are refused before any body is
    # read, and bodies are bounded before anything buffers them.
    middleware = [
        Middleware(RequestIds),
        Middleware(CrossSiteGuard, exempt=webhook_paths),
        Middleware(BodyLimit, limits=collect_limits(adapters)),
    ]
    if ingress:
        middleware.append(Middleware(_IngressMiddleware, ingress=ingress))
    if metrics_engine is not None:
        routes.append(Route("/metrics", metrics_endpoint(metrics_engine, metrics_token)))
        routes.extend(admin_routes(metrics_engine, admin_token))
        middleware.insert(1, Middleware(RequestMetrics, prefixes=metrics_prefixes))
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


class _IngressMiddleware:
    def __init__(self, app: ASGIApp, *, ingress: Ingress) -> None:
        self._app = ingress.middleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def model_check(config: TranscriberConfig) -> Callable[[], Awaitable[None]]:
    """The speech-to-text model is on disk (and its GPU present), without loading it."""

    async def model() -> None:
        from summarizer.transcribe import check_model

        await asyncio.to_thread(check_model, config)

    return model


def database_check(engine: Engine) -> Callable[[], Awaitable[None]]:
    async def database() -> None:
        await asyncio.to_thread(ping, engine)

    return database
