"""Log lines carry the request or job they belong to; JSON logs for collectors."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from bot.app import create_app
from bot.jobs import JobQueue, Worker
from bot.logs import ContextFilter, JsonFormatter


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(ContextFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.mark.anyio
async def test_request_and_job_ids_reach_the_logs(engine) -> None:
    capture = Capture()
    logger = logging.getLogger("balafon.test")
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    queue = JobQueue(engine)

    async def handler(job, ctx) -> None:
        logger.info("working")

    async def page(request):
        from starlette.responses import PlainTextResponse

        logger.info("serving")
        return PlainTextResponse("ok")

    from starlette.routing import Route

    class Extra:
        def routes(self):
            return [Route("/hello", page)]

        async def startup(self) -> None: ...

        async def shutdown(self) -> None: ...

    app = create_app(adapters=[Extra()], worker=None)
    worker = Worker(queue, {"k": handler}, worker_id="w")

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            given = await client.get("/hello", headers={"X-Request-ID": "abc-123"})
            made = await client.get("/hello", headers={"X-Request-ID": "bad id!"})
        job, _ = queue.enqueue("k", {}, key="j")
        await worker.run_once()
        return given, made, job

    try:
        given, made, job = await scenario()
    finally:
        logger.removeHandler(capture)
    assert given.headers["x-request-id"] == "abc-123"
    assert made.headers["x-request-id"] != "bad id!" and len(made.headers["x-request-id"]) == 16
    serving = [line for line in capture.lines if line["message"] == "serving"]
    assert [line["request_id"] for line in serving] == ["abc-123", made.headers["x-request-id"]]
    [working] = [line for line in capture.lines if line["message"] == "working"]
    assert working["job_id"] == str(job.id) and "request_id" not in working
