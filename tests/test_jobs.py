"""The durable job queue on SQLite and PostgreSQL: claim, lease, retry, resume, give up."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.errors import NotYet, PermanentJobError
from bot.jobs import JobQueue, Worker
from bot.storage.models import Job, utcnow


def _expire_lease(queue: JobQueue, job_id: int) -> None:
    with Session(queue.engine) as session:
        session.execute(
            update(Job)
            .where(col(Job.id) == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()


def test_enqueue_is_idempotent_by_key(engine) -> None:
    queue = JobQueue(engine)
    first, created = queue.enqueue("recap", {"a": 1}, key="slack:Ev1")
    again, created_again = queue.enqueue("recap", {"a": 2}, key="slack:Ev1")
    assert created and not created_again
    assert again.id == first.id and again.payload == {"a": 1}


def test_a_job_is_claimed_once(engine) -> None:
    queue = JobQueue(engine)
    job, _ = queue.enqueue("recap", {}, key="k1")
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.id == job.id and claimed.attempts == 1
    assert queue.claim("w2") is None  # leased to w1


def test_expired_lease_is_resumed_by_another_worker(engine) -> None:
    queue = JobQueue(engine, lease_seconds=60)
    job, _ = queue.enqueue("transcribe", {}, key="k1")
    assert queue.claim("dead-worker").id == job.id
    _expire_lease(queue, job.id)
    resumed = queue.claim("w2")
    assert resumed.id == job.id and resumed.attempts == 2 and resumed.worker_id == "w2"
    # The dead worker's late heartbeat cannot take the job back.
    assert not queue.heartbeat(
        resumed.model_copy(update={"worker_id": "dead-worker"}), "dead-worker"
    )


def test_failure_requeues_with_backoff_then_fails(engine) -> None:
    queue = JobQueue(engine)
    job, _ = queue.enqueue("recap", {}, key="k1", max_attempts=2)
    claimed = queue.claim("w")
    assert queue.fail(claimed, "w", "boom", retry=True) == "queued"
    assert queue.claim("w") is None  # backing off
    with Session(engine) as session:
        session.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))
        session.commit()
    claimed = queue.claim("w")
    assert claimed.attempts == 2
    assert queue.fail(claimed, "w", "boom again", retry=True) == "failed"
    assert queue.get(job.id).error == "boom again"


@pytest.mark.anyio
async def test_worker_runs_retries_and_reports_failures(engine) -> None:
    queue = JobQueue(engine)
    calls: list[str] = []
    failures: list[tuple[int, str]] = []

    async def ok(job, ctx) -> None:
        assert ctx.progress(job, 0.5)
        calls.append(f"ok:{job.payload['n']}")

    async def bad(job, ctx) -> None:
        raise PermanentJobError("That file is not audio.")

    async def on_failure(job, reason, *, user_facing) -> None:
        failures.append((job.id, reason, user_facing))

    worker = Worker(queue, {"ok": ok, "bad": bad}, on_failure=on_failure, worker_id="w")
    queue.enqueue("ok", {"n": 1}, key="a")
    bad_job, _ = queue.enqueue("bad", {}, key="b")
    queue.enqueue("ok", {"n": 2}, key="c")
    assert await worker.drain() == 3
    assert calls == ["ok:1", "ok:2"]
    assert failures == [(bad_job.id, "That file is not audio.", True)]
    assert queue.counts() == {"done": 2, "failed": 1}


@pytest.mark.anyio
async def test_a_job_that_waits_frees_its_worker_and_counts_no_attempt(engine) -> None:
    """`NotYet`: what the job needs is not there yet (a meeting's transcript). It goes back
    to the queue for a while instead of sleeping on a worker, so other jobs run meanwhile,
    and waiting many times never uses up its attempts."""
    queue = JobQueue(engine)
    ran: list[str] = []
    tries = {"waiting": 0}

    async def waiting(job, ctx) -> None:
        tries["waiting"] += 1
        if tries["waiting"] < 4:
            raise NotYet(0.05)
        ran.append("waiting")

    async def quick(job, ctx) -> None:
        ran.append("quick")

    worker = Worker(queue, {"waiting": waiting, "quick": quick}, worker_id="w")
    slow, _ = queue.enqueue("waiting", {}, key="m", max_attempts=2)
    queue.enqueue("quick", {}, key="r")
    assert await worker.drain() == 2  # both ran once; the first is asleep, not failed
    assert ran == ["quick"]
    asleep = queue.get(slow.id)
    assert asleep.status == "queued" and asleep.attempts == 0 and asleep.worker_id is None
    assert queue.claim("other") is None  # not before its time
    for _ in range(100):
        await asyncio.sleep(0.02)
        await worker.drain()
        if ran == ["quick", "waiting"]:
            break
    assert ran == ["quick", "waiting"] and tries["waiting"] == 4
    assert queue.get(slow.id).status == "done"  # 4 runs, max_attempts 2: none counted


@pytest.mark.anyio
async def test_poisoned_job_stops_after_max_attempts(engine) -> None:
    queue = JobQueue(engine, lease_seconds=60)
    job, _ = queue.enqueue("crashy", {}, key="p", max_attempts=2)
    for _ in range(2):  # the process dies mid-job twice
        assert queue.claim("w") is not None
        _expire_lease(queue, job.id)
    failures: list[str] = []

    async def crashy(job, ctx) -> None:
        raise AssertionError("must not run a third time")

    async def on_failure(job, reason, *, user_facing) -> None:
        failures.append((reason, user_facing))

    worker = Worker(queue, {"crashy": crashy}, on_failure=on_failure, worker_id="w3")
    assert await worker.run_once()
    assert failures == [("stopped after 2 attempts", False)]
    assert queue.get(job.id).status == "failed"


@pytest.mark.anyio
async def test_worker_loop_wakes_on_enqueue(engine) -> None:
    queue = JobQueue(engine)
    done = asyncio.Event

    async def scenario() -> list[int]:
        finished = done()
        seen: list[int] = []

        async def handler(job, ctx) -> None:
            seen.append(job.payload["n"])
            if len(seen) == 3:
                finished.set()

        stop = asyncio.Event()
        worker = Worker(queue, {"k": handler}, poll_seconds=30, concurrency=2)
        loop_task = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(0.1)
        for n in range(3):
            queue.enqueue("k", {"n": n}, key=f"n{n}")
        await asyncio.wait_for(finished.wait(), timeout=10)
        stop.set()
        await asyncio.wait_for(loop_task, timeout=10)
        return seen

    assert sorted(await scenario()) == [0, 1, 2]


@pytest.mark.anyio
async def test_stopping_worker_finishes_quick_jobs_and_hands_back_the_others(engine) -> None:
    """On shutdown a job gets a grace period; past it, one awaiting something and one busy
    in a thread (reporting progress, as transcription does) both go back to the queue,
    runnable at once, and the thread stops instead of holding the process up."""
    queue = JobQueue(engine, lease_seconds=600)
    thread_stopped = threading.Event()

    async def scenario() -> Worker:
        started = asyncio.Event()
        count = {"started": 0}

        async def quick(job, ctx) -> None:
            await asyncio.sleep(0.2)

        async def waits(job, ctx) -> None:
            count["started"] += 1
            started.set()
            await asyncio.sleep(3600)

        def busy(job, ctx) -> None:
            try:
                while True:
                    ctx.progress(job, 0.5)
                    time.sleep(0.05)
            finally:
                thread_stopped.set()

        async def in_thread(job, ctx) -> None:
            await asyncio.to_thread(busy, job, ctx)

        handlers = {"quick": quick, "waits": waits, "thread": in_thread}
        worker = Worker(queue, handlers, concurrency=3, grace_seconds=0.5)
        for kind in ("thread", "waits", "quick"):
            queue.enqueue(kind, {}, key=kind)
        stop = asyncio.Event()
        loop_task = asyncio.create_task(worker.run(stop))
        await asyncio.wait_for(started.wait(), timeout=10)
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(loop_task, timeout=10)
        return worker

    worker = await scenario()
    assert thread_stopped.wait(timeout=5)
    with Session(engine) as session:
        jobs = {job.kind: job for job in session.exec(select(Job)).all()}
    assert jobs["quick"].status == "done"
    assert sorted(worker.handed_back) == sorted([jobs["thread"].id, jobs["waits"].id])
    for kind in ("thread", "waits"):
        job = jobs[kind]
        assert (job.status, job.worker_id, job.lease_expires_at, job.attempts) == (
            "queued",
            None,
            None,
            0,
        )
    assert {queue.claim("next").kind, queue.claim("next").kind} == {"thread", "waits"}


@pytest.mark.anyio
@pytest.mark.parametrize("count", [8])
async def test_concurrent_claims_never_double_run(engine, count) -> None:
    queue = JobQueue(engine)
    for n in range(count):
        queue.enqueue("k", {"n": n}, key=f"c{n}")

    async def grab(worker: str) -> list[int]:
        got = []
        while (job := await asyncio.to_thread(queue.claim, worker)) is not None:
            got.append(job.id)
        return got

    async def race() -> list[list[int]]:
        return await asyncio.gather(*(grab(f"w{i}") for i in range(4)))

    results = await race()
    flat = [job_id for ids in results for job_id in ids]
    assert len(flat) == count and len(set(flat)) == count
