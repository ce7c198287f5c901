"""The Celery executor: jobs stay rows in the database; a broker message only says "job N
is ready", and a worker runs it with the same handlers as the in-process executor.

Why the database stays the source of truth: a message can be delivered twice (late acks,
a broker restart, a re-send), and a worker can die mid-job. The task claims job N in the
database first (`JobQueue.claim_id`), so a duplicate finds it running or done and does
nothing, and posting stays idempotent. Every worker process also runs `resend_loop`, which
re-sends jobs whose message was never sent or was lost, and jobs whose worker died.

Queues: `balafon.default` (recaps, digests) and `balafon.transcribe` (media), so machines
with a GPU can take only transcription (`balafon worker --queue transcribe`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import Future
from datetime import timedelta

try:
    from celery import Celery
except ImportError as exc:  # an optional extra
    raise SystemExit(
        'JOB_EXECUTOR=celery needs Celery and Redis: pip install -e ".[celery]"'
    ) from exc

from bot.jobs import DEFAULT_QUEUE, QUEUES, JobQueue, Worker
from bot.storage.models import Job

log = logging.getLogger(__name__)

TASK = "balafon.run_job"


def queue_name(queue: str) -> str:
    """The broker's name for one of `QUEUES` (prefixed: the Redis may be shared)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r} (one of {', '.join(QUEUES)})")
    return f"balafon.{queue}"


def celery_app(broker_url: str) -> Celery:
    app = Celery("balafon", broker=broker_url, set_as_current=False)
    app.conf.update(
        # Acknowledge after the job: a worker killed mid-job leaves its message to redeliver.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a long transcription must not hold other jobs back
        task_ignore_result=True,  # results live in the jobs table
        task_default_queue=queue_name(DEFAULT_QUEUE),
        worker_hijack_root_logger=False,  # keep our log format (LOG_FORMAT=json)
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # Longer than any job: the lease and `resend_loop` handle dead workers sooner.
            "visibility_timeout": 6 * 3600,
            # Sending a job happens while a platform waits for its ack: fail fast, the
            # job is already stored and `resend_loop` sends it once the broker is back.
            "socket_connect_timeout": 2,
            "socket_timeout": 10,
            "max_retries": 1,  # connecting to publish (Celery workers reconnect on their own)
            "interval_start": 0,
            "interval_step": 0.5,
        },
    )
    return app


class CeleryDispatcher:
    """`JobQueue.dispatcher`: send a stored job's id to the queue its kind runs on."""

    def __init__(self, app: Celery, queue_of: Callable[[str], str]) -> None:
        self.app = app
        self.queue_of = queue_of

    def __call__(self, job: Job) -> None:
        self.app.send_task(
            TASK, args=[job.id], queue=queue_name(self.queue_of(job.kind)), retry=False
        )


def broker_check(app: Celery) -> Callable[[], Awaitable[None]]:
    """A readiness check: the broker answers."""

    async def broker() -> None:
        def ping() -> None:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)

        await asyncio.to_thread(ping)

    return broker


def register_task(app: Celery, worker: Worker, loop: asyncio.AbstractEventLoop) -> None:
    """The one task: run job N on `loop` (where the adapters' clients live) and wait."""

    @app.task(name=TASK, ignore_result=True)
    def run_job(job_id: int) -> None:
        future: Future[bool] = asyncio.run_coroutine_threadsafe(worker.run_by_id(job_id), loop)
        if not future.result():
            log.debug("job %s: nothing to run (done, not due, or held elsewhere)", job_id)


async def resend_loop(
    queue: JobQueue, kinds: Collection[str], resend_after: timedelta, stop: asyncio.Event
) -> None:
    """Re-send due jobs of `kinds` every few seconds; in each worker process (the
    conditional update in `JobQueue._dispatch` lets only one of them send a given job)."""
    interval = max(1.0, min(5.0, queue.lease.total_seconds() / 3))
    while not stop.is_set():
        try:
            if sent := await asyncio.to_thread(queue.dispatch_due, resend_after, kinds):
                log.info("re-sent %d job(s) to the broker", sent)
        except Exception:
            log.exception("re-sending due jobs failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def worker_argv(queues: Collection[str], concurrency: int, log_level: str) -> list[str]:
    """`celery worker` arguments: threads (the model and the adapters' clients are loaded
    once per process), only the named queues, no chatter between workers."""
    name = f"balafon-{'-'.join(sorted(queues))}-{os.getpid()}@{socket.gethostname()}"
    return [
        "worker",
        "--queues",
        ",".join(queue_name(q) for q in queues),
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--hostname",
        name,
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        log_level,
    ]
