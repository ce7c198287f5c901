"""Durable jobs in the database, and the in-process worker that runs them.

A job row is written before the platform is acknowledged. A worker claims it with a lease
that it renews while it works; if the process dies, the lease runs out and another worker
(or the restarted process) claims it again. A job that keeps failing stops after
`max_attempts` and its failure hook tells the user.

Two executors run the same handlers: the in-process `Worker` polls the table (inside
`balafon serve`, or in `balafon worker` processes sharing the database), and the Celery
executor (`bot/celery_jobs.py`) hands each job id to a broker queue. Either way a job is
claimed in the database, so a duplicate message or a second worker cannot run it twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from bot import logs
from bot.errors import NotYet, PermanentJobError, TransientJobError
from bot.metrics import observe_job
from bot.storage.base import row_id
from bot.storage.jobs import JobStore
from bot.storage.models import Job, utcnow

log = logging.getLogger(__name__)

# Queues: transcription runs on its own so that machines with a GPU can take just that.
DEFAULT_QUEUE = "default"
TRANSCRIBE_QUEUE = "transcribe"
QUEUES = (DEFAULT_QUEUE, TRANSCRIBE_QUEUE)

# Hands a stored job to an executor that is not polling the table (a broker); may raise.
Dispatcher = Callable[["Job"], None]


class JobInterrupted(Exception):
    """Raised by `JobContext.progress` once the worker stops: the job goes back to the
    queue, and transcription threads (which report progress) stop at their next report."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobQueue:
    """The queue's behaviour over `JobStore`: lease length, retry backoff, waking
    in-process workers, and handing jobs to a broker when one is attached."""

    def __init__(self, engine: Engine, *, lease_seconds: float = 120.0) -> None:
        self.store = JobStore(engine)
        self.lease = timedelta(seconds=lease_seconds)
        self._wakeup: asyncio.Event | None = None
        self.dispatcher: Dispatcher | None = None  # set by the Celery executor

    @property
    def engine(self) -> Engine:
        return self.store.engine

    def bind_wakeup(self, event: asyncio.Event) -> None:
        """In-process workers wait on `event`; enqueue sets it so they start at once."""
        self._wakeup = event

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str,
        workspace_id: int | None = None,
        max_attempts: int = 3,
    ) -> tuple[Job, bool]:
        """Store a job unless one with the same idempotency key exists; (job, created)."""
        job, created = self.store.insert(
            Job(
                kind=kind,
                payload=payload,
                idempotency_key=key,
                workspace_id=workspace_id,
                max_attempts=max_attempts,
                # Marked as sent in the same write: no second round trip before the ack.
                dispatched_at=utcnow() if self.dispatcher is not None else None,
            )
        )
        if not created:
            return job, False
        if self._wakeup is not None:
            self._wakeup.set()
        if self.dispatcher is not None:
            self._send(job)
        return job, True

    def _dispatch(self, job: Job, previous: datetime | None) -> bool:
        """Re-send `job`, unless another process did since we read `previous` (its
        `dispatched_at`); False when it did, or when the broker refused."""
        now = utcnow()
        # Mark first, conditionally: of two processes re-sending the same job, one does.
        if not self.store.mark_sent(row_id(job), previous, now):
            return False
        job.dispatched_at = now
        return self._send(job)

    def _send(self, job: Job) -> bool:
        """Hand a job already marked as sent to the broker; if the broker refuses, unmark it
        (the job stays in the table and `dispatch_due` sends it later: nothing is lost)."""
        assert self.dispatcher is not None
        try:
            self.dispatcher(job)
        except Exception as exc:
            log.warning("job %s not sent to the broker (%s); it will be re-sent", job.id, exc)
            self.store.unmark_sent(row_id(job), job.dispatched_at)
            return False
        return True

    def dispatch_due(
        self, resend_after: timedelta, kinds: Collection[str], limit: int = 100
    ) -> int:
        """(Re-)send the jobs a broker worker should run now: never sent (broker down at
        enqueue, or a retry after backoff), whose worker died (lease expired since the last
        send), or sent longer than `resend_after` ago and still not started (a message lost
        with a broker restart). Only `kinds` (those the broker's workers run: every
        registered kind). Returns how many."""
        if self.dispatcher is None:
            return 0
        jobs = self.store.due_for_dispatch(utcnow(), resend_after, kinds, limit)
        return sum(self._dispatch(job, job.dispatched_at) for job in jobs)

    def get(self, job_id: int) -> Job | None:
        return self.store.get(job_id)

    def claim(self, worker_id: str, kinds: Collection[str] | None = None) -> Job | None:
        """Take the oldest runnable job (queued, or running with an expired lease)."""
        now = utcnow()
        return self.store.claim(worker_id, now, now + self.lease, kinds)

    def claim_id(self, job_id: int, worker_id: str, kinds: Collection[str]) -> Job | None:
        """Take job `job_id` if it is runnable now and of one of `kinds` (a broker message
        names it); None when it is done, not due yet, or held by another worker."""
        now = utcnow()
        return self.store.claim_id(job_id, worker_id, now, now + self.lease, kinds)

    def heartbeat(self, job: Job, worker_id: str, progress: float | None = None) -> bool:
        """Renew the lease; False when the job was taken over (this worker must stop)."""
        now = utcnow()
        return self.store.renew(row_id(job), worker_id, now, now + self.lease, progress)

    def release(self, job: Job, worker_id: str) -> bool:
        """Hand a job this worker holds back to the queue, runnable at once by any worker:
        its worker is stopping, so the interrupted attempt does not count. False when it
        was not held by `worker_id` any more (finished, or taken over)."""
        return self.store.hand_back(row_id(job), worker_id, utcnow())

    def snooze(self, job: Job, worker_id: str, seconds: float) -> bool:
        """Put a job this worker holds back to sleep for `seconds` (what it waits for is
        not there yet), freeing the worker; the attempt does not count."""
        now = utcnow()
        return self.store.hand_back(row_id(job), worker_id, now, now + timedelta(seconds=seconds))

    def finish(self, job: Job, worker_id: str, result: dict[str, Any] | None = None) -> None:
        now = utcnow()
        self.store.record(
            row_id(job),
            worker_id,
            now,
            status="done",
            error=None,
            finished_at=now,
            progress=1.0,
            result=result,
        )

    def fail(self, job: Job, worker_id: str, error: str, *, retry: bool) -> str:
        """Record a failure; requeue with backoff while attempts remain. Returns the status."""
        now = utcnow()
        if retry and job.attempts < job.max_attempts:
            delay = timedelta(seconds=min(300, 5 * 2 ** (job.attempts - 1)))
            self.store.record(
                row_id(job),
                worker_id,
                now,
                status="queued",
                error=error,
                run_after=now + delay,
                dispatched_at=None,  # the broker executor sends it again once it is due
            )
            return "queued"
        self.store.record(
            row_id(job), worker_id, now, status="failed", error=error, finished_at=now
        )
        return "failed"

    def counts(self) -> dict[str, int]:
        return self.store.counts()


@dataclass(frozen=True)
class JobContext:
    """Given to a handler: report progress (which also renews the lease)."""

    queue: JobQueue
    worker_id: str
    stopping: threading.Event | None = None  # set when the worker shuts down

    def progress(self, job: Job, fraction: float | None = None) -> bool:
        """Renew the lease (and store `fraction`); False when another worker took the job
        over. Raises `JobInterrupted` once the worker is stopping (from any thread)."""
        if self.stopping is not None and self.stopping.is_set():
            raise JobInterrupted(f"job {job.id}: the worker is stopping")
        return self.queue.heartbeat(job, self.worker_id, fraction)


# A handler may return a JSON-able dict: it is stored as the job's result.
Handler = Callable[[Job, JobContext], Awaitable[dict[str, Any] | None]]


class FailureHook(Protocol):
    """Called once a job has failed for good; `user_facing` when `reason` is for people."""

    def __call__(self, job: Job, reason: str, *, user_facing: bool) -> Awaitable[None]: ...


class Worker:
    """Runs jobs in this process: `concurrency` at a time, woken by new jobs or a poll.

    Once `stop` is set it takes no new job, gives the running ones `grace_seconds` to
    finish, then interrupts them and hands them back to the queue (`handed_back`), so that
    the next start, or another worker, runs them at once rather than after their lease.
    """

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        on_failure: FailureHook | None = None,
        worker_id: str | None = None,
        concurrency: int = 2,
        poll_seconds: float = 2.0,
        grace_seconds: float = 5.0,
        wrap: Callable[[Handler], Handler] | None = None,
    ) -> None:
        self.queue = queue
        self.handlers = handlers  # read on every claim: kinds added later run too
        # The kinds this worker takes (`balafon worker --queue …` narrows it).
        self.kinds: Callable[[], Collection[str]] = handlers.keys
        self.wrap = wrap  # e.g. start a job only once the web requests in flight are answered
        self.on_failure = on_failure
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.grace_seconds = grace_seconds
        self.handed_back: list[int] = []  # ids of the jobs given back when it stopped
        self._stopping = threading.Event()  # read by progress reports, on any thread
        self._wakeup = asyncio.Event()
        queue.bind_wakeup(self._wakeup)

    async def run(self, stop: asyncio.Event) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()
        self._stopping.clear()
        try:
            while not stop.is_set():
                await slots.acquire()
                job = await asyncio.to_thread(self.queue.claim, self.worker_id, self.kinds())
                if job is None:
                    slots.release()
                    self._wakeup.clear()
                    waiters = [asyncio.ensure_future(e.wait()) for e in (self._wakeup, stop)]
                    await asyncio.wait(
                        waiters, timeout=self.poll_seconds, return_when="FIRST_COMPLETED"
                    )
                    for waiter in waiters:
                        waiter.cancel()
                    continue
                task = asyncio.create_task(self._run_job(job))
                running.add(task)

                def done(task: asyncio.Task[None]) -> None:
                    running.discard(task)
                    slots.release()

                task.add_done_callback(done)
            if running:
                await self._stop_jobs(running)
        finally:
            # Even when cancelled (a forced exit): what still runs stops at its next
            # progress report, so no transcription thread holds the process up.
            self._stopping.set()

    async def _stop_jobs(self, running: set[asyncio.Task[None]]) -> None:
        """Let the running jobs finish within the grace period; interrupt the others (they
        hand themselves back in `_run_job`)."""
        _, pending = await asyncio.wait(running, timeout=self.grace_seconds)
        if not pending:
            return
        self._stopping.set()  # a transcription thread stops at its next progress report
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=10)

    async def run_once(self) -> bool:
        """Claim and run one job now (tests and `balafon worker --once`); False if none."""
        job = await asyncio.to_thread(self.queue.claim, self.worker_id, self.kinds())
        if job is None:
            return False
        await self._run_job(job)
        return True

    async def run_by_id(self, job_id: int) -> bool:
        """Run job `job_id` if it is runnable (the Celery task); False when it was not (a
        duplicate message, a job not due yet, or one another worker holds)."""
        job = await asyncio.to_thread(self.queue.claim_id, job_id, self.worker_id, self.kinds())
        if job is None:
            return False
        await self._run_job(job)
        return True

    async def drain(self, limit: int = 100) -> int:
        """Run jobs until none is runnable; returns how many ran."""
        count = 0
        while count < limit and await self.run_once():
            count += 1
        return count

    async def _run_job(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        if self.wrap is not None:
            handler = self.wrap(handler)
        context = JobContext(self.queue, self.worker_id, self._stopping)
        if job.attempts > job.max_attempts:
            # It kept dying mid-run (the process crashed each time): stop retrying.
            await self._give_up(job, f"stopped after {job.max_attempts} attempts", False)
            return
        context_token = logs.job_id.set(str(job.id))  # log lines of this job carry its id
        renew = asyncio.create_task(self._keep_lease(job))
        started = time.perf_counter()
        try:
            result = await handler(job, context)
        except (asyncio.CancelledError, JobInterrupted):
            if await asyncio.to_thread(self.queue.release, job, self.worker_id):
                self.handed_back.append(row_id(job))
                log.info("job %s (%s) handed back to the queue: stopping", job.id, job.kind)
            if not self._stopping.is_set():
                raise  # cancelled for another reason: let it propagate
        except NotYet as exc:
            observe_job(job.kind, "snoozed", started)
            await asyncio.to_thread(self.queue.snooze, job, self.worker_id, exc.delay)
        except PermanentJobError as exc:
            observe_job(job.kind, "refused", started)
            await self._give_up(job, exc.user_message, True)
        except Exception as exc:
            observe_job(job.kind, "error", started)
            if isinstance(exc, TransientJobError):  # expected now and then: no traceback
                log.warning("job %s (%s) attempt %s: %s", job.id, job.kind, job.attempts, exc)
            else:
                log.exception("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts)
            message = f"{type(exc).__name__}: {exc}"
            status = await asyncio.to_thread(
                self.queue.fail, job, self.worker_id, message, retry=True
            )
            if status == "failed" and self.on_failure is not None:
                await self.on_failure(job, message, user_facing=False)
        else:
            observe_job(job.kind, "done", started)
            stored = result if isinstance(result, dict) else None
            await asyncio.to_thread(self.queue.finish, job, self.worker_id, stored)
        finally:
            renew.cancel()
            logs.job_id.reset(context_token)

    async def _give_up(self, job: Job, reason: str, user_facing: bool) -> None:
        await asyncio.to_thread(self.queue.fail, job, self.worker_id, reason, retry=False)
        if self.on_failure is not None:
            await self.on_failure(job, reason, user_facing=user_facing)

    async def _keep_lease(self, job: Job) -> None:
        interval = max(1.0, self.queue.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.queue.heartbeat, job, self.worker_id)
