"""Reminders of open action items, privately to their owner (issue #16).

A pass (every few minutes, run by the scheduler's leader) reads the open items with an
owner whose due date is in reach, decides in each owner's time zone which reminder is due
now (bot/features/items/reminder_times.py), and sends it. Each reminder is sent once:
its `item_reminders` row is claimed ("sending") before the post, the post goes through
`Delivery` under a key of the item, kind and due date (Slack marks the message with it, so
a claim left "sending" by a crash is taken again after STALE and finds the post instead of
repeating it), and the row becomes "sent" after. Done and dismissed items are never read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import sentences
from bot.errors import PermanentJobError
from bot.features.items.reminder_times import (
    BEFORE,
    OVERDUE,
    ReminderPolicy,
    due_dates_in_reach,
    reminder_now,
)
from bot.ports import (
    ChatPlatform,
    ItemListReply,
    ItemView,
    Place,
    PrivateConversations,
    PrivateMessaging,
)
from bot.storage.reminders import FAILED, SENT, UNREACHABLE, OpenItemDue, ReminderStore
from summarizer.types import ActionItem

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

INTERVAL_MINUTES = 5  # how often the scheduler runs a pass
# A pass claims no more reminders after this long (those left wait for the next pass,
# decided again at its time: never a reminder decided long before it is sent) ...
PASS_LIMIT = timedelta(minutes=10)
# ... and a claim, dated when it is taken, is taken again only when this much older: well
# above the longest pass (PASS_LIMIT and the sends in flight then), so a claim being sent
# is never taken by a second pass or a new leader (on Teams that would post it twice).
STALE = timedelta(minutes=30)
AT_ONCE = 4  # reminders posted concurrently by one pass


def delivery_key(item_id: int, kind: str, due: date) -> str:
    return f"reminder:{item_id}:{kind}:{due.isoformat()}"


def _day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b}"


def reminder_reply(item: OpenItemDue, kind: str, view: ItemView | None = None) -> ItemListReply:
    """The reminder: a one-item list (its buttons as `view` says, where the platform has
    them), saying the task, its channel, its due date and how to close it."""
    title = sentences.REMINDER_BEFORE if kind == BEFORE else sentences.REMINDER_OVERDUE
    channel = f"#{item.channel_name}" if item.channel_name else f"<#{item.channel}>"
    heading = sentences.REMINDER_CLOSE.format(close=f"`@balafon done {item.id}`")
    action = ActionItem(
        task=item.task,
        owner=item.owner_name,
        owner_id=item.owner_id,
        due=item.due,
        ref=item.source_ref,
        confidence=item.confidence,
    )
    view = replace(
        view or ItemView(id=item.id, owner_id=item.owner_id, owner_name=item.owner_name),
        channel=item.channel,
    )
    title = title.format(channel=channel, due=_day(item.due))
    return ItemListReply(title=title, groups=((heading, ((action, view),)),))


class ReminderService:
    def __init__(self, services: Services, *, policy: ReminderPolicy) -> None:
        self.services = services
        self.policy = policy
        self.store = ReminderStore(services.repo.engine)
        services.reminders = self

    @property
    def enabled(self) -> bool:
        return self.policy.enabled

    async def run_pass(self, now: datetime | None = None) -> dict[str, int]:
        """Send every reminder due at `now` that was not sent; counts by outcome."""
        now = now or self.services.clock()
        clock = _PassClock(self.services, now)
        counts: Counter[str] = Counter()
        if not self.enabled:
            return dict(counts)
        low, high = due_dates_in_reach(now, self.policy)
        items = await asyncio.to_thread(self.store.open_items_due, low, high)
        waiting: list[tuple[OpenItemDue, ChatPlatform]] = []
        for item in items:
            platform = self.services.platforms.get(item.platform)
            if not isinstance(platform, PrivateConversations):
                counts["no private messages"] += 1
            elif not (item.reminded(BEFORE, now, STALE) and item.reminded(OVERDUE, now, STALE)):
                waiting.append((item, platform))
        gate = asyncio.Semaphore(AT_ONCE)
        zones = await self._zones(gate, waiting)
        sending: list[asyncio.Task[str]] = []
        for item, platform in waiting:
            zone = zones[(item.platform, item.workspace, item.owner_id)]
            kind = reminder_now(item.due, zone, now, self.policy)
            if kind is None or item.reminded(kind, now, STALE):
                continue
            task = self._guarded(gate, platform, item, kind, clock)
            sending.append(asyncio.create_task(task))
        for outcome in await asyncio.gather(*sending):
            counts[outcome] += 1
        if sending:
            log.info("reminder pass: %s", dict(counts))
        return dict(counts)

    async def _zones(
        self, gate: asyncio.Semaphore, waiting: list[tuple[OpenItemDue, ChatPlatform]]
    ) -> dict[tuple[str, str, str], ZoneInfo]:
        """Each owner's time zone as the platform says (asked once per pass, a few at a
        time), else DEFAULT_TIMEZONE."""
        default = _zone_named(self.services.limits.default_timezone) or ZoneInfo("UTC")
        owners = {(i.platform, i.workspace, i.owner_id): p for i, p in waiting}

        async def ask(key: tuple[str, str, str], platform: ChatPlatform) -> ZoneInfo:
            if not isinstance(platform, PrivateMessaging):
                return default
            async with gate:
                try:
                    return _zone_named(await platform.user_timezone(key[1], key[2])) or default
                except Exception:  # the reminder still goes, in the default zone
                    log.warning("no time zone for %s", key[2], exc_info=True)
                    return default

        found = await asyncio.gather(*(ask(key, p) for key, p in owners.items()))
        return dict(zip(owners, found, strict=True))

    async def _guarded(
        self,
        gate: asyncio.Semaphore,
        platform: ChatPlatform,
        item: OpenItemDue,
        kind: str,
        clock: _PassClock,
    ) -> str:
        async with gate:
            if clock.elapsed() > PASS_LIMIT:
                return "left for the next pass"  # not claimed
            try:
                return await self.send(platform, item, kind, clock)
            except Exception:  # left "sending": taken again after STALE, within its window
                log.exception("reminder %s of item %s failed", kind, item.id)
                return "error"

    async def send(
        self, platform: ChatPlatform, item: OpenItemDue, kind: str, clock: Callable[[], datetime]
    ) -> str:
        """Claim, post and record one reminder; what happened. The claim is dated by
        `clock` when it is taken (not when the pass began: a long pass would leave fresh
        claims that look stale to the next one)."""
        assert isinstance(platform, PrivateConversations)
        store, items = self.store, self.services.repo.items
        row = await asyncio.to_thread(items.get, item.id)
        if row is None or row.status != "open" or row.due != item.due:
            return "closed"  # since the pass read it
        claimed = await asyncio.to_thread(store.claim, item.id, kind, item.due, clock(), STALE)
        if not claimed:
            return "taken"
        near = Place(
            platform=item.platform,
            workspace=item.workspace,
            channel=item.channel,
            thread=item.thread,
        )
        target = await platform.private_target(item.workspace, item.owner_id, near)
        if target is None:
            await asyncio.to_thread(store.finish, item.id, kind, item.due, UNREACHABLE)
            return UNREACHABLE
        key = delivery_key(item.id, kind, item.due)
        reply = reminder_reply(item, kind, await asyncio.to_thread(items.view, row))
        try:
            await self.services.delivery.deliver(key, platform, target, reply)
        except PermanentJobError as exc:
            log.warning("reminder %s of item %s refused: %s", kind, item.id, exc)
            await asyncio.to_thread(store.finish, item.id, kind, item.due, FAILED)
            return FAILED
        await asyncio.to_thread(store.finish, item.id, kind, item.due, SENT)
        return SENT


class _PassClock:
    """The time as a pass sees it: the time it runs for (`run_pass(now)`, by default the
    bot's clock then), moved on as the bot's clock moves while it runs."""

    def __init__(self, services: Services, now: datetime) -> None:
        self.services, self.now = services, now
        self.started = services.clock()

    def elapsed(self) -> timedelta:
        return self.services.clock() - self.started

    def __call__(self) -> datetime:
        return self.now + self.elapsed()


def _zone_named(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
