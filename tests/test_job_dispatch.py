"""Handing stored jobs to a broker (the Celery executor's side of `JobQueue`), on SQLite and
PostgreSQL: sent once, re-sent only when lost or orphaned, never run twice; and the real
Celery dispatcher and task on the live Redis."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
import redis
from kombu import Connection
from sqlalchemy import update
from sqlmodel import Session, col

from bot.celery_jobs import CeleryDispatcher, celery_app, queue_name, register_task
from bot.jobs import TRANSCRIBE_QUEUE, JobQueue, Worker
from bot.storage.models import Job, utcnow

RESEND = timedelta(minutes=10)
KINDS = ("recap", "transcribe")


class Recorder:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.down = False

    def __call__(self, job: Job) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.sent.append(job.id)


def _shift(queue: JobQueue, job_id: int, **ago: timedelta) -> None:
    """Move a job's timestamps into the past, as if time had passed."""
    now = utcnow()
    with Session(queue.engine) as session:
        session.execute(
            update(Job).where(col(Job.id) == job_id).values({k: now - v for k, v in ago.items()})
        )
        session.commit()


def test_enqueue_sends_once_and_a_stored_job_survives_a_broker_outage(engine) -> None:
    queue = JobQueue(engine)
    queue.dispatcher = broker = Recorder()
    job, _ = queue.enqueue("recap", {}, key="k1")
    queue.enqueue("recap", {}, key="k1")  # a platform retry: same job, no second message
    assert broker.sent == [job.id]
    assert queue.dispatch_due(RESEND, KINDS) == 0  # sent a moment ago

    broker.down = True
    lost, created = queue.enqueue("recap", {}, key="k2")
    assert created and queue.get(lost.id).dispatched_at is None  # stored, not sent
    broker.down = False
    assert queue.dispatch_due(RESEND, KINDS) == 1 and broker.sent == [job.id, lost.id]


def test_resend_a_message_lost_with_the_broker_but_not_every_poll(engine) -> None:
    queue = JobQueue(engine)
    queue.dispatcher = broker = Recorder()
    job, _ = queue.enqueue("recap", {}, key="k1")
    _shift(queue, job.id, dispatched_at=timedelta(minutes=5))
    assert queue.dispatch_due(RESEND, KINDS) == 0  # perhaps still waiting in a long queue
    _shift(queue, job.id, dispatched_at=timedelta(minutes=11))
    assert queue.dispatch_due(RESEND, KINDS) == 1
    assert queue.dispatch_due(RESEND, KINDS) == 0
    assert broker.sent == [job.id, job.id]


def test_a_dead_workers_job_is_resent_once_its_lease_ends(engine) -> None:
    queue = JobQueue(engine, lease_seconds=60)
    queue.dispatcher = broker = Recorder()
    job, _ = queue.enqueue("transcribe", {}, key="k1")
    assert queue.claim_id(job.id, "w1", KINDS) is not None
    assert queue.dispatch_due(RESEND, KINDS) == 0  # running, lease alive
    # Two minutes on: the worker stopped renewing its lease, which ended a second ago.
    _shift(queue, job.id, dispatched_at=timedelta(minutes=2), lease_expires_at=timedelta(seconds=1))
    assert queue.dispatch_due(RESEND, KINDS) == 1
    assert queue.dispatch_due(RESEND, KINDS) == 0  # not again for the same expiry
    resumed = queue.claim_id(job.id, "w2", KINDS)
    assert resumed is not None and resumed.attempts == 2
    assert broker.sent == [job.id, job.id]


def test_a_failed_attempt_is_resent_after_its_backoff(engine) -> None:
    queue = JobQueue(engine)
    queue.dispatcher = broker = Recorder()
    job, _ = queue.enqueue("recap", {}, key="k1")
    claimed = queue.claim_id(job.id, "w", KINDS)
    assert queue.fail(claimed, "w", "boom", retry=True) == "queued"
    assert queue.dispatch_due(RESEND, KINDS) == 0  # backing off
    _shift(queue, job.id, run_after=timedelta(seconds=1))
    assert queue.dispatch_due(RESEND, KINDS) == 1 and broker.sent == [job.id, job.id]


def test_two_processes_resending_send_each_job_once(engine) -> None:
    first, second = JobQueue(engine), JobQueue(engine)
    first.dispatcher = second.dispatcher = broker = Recorder()
    for n in range(20):
        first.enqueue("recap", {}, key=f"k{n}")
    broker.sent.clear()
    with Session(engine) as session:
        session.execute(update(Job).values(dispatched_at=None))
        session.commit()
    threads = [
        threading.Thread(target=q.dispatch_due, args=(RESEND, KINDS)) for q in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(broker.sent) == sorted(set(broker.sent)) and len(broker.sent) == 20


def test_claim_by_id_refuses_duplicates_done_and_future_jobs(engine) -> None:
    queue = JobQueue(engine)
    job, _ = queue.enqueue("recap", {}, key="k1")
    claimed = queue.claim_id(job.id, "w1", KINDS)
    assert claimed is not None and claimed.worker_id == "w1"
    assert queue.claim_id(job.id, "w2", KINDS) is None  # a duplicate message while it runs
    queue.finish(claimed, "w1")
    assert queue.claim_id(job.id, "w2", KINDS) is None  # a duplicate after it is done
    later, _ = queue.enqueue("recap", {}, key="k2")
    _shift(queue, later.id, run_after=-timedelta(minutes=1))
    assert queue.claim_id(later.id, "w2", KINDS) is None  # not due yet
    assert queue.claim_id(12345, "w2", KINDS) is None
    assert queue.claim_id(later.id, "w2", ["digest"]) is None  # a kind this worker lacks


def test_kinds_with_their_own_poller_are_never_sent(engine) -> None:
    """Teams meeting recaps wait for Graph in a poller of their own, not on the broker."""
    queue = JobQueue(engine)
    own = JobQueue(engine)  # like MeetingRecaps: a queue object with no dispatcher
    queue.dispatcher = broker = Recorder()
    job, _ = own.enqueue("teams_meeting", {}, key="k1")
    assert queue.dispatch_due(RESEND, KINDS) == 0 and broker.sent == []
    assert queue.get(job.id).status == "queued"


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_celery_dispatcher_and_task_on_the_live_redis(engine, broker_url) -> None:
    """The real Celery app publishes to the kind's queue on Redis, and the registered task
    (as a worker thread calls it) runs the job through the same `Worker` code."""
    app = celery_app(broker_url)
    queue = JobQueue(engine)
    queue.dispatcher = CeleryDispatcher(
        app, lambda kind: TRANSCRIBE_QUEUE if kind == "transcribe" else "default"
    )
    ran: list[int] = []

    async def handler(job: Job, context) -> dict:
        ran.append(job.id)
        return {"ok": True}

    job, _ = queue.enqueue("transcribe", {}, key="k1")
    client = redis.Redis.from_url(broker_url)
    assert client.llen(queue_name(TRANSCRIBE_QUEUE)) == 1
    assert client.llen(queue_name("default")) == 0

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        register_task(app, Worker(queue, {"transcribe": handler}), loop)
        with Connection(broker_url) as connection:
            message = connection.SimpleQueue(queue_name(TRANSCRIBE_QUEUE)).get(timeout=5)
            task_id = message.headers["id"]
            [job_id], _, _ = message.decode()
            message.ack()
        task = app.tasks["balafon.run_job"]
        task(job_id)
        task(job_id)  # delivered twice: the second finds the job done
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
    assert task_id and ran == [job.id]
    assert queue.get(job.id).status == "done" and queue.get(job.id).result == {"ok": True}


def test_unknown_queue_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown queue"):
        queue_name("gpu")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_job_is_stored_and_acknowledged_while_the_broker_is_down(engine) -> None:
    """The real dispatcher fails fast against a broker that is not there (a platform waits
    for its ack), and the job stays stored for `dispatch_due` to send later."""
    queue = JobQueue(engine)
    queue.dispatcher = CeleryDispatcher(celery_app("redis://127.0.0.1:1/0"), lambda _: "default")
    started = time.monotonic()
    job, created = queue.enqueue("recap", {}, key="k1")
    assert created and time.monotonic() - started < 2
    assert queue.get(job.id).dispatched_at is None and queue.counts() == {"queued": 1}
