"""Scheduled digests: subscriptions, the job that makes one, and exactly-once posting.

A digest covers what happened since the previous successful digest of the channel (not a
fixed 24 h), plus action items still open from earlier digests with their age. Every
scheduled slot is one row in `digest_runs` (unique per subscription and slot), one job
(idempotency key per slot) and one delivery key, so restarts, a second scheduler or a
misfire never post twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bot import sentences
from bot.conversations import to_conversation
from bot.features.digests import DigestCommand
from bot.features.digests.schedule import DigestSchedule, latest_slot, next_slot
from bot.features.items.service import as_action_item, remember_post, store_recap
from bot.job_kinds import JobKind, JobPayload, Replying
from bot.jobs import Job, JobContext
from bot.metrics import DIGESTS
from bot.ports import OpenItem, Place, RecapReply, ReplyTarget, TextReply
from bot.storage.base import row_id
from bot.storage.digests import DigestStore
from bot.storage.models import Channel, DigestRun, DigestSubscription

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

KIND = "digest"
MAX_STILL_OPEN = 10


def schedule_of(subscription: DigestSubscription) -> DigestSchedule:
    return DigestSchedule(
        cadence=subscription.cadence,
        hour=subscription.hour,
        minute=subscription.minute,
        timezone=subscription.timezone,
        weekday=subscription.weekday,
    )


def _format_slot(slot: datetime) -> str:
    return f"{slot:%a %d %b, %H:%M}"


class DigestPayload(JobPayload):
    """One slot of one subscription; `reply` (the channel) is told if it fails for good
    (rows stored before it was added have none)."""

    subscription_id: int
    slot: datetime
    platform: str | None = None
    reply: ReplyTarget | None = None


class DigestService:
    """Subscriptions and digest jobs. `on_change` tells the scheduler to re-read one."""

    def __init__(
        self,
        services: Services,
        *,
        post_when_quiet: bool = False,
        on_change: Callable[[int], None] | None = None,
        retention_days: int | None = None,
    ) -> None:
        self.services = services
        self.store = DigestStore(services.repo.engine)
        self.post_when_quiet = post_when_quiet
        self.retention_days = retention_days  # default for channels without their own
        self.on_change = on_change
        services.jobs.add(JobKind(KIND, DigestPayload, self.run, on_failure=self.on_failure))
        services.digests = self

    @property
    def engine(self) -> Engine:
        """The database (the scheduler keeps its own jobs and lease there)."""
        return self.store.engine

    # --- commands -----------------------------------------------------------------------

    async def command(self, place: Place, user_id: str, command: DigestCommand) -> str:
        """Answer `digest daily 09:00` / `digest off` / `digest status` in a channel."""
        channel = await self.services.conversations.get_or_create_channel(
            replace(place, thread=None)
        )
        now = self.services.clock()
        if command.action == "subscribe":
            assert command.schedule is not None
            subscribed = await asyncio.to_thread(
                self._upsert, channel, place, user_id, command.schedule
            )
            self.changed(row_id(subscribed))
            first = next_slot(command.schedule, now)
            return sentences.DIGEST_ON.format(
                when=command.schedule.describe(), first=_format_slot(first)
            )
        subscription = await asyncio.to_thread(self.find, row_id(channel))
        if command.action == "off":
            if subscription is None or not subscription.active:
                return sentences.DIGEST_NONE
            await asyncio.to_thread(self.store.deactivate, row_id(subscription))
            self.changed(row_id(subscription))
            return sentences.DIGEST_OFF
        if subscription is None or not subscription.active:
            return sentences.DIGEST_NONE
        schedule = schedule_of(subscription)
        return sentences.DIGEST_STATUS.format(
            when=schedule.describe(), next=_format_slot(next_slot(schedule, now))
        )

    def changed(self, subscription_id: int | None) -> None:
        if self.on_change is not None and subscription_id is not None:
            self.on_change(subscription_id)

    def find(self, channel_id: int) -> DigestSubscription | None:
        return self.store.subscription(channel_id)

    def get(self, subscription_id: int) -> DigestSubscription | None:
        return self.store.get(subscription_id)

    def active_subscriptions(self) -> list[DigestSubscription]:
        return self.store.active()

    def _upsert(
        self, channel: Channel, place: Place, user_id: str, schedule: DigestSchedule
    ) -> DigestSubscription:
        return self.store.subscribe(
            DigestSubscription(
                workspace_id=channel.workspace_id,
                channel_id=row_id(channel),
                platform=place.platform,
                workspace_external_id=place.workspace,
                channel_external_id=place.channel,
                post_when_quiet=self.post_when_quiet,
                cadence=schedule.cadence,
                weekday=schedule.weekday,
                hour=schedule.hour,
                minute=schedule.minute,
                timezone=schedule.timezone,
                active=True,
                created_by=user_id,
            )
        )

    # --- firing -------------------------------------------------------------------------

    def fire(self, subscription_id: int, now: datetime | None = None) -> Job | None:
        """Queue the digest of the latest slot at or before `now` (once per slot)."""
        subscription = self.get(subscription_id)
        if subscription is None or not subscription.active:
            return None
        now = now or self.services.clock()
        slot = latest_slot(schedule_of(subscription), now)
        if slot is None:
            return None
        place = place_of(subscription)
        payload = DigestPayload(
            subscription_id=subscription_id,
            slot=slot,
            platform=place.platform,
            reply=ReplyTarget(place=place),
        )
        job, created = self.services.queue.enqueue(
            KIND,
            payload.stored(),
            key=f"digest:{subscription_id}:{slot.isoformat()}",
            workspace_id=subscription.workspace_id,
        )
        if created:
            log.info("digest %s queued for slot %s", subscription_id, slot)
        return job

    # --- the job ------------------------------------------------------------------------

    def _start_run(
        self, subscription: DigestSubscription, slot: datetime
    ) -> tuple[DigestRun, bool]:
        """The run row of this slot, created with its window; (run, finished already). A
        first digest covers one period."""
        first_since = slot - schedule_of(subscription).period
        return self.store.start_run(row_id(subscription), slot, first_since)

    def _still_open(
        self, subscription: DigestSubscription, before: datetime, exclude: Collection[int]
    ) -> list[OpenItem]:
        """Open items of this channel first reported before `before` (stored items, with
        their identity), oldest first, with the time they were first reported; not those
        the digest reports again itself (`exclude`)."""
        rows = self.store.reported_open_items(
            subscription.workspace_id, subscription.channel_id, before, MAX_STILL_OPEN, exclude
        )
        return [OpenItem(item=as_action_item(row), since=reported) for row, reported in rows]

    async def run(
        self, job: Job, payload: DigestPayload, context: JobContext
    ) -> dict[str, Any] | None:
        subscription = await asyncio.to_thread(self.get, payload.subscription_id)
        if subscription is None or not subscription.active:
            return {"status": "cancelled"}
        slot = payload.slot
        run, finished = await asyncio.to_thread(self._start_run, subscription, slot)
        if finished:
            return {"status": run.status}
        services = self.services
        deliver = services.delivery.deliver
        platform = services.platforms[subscription.platform]
        place = place_of(subscription)
        target = ReplyTarget(place=place)
        gathered = await services.conversations.gather(
            platform, place, run.window_start, run.window_end
        )
        key = f"digest:{subscription.id}:{slot.isoformat()}"
        conversation = to_conversation(gathered)
        if not conversation.messages:
            message_id = None
            if subscription.post_when_quiet:
                text = sentences.DIGEST_QUIET.format(since=_format_slot(run.window_start))
                message_id = await deliver(key, platform, target, TextReply(text=text))
            await asyncio.to_thread(self.store.finish_run, row_id(run), "quiet", message_id)
            DIGESTS.labels("quiet").inc()
            return {"status": "quiet"}
        recap = await services.summarize(conversation)
        # Stored first, so the post carries its items' buttons (a retry posts the same).
        channel = await services.conversations.get_or_create_channel(place)
        row, recap, items = await store_recap(
            services,
            channel,
            recap,
            window_start=run.window_start,
            window_end=run.window_end,
            job_id=job.id,
            now=slot,  # a digest reports as of its slot: items' ages count from it
        )
        shown = {view.id for view in items if view is not None}
        still_open = await asyncio.to_thread(self._still_open, subscription, slot, shown)
        links = await services.conversations.links(platform, place, recap)
        local = run.window_start.astimezone(schedule_of(subscription).trigger().timezone)
        reply = RecapReply(
            recap=recap,
            title=sentences.DIGEST_TITLE.format(channel=place.channel, since=_format_slot(local)),
            links=links,
            still_open=tuple(still_open),
            as_of=slot,
            items=items,
        )
        message_id = await deliver(key, platform, target, reply)
        await remember_post(services, row, target, message_id, reply)
        await asyncio.to_thread(self.store.finish_run, row_id(run), "posted", message_id)
        DIGESTS.labels("posted").inc()
        return {"status": "posted", "message_id": message_id}

    async def on_failure(
        self, job: Job, payload: DigestPayload, reason: str, user_facing: bool
    ) -> None:
        """Tell the channel (the subscription's, also for rows stored without `reply`)."""
        subscription = await asyncio.to_thread(self.get, payload.subscription_id)
        if subscription is None:
            return
        told = Replying(
            platform=subscription.platform, reply=ReplyTarget(place=place_of(subscription))
        )
        await self.services.delivery.tell_failure(job, told, reason, user_facing)


def place_of(subscription: DigestSubscription) -> Place:
    return Place(
        platform=subscription.platform,
        workspace=subscription.workspace_external_id,
        channel=subscription.channel_external_id,
    )
