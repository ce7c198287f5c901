"""Prometheus metrics: what an operator needs to know the bot is healthy.

Counters and histograms live in prometheus_client's default registry (one per process);
the job queue's depth and age are read from the database when `/metrics` is scraped, so
every web process reports the same, shared queue.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import sentences
from bot.storage.models import utcnow
from bot.storage.status import StatusQueries

REQUESTS = Counter(
    "balafon_requests_total", "HTTP requests by platform and outcome", ["platform", "outcome"]
)
JOB_SECONDS = Histogram(
    "balafon_job_duration_seconds",
    "Time a job ran, by kind and result",
    ["kind", "result"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
TRANSCRIPTION_RTF = Histogram(
    "balafon_transcription_real_time_factor",
    "Transcription time divided by audio duration",
    buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2),
)
LLM_TOKENS = Counter("balafon_llm_tokens_total", "LLM tokens used", ["direction"])
LLM_FALLBACKS = Counter(
    "balafon_llm_fallbacks_total", "Recaps the offline engine made because the LLM failed"
)
DIGESTS = Counter("balafon_digests_total", "Digest runs by result (posted, quiet)", ["result"])

# The core's paths; each adapter declares its own (AdapterSpec.metrics_prefixes).
CORE_PREFIXES = (
    ("/v1", "api"),
    ("/healthz", "health"),
    ("/readyz", "health"),
    ("/metrics", "metrics"),
    ("/webhooks/github", "github"),  # tracker webhooks (bot/trackers/webhooks.py)
    ("/webhooks/jira", "jira"),
    ("/webhooks/linear", "linear"),
)


def platform_of(path: str, prefixes: Sequence[tuple[str, str]] = CORE_PREFIXES) -> str:
    for prefix, name in prefixes:
        if path.startswith(prefix):
            return name
    return "web"


class RequestMetrics:
    """ASGI middleware counting requests by platform and status class."""

    def __init__(self, app: ASGIApp, prefixes: Sequence[tuple[str, str]] = ()) -> None:
        """`prefixes`: (path prefix, platform) of the adapters, before the core's."""
        self.app = app
        self.prefixes = (*prefixes, *CORE_PREFIXES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            outcome = f"{status['code'] // 100}xx"
            REQUESTS.labels(platform_of(scope.get("path", ""), self.prefixes), outcome).inc()


def observe_job(kind: str, result: str, started: float) -> None:
    JOB_SECONDS.labels(kind, result).observe(time.perf_counter() - started)


def observe_recap(recap: Any) -> None:
    """Token counts and fallbacks of a recap the summarizer made."""
    if recap.input_tokens:
        LLM_TOKENS.labels("input").inc(recap.input_tokens)
    if recap.output_tokens:
        LLM_TOKENS.labels("output").inc(recap.output_tokens)
    if recap.fallback_reason:
        LLM_FALLBACKS.inc()


def _queue_registry(engine: Engine) -> CollectorRegistry:
    registry = CollectorRegistry()
    depth = Gauge("balafon_jobs", "Jobs by kind and status", ["kind", "status"], registry=registry)
    age = Gauge(
        "balafon_job_queue_oldest_seconds",
        "Age of the oldest queued job, by kind",
        ["kind"],
        registry=registry,
    )
    queries = StatusQueries(engine)
    for kind, status, count in queries.job_counts():
        depth.labels(kind, status).set(count)
    now = utcnow()
    for kind, oldest in queries.oldest_queued().items():
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        age.labels(kind).set((now - oldest).total_seconds())
    return registry


def bearer_matches(header: str, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time as bytes (a header
    arrives decoded as latin-1, so any bytes compare without error)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("latin-1"), token.encode("utf-8")
    )


def metrics_endpoint(engine: Engine, token: str | None = None) -> Callable[[Request], Any]:
    """`/metrics`: open (for a private network) unless `token` is set (METRICS_TOKEN)."""
    import asyncio

    async def metrics(request: Request) -> Response:
        if token and not bearer_matches(request.headers.get("authorization", ""), token):
            return PlainTextResponse(
                sentences.METRICS_TOKEN_NEEDED,
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="balafon metrics"'},
            )
        queue = await asyncio.to_thread(_queue_registry, engine)
        body = generate_latest() + generate_latest(queue)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
