"""`/metrics`: requests by platform and outcome, jobs by status, queue age, job durations."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.app import create_app
from bot.jobs import JobQueue, Worker


def _value(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


@pytest.mark.anyio
async def test_metrics_report_requests_queue_and_jobs(engine) -> None:
    queue = JobQueue(engine)

    async def ok(job, ctx) -> None:
        return None

    worker = Worker(queue, {"recap": ok}, worker_id="w")
    app = create_app(adapters=[], worker=None, metrics_engine=engine)

    async def scenario() -> tuple[str, str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            before = (await client.get("/metrics")).text
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/nope")).status_code == 404
            queue.enqueue("recap", {}, key="a")
            queue.enqueue("transcribe", {}, key="b")
            await worker.drain()
            return before, (await client.get("/metrics")).text

    before, after = await scenario()
    health = _value(after, "balafon_requests_total", platform="health", outcome="2xx")
    assert health == _value(before, "balafon_requests_total", platform="health", outcome="2xx") + 1
    assert _value(after, "balafon_requests_total", platform="web", outcome="4xx") >= 1
    assert _value(after, "balafon_jobs", kind="recap", status="done") == 1
    assert _value(after, "balafon_jobs", kind="transcribe", status="queued") == 1
    assert _value(after, "balafon_job_queue_oldest_seconds", kind="transcribe") >= 0
    assert "balafon_job_queue_oldest_seconds" in after
    assert _value(after, "balafon_job_duration_seconds_count", kind="recap", result="done") >= 1
