"""The reminder pass on SQLite and PostgreSQL: who is reminded, when, and exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from bot import sentences
from bot.features.items.reminder_times import QuietHours, ReminderPolicy
from bot.features.items.reminders import PASS_LIMIT, STALE, ReminderService, delivery_key
from bot.ports import ItemListReply, Place, ReplyTarget
from bot.scheduler import REMINDERS_JOB, DigestScheduler, remind
from bot.storage.models import ItemReminder
from tests.memory_platform import MemoryPlatform, memory_bot
from tests.reminders import add_item, history, reminders, set_item

pytestmark = pytest.mark.anyio

TUESDAY = date(2026, 12, 8)
FRIDAY = date(2026, 12, 11)
# Monday 7 Dec, 17:30 in Paris: the day-before reminder of Tuesday's items is due there.
MONDAY_EVENING = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)


class PrivateMemory(MemoryPlatform):
    """The memory platform with direct messages: each person's is `D-<user>`."""

    def __init__(self) -> None:
        super().__init__()
        self.zones: dict[str, str] = {}
        self.unreachable: set[str] = set()
        self.opened: list[str] = []

    async def private_target(
        self, workspace: str, user_id: str, near: Place | None = None
    ) -> ReplyTarget | None:
        self.opened.append(user_id)
        if user_id in self.unreachable:
            return None
        return ReplyTarget(
            place=Place(platform=self.name, workspace=workspace, channel=f"D-{user_id}")
        )

    async def post_private(self, workspace: str, user_id: str, reply) -> str | None:
        target = await self.private_target(workspace, user_id)
        return None if target is None else await self.post(target, reply)

    async def user_timezone(self, workspace: str, user_id: str) -> str | None:
        return self.zones.get(user_id)

    def dms(self, user_id: str) -> list[ItemListReply]:
        return [p.reply for p in self.posts.values() if p.target.place.channel == f"D-{user_id}"]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def bot(engine):
    clock = Clock(MONDAY_EVENING)
    platform = PrivateMemory()
    platform.zones.update(ann="Europe/Paris", kofi="Asia/Tokyo", bea="America/New_York")
    core, _, _ = memory_bot(engine, clock=clock, platform=platform)
    service = core.services.reminders
    assert isinstance(service, ReminderService)
    return engine, service, platform, clock


def item(engine, task: str, owner: str | None, due: date | None, **fields) -> int:
    return add_item(
        engine,
        platform="memory",
        workspace="T1",
        channel="C1",
        channel_name="launch",
        task=task,
        owner_id=owner,
        due=due,
        **fields,
    )


async def test_the_owner_of_an_open_item_is_reminded_once(bot) -> None:
    engine, service, platform, clock = bot
    due = item(engine, "Send the deck to legal", "ann", TUESDAY)
    done = item(engine, "Book the room", "ann", TUESDAY, status="done")
    dismissed = item(engine, "Order pizza", "ann", TUESDAY, status="dismissed")
    item(engine, "Nobody's", None, TUESDAY)
    later = item(engine, "Write the blog post", "ann", TUESDAY + timedelta(days=5))

    assert await service.run_pass() == {"sent": 1}
    [reply] = platform.dms("ann")
    assert reply.title == sentences.REMINDER_BEFORE.format(channel="#launch", due="Tue 8 Dec")
    [(heading, [(action, view)])] = reply.groups
    assert action.task == "Send the deck to legal" and action.due == TUESDAY
    assert view.id == due and view.status == "open" and view.channel == "C1"
    assert view.version  # as the items store says it: its buttons are not stale
    assert f"`@balafon done {due}`" in heading
    assert reminders(engine) == {(due, "before"): (TUESDAY, "sent")}
    assert history(engine, due) == [("reminder", "before")]
    # Later passes, and a restart (a new service on the same database), send nothing more.
    clock.now += timedelta(minutes=5)
    assert await service.run_pass() == {}
    assert await ReminderService(service.services, policy=service.policy).run_pass() == {}
    assert len(platform.posts) == 1
    assert not {done, dismissed, later} & {item_id for item_id, _ in reminders(engine)}


async def test_two_passes_racing_send_each_reminder_once(bot) -> None:
    engine, service, platform, _ = bot
    ids = [item(engine, f"Task {n}", "ann", TUESDAY) for n in range(12)]
    other = ReminderService(service.services, policy=service.policy)  # another process
    first, second = await asyncio.gather(service.run_pass(), other.run_pass())
    assert first.get("sent", 0) + second.get("sent", 0) == 12
    assert len(platform.dms("ann")) == 12
    reminded = sorted(p.reply.groups[0][1][0][1].id for p in platform.posts.values())
    assert reminded == ids


async def test_a_crash_after_sending_is_finished_later_without_a_second_post(bot) -> None:
    engine, service, platform, clock = bot
    posted = item(engine, "Posted, then the process died", "ann", TUESDAY)
    claimed = item(engine, "Claimed, then the process died", "ann", TUESDAY)
    # Process 1 claimed both; it posted the first (its delivery recorded), then died.
    for item_id in (posted, claimed):
        with Session(engine) as session:
            session.add(
                ItemReminder(item_id=item_id, kind="before", due=TUESDAY, created_at=clock.now)
            )
            session.commit()
    key = delivery_key(posted, "before", TUESDAY)
    service.services.repo.record_delivery(key, "memory", "D-ann", "bot-earlier")

    # Still within STALE: the claims may be in flight elsewhere, so nothing is sent.
    assert await service.run_pass() == {}
    clock.now += STALE + timedelta(minutes=1)
    assert await service.run_pass() == {"sent": 2}
    assert [r.groups[0][1][0][1].id for r in platform.dms("ann")] == [claimed]  # one post
    assert reminders(engine) == {
        (posted, "before"): (TUESDAY, "sent"),
        (claimed, "before"): (TUESDAY, "sent"),
    }


async def test_a_long_pass_dates_its_claims_when_taken_so_a_new_leader_does_not_resend(
    bot, monkeypatch
) -> None:
    """Review finding 12: a pass whose time-zone lookups took minutes claims at the
    clock's time then, not the pass's start; a post still in flight when the next leader's
    pass runs (past STALE after that start) is not taken and sent a second time."""
    engine, service, platform, clock = bot
    item(engine, "Renew the domain", "ann", TUESDAY)
    slow, posting, release = [True], asyncio.Event(), asyncio.Event()
    asked, posted = platform.user_timezone, platform.post

    async def slow_lookup(workspace: str, user_id: str) -> str | None:
        if slow and slow.pop():
            clock.now += timedelta(minutes=9)  # many owners, a slow platform
        return await asked(workspace, user_id)

    async def slow_post(target: ReplyTarget, reply) -> str:
        posting.set()
        await release.wait()
        return await posted(target, reply)

    monkeypatch.setattr(platform, "user_timezone", slow_lookup)
    monkeypatch.setattr(platform, "post", slow_post)
    first = asyncio.create_task(service.run_pass())  # the leader, at MONDAY_EVENING
    await posting.wait()
    [(claimed_at,)] = _claim_times(engine)
    assert claimed_at == MONDAY_EVENING + timedelta(minutes=9)
    # The lease moved to another process while the post hangs, past STALE after the start.
    clock.now = MONDAY_EVENING + STALE + timedelta(minutes=1)
    assert await ReminderService(service.services, policy=service.policy).run_pass() == {}
    release.set()
    assert await first == {"sent": 1}
    assert len(platform.dms("ann")) == 1


async def test_a_pass_claims_nothing_once_it_ran_too_long(bot, monkeypatch) -> None:
    """What is left after PASS_LIMIT waits for the next pass, decided again then."""
    engine, service, platform, clock = bot
    item(engine, "Renew the domain", "ann", TUESDAY)
    asked = platform.user_timezone

    async def very_slow_lookup(workspace: str, user_id: str) -> str | None:
        clock.now += PASS_LIMIT + timedelta(seconds=1)
        return await asked(workspace, user_id)

    with monkeypatch.context() as patch:
        patch.setattr(platform, "user_timezone", very_slow_lookup)
        assert await service.run_pass() == {"left for the next pass": 1}
    assert reminders(engine) == {} and platform.posts == {}
    assert await service.run_pass() == {"sent": 1}


def _claim_times(engine) -> list[tuple[datetime]]:
    from sqlmodel import select

    with Session(engine) as session:
        return [(row.created_at,) for row in session.exec(select(ItemReminder)).all()]


async def test_a_new_due_date_is_reminded_again(bot) -> None:
    engine, service, platform, clock = bot
    moved = item(engine, "Ship the beta", "ann", TUESDAY)
    assert await service.run_pass() == {"sent": 1}
    set_item(engine, moved, due=date(2026, 12, 9))  # Wednesday now
    assert await service.run_pass() == {}  # the day before Wednesday is tomorrow
    clock.now += timedelta(days=1)
    assert await service.run_pass() == {"sent": 1}
    assert [r.groups[0][1][0][0].due for r in platform.dms("ann")] == [TUESDAY, date(2026, 12, 9)]
    assert reminders(engine) == {(moved, "before"): (date(2026, 12, 9), "sent")}


async def test_an_item_closed_before_its_reminder_is_not_reminded(bot) -> None:
    engine, service, platform, _ = bot
    closing = item(engine, "Fix the build", "ann", TUESDAY)
    set_item(engine, closing, status="done")
    assert await service.run_pass() == {}
    assert platform.posts == {}


async def test_quiet_hours_in_the_owners_zone(bot) -> None:
    engine, service, platform, clock = bot
    tokyo = item(engine, "Call the supplier", "kofi", TUESDAY)
    # 16:30 UTC is 01:30 in Tokyo: past Monday 17:00 there, but night.
    assert await service.run_pass() == {}
    clock.now = datetime(2026, 12, 7, 22, 59, tzinfo=UTC)  # 07:59 in Tokyo
    assert await service.run_pass() == {}
    clock.now = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo
    assert await service.run_pass() == {"sent": 1}
    assert reminders(engine) == {(tokyo, "before"): (TUESDAY, "sent")}
    assert len(platform.dms("kofi")) == 1


async def test_unknown_zone_uses_the_default_and_unreachable_owner_is_not_retried(bot) -> None:
    engine, service, platform, clock = bot
    nobody = item(engine, "Someone we cannot write to", "zed", TUESDAY)
    platform.unreachable.add("zed")
    # No zone for zed: DEFAULT_TIMEZONE (UTC), where Monday 17:00 has passed at 17:30 UTC.
    clock.now = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)
    assert await service.run_pass() == {"unreachable": 1}
    assert await service.run_pass() == {}
    assert reminders(engine) == {(nobody, "before"): (TUESDAY, "unreachable")}
    assert platform.opened == ["zed"]


async def test_overdue_on_friday_evening_is_reminded_on_monday_morning(bot) -> None:
    engine, service, platform, clock = bot
    late = item(engine, "Sign the contract", "bea", FRIDAY)
    clock.now = datetime(2026, 12, 10, 22, 0, tzinfo=UTC)  # Thu 17:00 in New York
    assert await service.run_pass() == {"sent": 1}  # the day before
    for moment in (
        datetime(2026, 12, 11, 23, 0, tzinfo=UTC),  # Friday 18:00: overdue, evening
        datetime(2026, 12, 12, 15, 0, tzinfo=UTC),  # Saturday 10:00
        datetime(2026, 12, 14, 13, 59, tzinfo=UTC),  # Monday 08:59
    ):
        clock.now = moment
        assert await service.run_pass() == {}
    clock.now = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
    assert await service.run_pass() == {"sent": 1}
    overdue = platform.dms("bea")[-1]
    assert overdue.title == sentences.REMINDER_OVERDUE.format(channel="#launch", due="Fri 11 Dec")
    assert reminders(engine)[(late, "overdue")] == (FRIDAY, "sent")
    assert history(engine, late) == [("reminder", "before"), ("reminder", "overdue")]
    clock.now += timedelta(hours=3)
    assert await service.run_pass() == {}


async def test_reminders_off(bot) -> None:
    engine, service, platform, _ = bot
    item(engine, "Anything", "ann", TUESDAY)
    off = ReminderService(service.services, policy=ReminderPolicy(hours_before=0))
    assert await off.run_pass() == {}
    assert platform.posts == {}


async def test_the_default_policy_comes_from_settings(engine) -> None:
    from bot.main import Settings, build_services

    settings = Settings(_env_file=None, reminder_hours_before=6, quiet_hours="21:30-07:00")
    services = build_services(settings, engine=engine, work_dir=None)
    assert services.reminders is not None
    assert services.reminders.policy == ReminderPolicy(
        hours_before=6, quiet=QuietHours.parse("21:30-07:00")
    )
    with pytest.raises(ValueError):
        Settings(_env_file=None, quiet_hours="late")


async def test_the_scheduler_leader_runs_the_pass_every_five_minutes(bot) -> None:
    engine, service, platform, _ = bot
    item(engine, "Ship the beta", "ann", TUESDAY)
    digests = service.services.digests
    leader = DigestScheduler(digests, holder="one")
    follower = DigestScheduler(digests, holder="two", service_key="follower")
    await leader.start()
    await follower.start()
    try:
        assert leader.leader and not follower.leader
        assert leader.scheduler is not None
        job = leader.scheduler.get_job(REMINDERS_JOB)
        assert job is not None and job.trigger.interval == timedelta(minutes=5)
        await remind()  # what the job runs
        await remind("follower")  # a pass elsewhere at the same time sends nothing more
        assert len(platform.dms("ann")) == 1
    finally:
        await follower.stop()
        await leader.stop()
