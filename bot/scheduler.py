"""The digest scheduler (also the hourly retention sweep and the reminder pass of action
items, every few minutes): APScheduler 3 with its jobs persisted in our database, run by one
leader among the processes (an expiring lease row), firing into the durable job queue.

The subscriptions table is the truth; the scheduler's job store mirrors it (`sync`). A
fire only enqueues a job keyed by the subscription and slot, so even two schedulers
firing the same slot produce one job and one post. After downtime, APScheduler runs a
missed slot once if it is within the grace period (`coalesce`: not once per missed day).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from bot.features.digests.service import DigestService, schedule_of
from bot.features.items.reminders import INTERVAL_MINUTES
from bot.jobs import default_worker_id
from bot.storage.base import row_id
from bot.storage.leases import LeaseStore
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

LEASE_NAME = "digests"
REMINDERS_JOB = "reminders"
_services: dict[str, DigestService] = {}


def fire_digest(subscription_id: int, service_key: str = "default") -> None:
    """APScheduler's job function: importable by name, as its persistent store requires."""
    service = _services.get(service_key)
    if service is None:
        log.warning("digest %s fired with no digest service running", subscription_id)
        return
    service.fire(subscription_id)


def purge_expired(service_key: str = "default") -> None:
    """Hourly retention sweep (APScheduler job): delete what channels keep no longer."""
    service = _services.get(service_key)
    if service is None:
        return
    sweep(service)


async def remind(service_key: str = "default") -> None:
    """The reminder pass of action items (APScheduler job, leader only): bot/features/items/
    reminders.py sends each due reminder once, also when two passes overlap."""
    service = _services.get(service_key)
    reminders = service.services.reminders if service is not None else None
    if reminders is None:
        return
    try:
        await reminders.run_pass()
    except Exception:  # the next pass tries again
        log.exception("reminder pass failed")


def sweep(service: DigestService) -> dict[str, int]:
    """Delete what has expired now: channels' retention (messages, transcripts, recaps,
    jobs), then each of the core's sweepers (API results); empties SQLite's WAL after."""
    core = service.services
    now = core.clock()
    counts = core.repo.purge_expired(now, service.retention_days)
    for sweeper in core.sweepers:
        counts.update(sweeper(now))
    if any(counts.values()):
        core.repo.checkpoint()
        log.info("retention deleted %s", counts)
    return counts


class Lease:
    """A named, expiring lock: whoever holds it is the leader until it expires."""

    def __init__(self, engine: Engine, name: str, holder: str, ttl_seconds: float) -> None:
        self.store = LeaseStore(engine)
        self.name, self.holder = name, holder
        self.ttl = timedelta(seconds=ttl_seconds)

    def acquire(self) -> bool:
        """Take or renew the lease; False while someone else holds an unexpired one."""
        now = utcnow()
        return self.store.acquire(self.name, self.holder, now, now + self.ttl)

    def release(self) -> None:
        self.store.release(self.name, self.holder, utcnow())


class DigestScheduler:
    def __init__(
        self,
        service: DigestService,
        *,
        grace_seconds: float = 6 * 3600,
        lease_seconds: float = 30.0,
        holder: str | None = None,
        service_key: str = "default",
    ) -> None:
        self.service = service
        self.grace_seconds = grace_seconds
        self.service_key = service_key
        self.lease = Lease(service.engine, LEASE_NAME, holder or default_worker_id(), lease_seconds)
        self.scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        service.on_change = self.sync_one
        _services[service_key] = service

    @property
    def leader(self) -> bool:
        return self.scheduler is not None

    async def start(self) -> None:
        """Become leader now if possible; keep trying (and renewing) in the background."""
        await self._tick()
        self._task = asyncio.create_task(self._loop())

    # As a part mounted on the app (bot.app.Mountable): no routes, started with it.
    def routes(self) -> list:
        return []

    async def startup(self) -> None:
        await self.start()

    async def shutdown(self) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            await asyncio.to_thread(self.lease.release)
        _services.pop(self.service_key, None)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease.ttl.total_seconds() / 3)
            try:
                await self._tick()
            except Exception:  # the database may be briefly away; try again next tick
                log.exception("digest scheduler tick failed")

    async def _tick(self) -> None:
        leader = await asyncio.to_thread(self.lease.acquire)
        if leader and self.scheduler is None:
            self.scheduler = AsyncIOScheduler(
                jobstores={"default": SQLAlchemyJobStore(engine=self.service.engine)},
                job_defaults={"coalesce": True, "misfire_grace_time": int(self.grace_seconds)},
            )
            self.scheduler.start()
            self.scheduler.add_job(
                "bot.scheduler:purge_expired",
                trigger="interval",
                hours=1,
                args=[self.service_key],
                id="retention",
                replace_existing=True,
            )
            self._schedule_reminders()
            await asyncio.to_thread(self.sync)
            log.info("this process now schedules digests")
        elif not leader and self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            log.warning("lost the digest scheduler lease")
        elif leader:
            await asyncio.to_thread(self.sync)

    def _schedule_reminders(self) -> None:
        assert self.scheduler is not None
        reminders = self.service.services.reminders
        if reminders is None or not reminders.enabled:
            if self.scheduler.get_job(REMINDERS_JOB) is not None:
                self.scheduler.remove_job(REMINDERS_JOB)
            return
        self.scheduler.add_job(
            "bot.scheduler:remind",
            trigger="interval",
            minutes=INTERVAL_MINUTES,
            args=[self.service_key],
            id=REMINDERS_JOB,
            replace_existing=True,
        )

    def sync(self) -> None:
        """Make the scheduler's jobs match the active subscriptions."""
        if self.scheduler is None:
            return
        active = {row_id(s): s for s in self.service.active_subscriptions()}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest-") and int(job.id.split("-", 1)[1]) not in active:
                job.remove()
        for subscription_id in active:
            self.sync_one(subscription_id)

    def sync_one(self, subscription_id: int) -> None:
        """Add, reschedule or remove the job of one subscription (leader only)."""
        if self.scheduler is None:
            return  # the leader picks it up on its next sync
        job_id = f"digest-{subscription_id}"
        subscription = self.service.get(subscription_id)
        existing = self.scheduler.get_job(job_id)
        if subscription is None or not subscription.active:
            if existing is not None:
                existing.remove()
            return
        trigger = schedule_of(subscription).trigger()
        if existing is not None and repr(existing.trigger) == repr(trigger):
            return  # unchanged: keep its next run time (and any misfire to catch up)
        self.scheduler.add_job(
            "bot.scheduler:fire_digest",
            trigger=trigger,
            args=[subscription_id, self.service_key],
            id=job_id,
            name=f"digest of subscription {subscription_id}",
            replace_existing=True,
        )
