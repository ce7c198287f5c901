"""Scheduled digests: local times across DST, exactly-once posting, catch-up, leadership."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import Session, select

from bot import sentences as messages
from bot.features.digests.schedule import latest_slot, next_slot, parse_schedule
from bot.features.items.service import apply_change, drain
from bot.inbound import CommandRequest
from bot.ports import ChatMessage, Place, RecapReply
from bot.scheduler import DigestScheduler
from bot.storage.models import DigestRun, Job
from tests.memory_platform import memory_bot

PARIS = ZoneInfo("Europe/Paris")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def bot(engine):
    clock = Clock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    core, worker, platform = memory_bot(engine, clock=clock)
    service = core.services.digests
    return core, service, worker, platform, clock


async def _say(core, platform, channel, id_, author, text, at) -> None:
    message = ChatMessage(id=id_, author_id=f"U-{author}", author_name=author, text=text, at=at)
    platform.add(channel, message)
    place = Place(platform="memory", workspace="T1", channel=channel)
    await core.record_message(place, message)


async def _command(core, text, key, channel="C1"):
    request = CommandRequest(
        place=Place(platform="memory", workspace="T1", channel=channel),
        user_id="U-Ann",
        text=text,
        event_key=key,
        timezone="Europe/Paris",
    )
    return await core.handle_command(request)


def _digests(platform) -> list[RecapReply]:
    return [p.reply for p in platform.posts.values() if isinstance(p.reply, RecapReply)]


# --- schedules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected_utc"),
    [
        # Summer time (UTC+2) until 25 Oct 2026 03:00, then winter time (UTC+1).
        (datetime(2026, 10, 24, 12, 0, tzinfo=UTC), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
        (datetime(2026, 10, 23, 12, 0, tzinfo=UTC), datetime(2026, 10, 24, 7, 0, tzinfo=UTC)),
        # Back to summer time on 29 Mar 2027.
        (datetime(2027, 3, 27, 12, 0, tzinfo=UTC), datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),
    ],
)
def test_nine_oclock_stays_nine_oclock_across_dst(after, expected_utc) -> None:
    schedule = parse_schedule(["daily", "09:00", "Europe/Paris"], "UTC")
    slot = next_slot(schedule, after)
    assert slot.astimezone(UTC) == expected_utc
    assert slot.astimezone(PARIS).hour == 9
    assert latest_slot(schedule, slot + timedelta(hours=3)) == slot


def test_weekdays_and_weekly_slots() -> None:
    weekdays = parse_schedule(["weekdays", "17:30"], "UTC")
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert next_slot(weekdays, friday_evening) == datetime(2026, 11, 30, 17, 30, tzinfo=UTC)
    weekly = parse_schedule(["weekly", "mon", "9am"], "UTC")
    assert latest_slot(weekly, friday_evening) == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


# --- commands ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_subscribe_status_and_off(bot) -> None:
    core, service, _, _, _ = bot
    on = await _command(core, "digest weekdays 17:30", "e1")
    assert "every weekday at 17:30 (Europe/Paris)" in on.reply.text
    assert "Mon 23 Nov, 17:30" in on.reply.text
    status = await _command(core, "digest status", "e2")
    assert "every weekday at 17:30" in status.reply.text
    assert (await _command(core, "digest status", "e2")).duplicate
    assert (await _command(core, "digest off", "e3")).reply.text == messages.DIGEST_OFF
    assert (await _command(core, "digest status", "e4")).reply.text == messages.DIGEST_NONE
    assert service.active_subscriptions() == []
    bad = await _command(core, "digest hourly", "e5")
    assert "digest daily 09:00" in bad.reply.text


# --- running -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_digest_covers_since_the_previous_one_and_carries_open_items(bot) -> None:
    core, service, worker, platform, clock = bot
    await _command(core, "digest daily 09:00", "e1")  # Europe/Paris: 08:00 UTC in November
    [subscription] = service.active_subscriptions()
    day1 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    await _say(
        core,
        platform,
        "C1",
        "m1",
        "Ann",
        "I'll draft the budget by Friday.",
        day1 - timedelta(hours=3),
    )
    await _say(
        core,
        platform,
        "C1",
        "m0",
        "Bob",
        "Old news from last week about hiring.",
        day1 - timedelta(days=3),
    )
    await _say(
        core,
        platform,
        "C-private",
        "p1",
        "Zed",
        "Secret: the layoffs list is final.",
        day1 - timedelta(hours=1),
    )

    clock.now = day1 + timedelta(minutes=1)
    assert service.fire(subscription.id) is not None
    assert service.fire(subscription.id) is not None  # same slot again: same job
    assert await worker.drain() == 1
    [first] = _digests(platform)
    dumped = first.recap.model_dump_json()
    assert "budget" in dumped and "hiring" not in dumped and "layoffs" not in dumped
    assert [a.task for a in first.recap.action_items] == ["Draft the budget"]
    assert first.still_open == ()

    # Next day: only the new messages, and yesterday's item as still open, one day old.
    day2 = day1 + timedelta(days=1)
    await _say(
        core,
        platform,
        "C1",
        "m2",
        "Bob",
        "I'll book the venue for the offsite.",
        day2 - timedelta(hours=2),
    )
    clock.now = day2 + timedelta(minutes=5)
    service.fire(subscription.id)
    await worker.drain()
    second = _digests(platform)[1]
    assert [a.task for a in second.recap.action_items] == ["Book the venue for the offsite"]
    assert "budget" not in second.recap.summary
    [carried] = second.still_open
    assert carried.item.task == "Draft the budget" and carried.item.owner == "Ann"
    assert carried.age_days(second.as_of) == 1
    assert all(p.target.place.channel == "C1" for p in platform.posts.values())
    # Both digests carry their stored items; done is done in the post that showed it, and
    # no longer carried by the next digest.
    [first_view], [second_view] = first.items, second.items
    assert first_view.id != second_view.id
    await apply_change(core.services, first_view.id, actor="U-Ann", status="done")
    await drain()
    first_post = next(p for p in platform.posts.values() if p.reply is first)
    assert first_post.last.items[0].status == "done" and first_post.last.title == first.title
    day3 = day2 + timedelta(days=1)
    await _say(
        core,
        platform,
        "C1",
        "m3",
        "Bob",
        "I'll call the caterer tomorrow.",
        day3 - timedelta(hours=1),
    )
    clock.now = day3 + timedelta(minutes=5)
    service.fire(subscription.id)
    await worker.drain()
    third = _digests(platform)[2]
    assert [o.item.task for o in third.still_open] == ["Book the venue for the offsite"]


@pytest.mark.anyio
async def test_quiet_channel_gets_no_post(bot) -> None:
    core, service, worker, platform, clock = bot
    await _command(core, "digest daily 09:00", "e1")
    [subscription] = service.active_subscriptions()
    clock.now = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)
    service.fire(subscription.id)
    await worker.drain()
    assert platform.posts == {}
    with Session(core.services.repo.engine) as session:
        [run] = session.exec(select(DigestRun)).all()
    assert run.status == "quiet"


@pytest.mark.anyio
async def test_restart_mid_run_posts_once(bot) -> None:
    core, service, worker, platform, clock = bot
    await _command(core, "digest daily 09:00", "e1")
    [subscription] = service.active_subscriptions()
    await _say(
        core,
        platform,
        "C1",
        "m1",
        "Ann",
        "I'll renew the certificates today.",
        datetime(2026, 11, 23, 7, tzinfo=UTC),
    )
    clock.now = datetime(2026, 11, 23, 8, 1, tzinfo=UTC)
    job = service.fire(subscription.id)
    await worker.drain()
    assert len(_digests(platform)) == 1
    # The process died after posting but before the job was marked done: it runs again.
    with Session(core.services.repo.engine) as session:
        row = session.get(Job, job.id)
        row.status, row.run_after = "queued", clock.now - timedelta(seconds=1)
        run = session.exec(select(DigestRun)).one()
        run.status = "running"
        session.add_all([row, run])
        session.commit()
    assert await worker.drain() == 1
    assert len(_digests(platform)) == 1
    with Session(core.services.repo.engine) as session:
        assert session.exec(select(DigestRun)).one().status == "posted"


@pytest.mark.anyio
async def test_off_stops_queued_digests(bot) -> None:
    core, service, worker, platform, clock = bot
    await _command(core, "digest daily 09:00", "e1")
    [subscription] = service.active_subscriptions()
    await _say(
        core,
        platform,
        "C1",
        "m1",
        "Ann",
        "I'll renew the certificates today.",
        datetime(2026, 11, 23, 7, tzinfo=UTC),
    )
    clock.now = datetime(2026, 11, 23, 8, 1, tzinfo=UTC)
    service.fire(subscription.id)
    await _command(core, "digest off", "e2")
    await worker.drain()
    assert _digests(platform) == []
    assert service.fire(subscription.id) is None


# --- the real scheduler ------------------------------------------------------------------


async def _wait_for_jobs(engine, count: int, timeout: float = 10.0) -> list[Job]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with Session(engine) as session:
            jobs = session.exec(select(Job).where(Job.kind == "digest")).all()
        if len(jobs) >= count or asyncio.get_running_loop().time() > deadline:
            return list(jobs)
        await asyncio.sleep(0.1)


@pytest.mark.anyio
async def test_scheduler_fires_at_local_time_after_dst_change(bot) -> None:
    core, service, _, _, clock = bot
    await _command(core, "digest daily 09:00", "e1")
    # 25 Oct 2026, the day clocks go back: 09:00 in Paris is 08:00 UTC.
    with time_machine.travel(datetime(2026, 10, 25, 7, 59, 58, tzinfo=UTC), tick=True):
        clock.now = datetime(2026, 10, 25, 8, 0, 30, tzinfo=UTC)

        async def scenario() -> list[Job]:
            scheduler = DigestScheduler(service, holder="a")
            await scheduler.start()
            assert scheduler.leader
            await asyncio.sleep(3.5)
            await scheduler.stop()
            with Session(core.services.repo.engine) as session:
                return list(session.exec(select(Job).where(Job.kind == "digest")).all())

        jobs = await scenario()
    assert [j.payload["slot"] for j in jobs] == ["2026-10-25T09:00:00+01:00"]


@pytest.mark.anyio
async def test_missed_days_give_one_catch_up_and_two_schedulers_one_job(bot) -> None:
    core, service, _, _, clock = bot
    await _command(core, "digest daily 09:00", "e1")

    async def run_for(seconds: float, *holders: str) -> list[bool]:
        schedulers = [DigestScheduler(service, holder=h, grace_seconds=3600) for h in holders]
        for scheduler in schedulers:
            await scheduler.start()
        leaders = [s.leader for s in schedulers]
        await asyncio.sleep(seconds)
        for scheduler in schedulers:
            await scheduler.stop()
        return leaders

    with time_machine.travel(datetime(2026, 11, 23, 7, 0, tzinfo=UTC), tick=True):
        assert await run_for(0.2, "a") == [True]  # schedules Mon 09:00 Paris
    # Down from Monday 08:00 to Wednesday 09:30 Paris time: three slots missed.
    with time_machine.travel(datetime(2026, 11, 25, 8, 30, tzinfo=UTC), tick=True):
        clock.now = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
        leaders = await run_for(1.5, "b", "c")
        assert sorted(leaders) == [False, True]  # one leader among two schedulers
        jobs = await _wait_for_jobs(core.services.repo.engine, 1, timeout=2)
    assert [j.payload["slot"] for j in jobs] == ["2026-11-25T09:00:00+01:00"]


@pytest.mark.anyio
async def test_slash_style_recap_digest_is_a_digest_command(bot) -> None:
    core, service, _, _, _ = bot
    reply = (await _command(core, "recap digest weekly mon 09:00", "e1")).reply
    assert "every Mon at 09:00 (Europe/Paris)" in reply.text
    assert [s.cadence for s in service.active_subscriptions()] == ["weekly"]
