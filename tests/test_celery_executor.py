"""The Celery executor on the live Redis and PostgreSQL, with real `balafon worker`
processes: queues keep transcription apart, and a worker killed (SIGKILL) mid-transcription
leaves the job to another, which posts the transcript exactly once; messages lost with the
broker are sent again from the database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlmodel import Session, select

from bot.main import Runtime, Settings, build_runtime
from bot.storage.models import Job
from tests.speech import synthesize

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
WRITE = {"X-Playground": "1"}
# About 80 seconds of speech with no sentence said twice (a phrase repeated three times in
# a row is a loop that the transcript guard cuts, summarizer/robust.py).
SPEECH = " ".join(
    [
        "The quarterly review starts with the sales numbers for the northern region.",
        "Revenue grew by eight percent while costs stayed flat for the third month.",
        "The team will hire two engineers and one designer before the summer.",
        "Customer support answered most tickets within a single working day.",
        "The new warehouse in Leeds opens in the second week of March.",
        "Marketing wants a larger budget for the autumn campaign on radio.",
        "Two suppliers raised their prices, so the finance team is comparing offers.",
        "The mobile app reached one hundred thousand downloads last week.",
        "Training for the new accounting system begins on Monday morning.",
        "Travel costs fell because most meetings now happen online.",
        "The board asked for a short report on energy use in the offices.",
        "Our partners in Lisbon will visit the factory at the end of April.",
        "The security audit found no serious problems in the payment service.",
        "Sales in the south were lower than planned because of the storms.",
        "A new coffee machine was installed on the third floor kitchen.",
        "The legal team finished the review of the distribution contracts.",
        "Next quarter we will focus on keeping our existing customers happy.",
        "The meeting ended with questions about the holiday schedule.",
    ]
)


class Cluster:
    """The web side in this process (playground + HTTP API, jobs sent to Celery) and
    `balafon worker` processes started on demand, all on one database and one broker."""

    def __init__(self, tmp_path: Path, database_url: str, broker_url: str) -> None:
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path / "data"),
            "JOB_EXECUTOR": "celery",
            "CELERY_BROKER_URL": broker_url,
            "JOB_LEASE_SECONDS": "3",
            "CELERY_RESEND_SECONDS": "2",
            "WHISPER_WINDOW_SECONDS": "30",
            "WHISPER_BEAM_SIZE": "1",
            "SLACK_SIGNING_SECRET": "",
            "MICROSOFT_APP_ID": "",
            "LOG_LEVEL": "INFO",
        }
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            data_dir=self.env["DATA_DIR"],
            job_executor="celery",
            celery_broker_url=broker_url,
            job_lease_seconds=3,
        )
        self.runtime: Runtime = build_runtime(settings)
        self.engine = self.runtime.core.services.repo.engine
        self.workers: list[subprocess.Popen] = []
        self.loop = asyncio.new_event_loop()
        for adapter in self.runtime.adapters:
            self.loop.run_until_complete(adapter.startup())

    def worker(self, *args: str) -> subprocess.Popen:
        log = (self.tmp_path / f"worker{len(self.workers)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(process)
        return process

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.runtime.app, client=("127.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                access = {"Authorization": f"Bearer {self.runtime.access_token}"}
                return await c.request(method, path, headers={**WRITE, **access}, **kwargs)

        return self.loop.run_until_complete(send())

    def say(self, text: str, thread: int | None = None) -> int:
        body = {"channel": "general", "user": "ann", "text": text, "thread": thread}
        answer = self.request("POST", "/playground/api/messages", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["message"]["id"]

    def bot_posts(self, thread: int) -> list[str]:
        answer = self.request("GET", "/playground/api/channels/general/messages?user=ann")
        return [
            m["html"]
            for m in answer.json()["messages"]
            if m["author"] == "balafon" and m["thread"] == thread and not m["ephemeral"]
        ]

    def jobs(self, kind: str) -> list[Job]:
        with Session(self.engine) as session:
            return list(session.exec(select(Job).where(Job.kind == kind)).all())

    def stop_workers(self) -> list[int | None]:
        """SIGTERM (a warm shutdown) to the live workers; their exit codes."""
        live = [p for p in self.workers if p.poll() is None]
        for process in live:
            process.send_signal(signal.SIGTERM)
        codes = []
        for process in live:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(None)
        return codes

    def close(self) -> None:
        self.stop_workers()
        self.loop.close()
        self.engine.dispose()

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("worker*.log")))


def wait_for(condition: Callable[[], Any], timeout: float, cluster: Cluster) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out; worker logs:\n{cluster.logs()[-4000:]}")


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, broker_url: str) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, postgres_url, broker_url)
    try:
        yield cluster
    finally:
        cluster.close()


def test_jobs_run_on_their_queue_and_survive_a_killed_worker(cluster: Cluster) -> None:
    audio = synthesize(SPEECH, cluster.tmp_path / "review.wav")
    with audio.open("rb") as f:
        shared = cluster.request(
            "POST",
            "/playground/api/uploads",
            data={"channel": "general", "user": "ann", "text": ""},
            files={"file": ("review.wav", f, "audio/wav")},
        )
    assert shared.status_code == 201, shared.text
    upload = shared.json()["message"]["id"]
    root = cluster.say("I will send the budget to finance by Friday.")
    cluster.say("We decided to keep the launch date.", thread=root)
    cluster.say("@balafon recap", thread=root)
    # Both jobs are in Redis, on their own queues.
    broker = redis.Redis.from_url(cluster.env["CELERY_BROKER_URL"])
    assert broker.llen("balafon.default") == 1 and broker.llen("balafon.transcribe") == 1
    # The broker restarts and forgets them (this Redis keeps nothing on disk): the jobs are
    # in the database, and the workers send them again.
    broker.flushdb()

    # A worker on the default queue runs the recap and leaves the transcription alone.
    cluster.worker("--queue", "default")
    [recap] = wait_for(lambda: cluster.bot_posts(root), 60, cluster)
    assert "budget" in recap
    [job] = cluster.jobs("transcribe")
    assert job.status == "queued" and job.attempts == 0

    # A transcription worker is killed mid-job; another finishes it.
    first = cluster.worker("--queue", "transcribe")
    wait_for(lambda: [j for j in cluster.jobs("transcribe") if (j.progress or 0) > 0], 120, cluster)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert cluster.jobs("transcribe")[0].status == "running"  # left behind by the dead worker
    cluster.worker("--queue", "transcribe")
    [done] = wait_for(
        lambda: [j for j in cluster.jobs("transcribe") if j.status in {"done", "failed"}],
        240,
        cluster,
    )
    assert done.status == "done" and done.attempts == 2, done.error
    # One progress message (edited to 100%), one transcript, one recap: nothing twice.
    posts = [re.sub(r"<[^>]+>", " ", post) for post in cluster.bot_posts(upload)]
    assert len(posts) == 3, posts
    assert sum(bool(re.search(r"Transcript\s+\d:\d\d · \d+ words", p)) for p in posts) == 1
    assert sum("Recap of" in p and "engineers" in p for p in posts) == 1
    assert sum("100%" in p for p in posts) == 1
    assert len(cluster.bot_posts(root)) == 1  # the recap was not posted again either
    assert cluster.stop_workers() == [0, 0]  # idle workers stop cleanly on SIGTERM
