"""When reminders are due: owner's time zone, DST, quiet hours across midnight, weekends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.features.items.reminder_times import (
    BEFORE,
    OVERDUE,
    QuietHours,
    ReminderPolicy,
    before_at,
    due_dates_in_reach,
    due_moment,
    overdue_at,
    reminder_now,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
NIGHT = QuietHours.parse("20:00-08:00")
DEFAULT = ReminderPolicy(hours_before=24, quiet=NIGHT)


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_quiet_hours_parse_and_wrap_midnight() -> None:
    assert QuietHours(time(20), time(8)) == NIGHT
    assert NIGHT.wraps
    assert NIGHT.contains(at(PARIS, 2026, 12, 7, 23, 30))
    assert NIGHT.contains(at(PARIS, 2026, 12, 8, 0, 10))
    assert NIGHT.contains(at(PARIS, 2026, 12, 8, 7, 59))
    assert not NIGHT.contains(at(PARIS, 2026, 12, 8, 8, 0))
    assert not NIGHT.contains(at(PARIS, 2026, 12, 8, 19, 59))
    # The end of a period that started yesterday evening is this morning, and the reverse.
    assert NIGHT.end_of(at(PARIS, 2026, 12, 7, 22, 0)) == at(PARIS, 2026, 12, 8, 8, 0)
    assert NIGHT.end_of(at(PARIS, 2026, 12, 8, 3, 0)) == at(PARIS, 2026, 12, 8, 8, 0)
    assert NIGHT.start_of(at(PARIS, 2026, 12, 8, 3, 0)) == at(PARIS, 2026, 12, 7, 20, 0)
    day = QuietHours.parse("12:00-14:00")
    assert day is not None and not day.wraps
    assert day.contains(at(PARIS, 2026, 12, 8, 13, 0))
    assert not day.contains(at(PARIS, 2026, 12, 8, 23, 0))


@pytest.mark.parametrize("text", ["20-08", "25:00-08:00", "08:00-08:00", "evening"])
def test_quiet_hours_refuse_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        QuietHours.parse(text)


@pytest.mark.parametrize("text", ["", "off", " OFF "])
def test_quiet_hours_can_be_off(text: str) -> None:
    assert QuietHours.parse(text) is None


def test_due_date_means_the_end_of_the_working_day_in_the_owners_zone() -> None:
    assert due_moment(date(2026, 12, 8), PARIS) == at(PARIS, 2026, 12, 8, 17, 0)
    # The same date is due 6 hours later in New York than in Paris.
    paris = due_moment(date(2026, 12, 8), PARIS).astimezone(UTC)
    new_york = due_moment(date(2026, 12, 8), NEW_YORK).astimezone(UTC)
    assert new_york - paris == timedelta(hours=6)


def test_day_before_at_five() -> None:
    assert before_at(date(2026, 12, 8), PARIS, DEFAULT) == at(PARIS, 2026, 12, 7, 17, 0)


def test_hours_before_landing_in_quiet_hours_moves_to_their_end() -> None:
    twelve = ReminderPolicy(hours_before=12, quiet=NIGHT)  # 05:00: in the night
    assert before_at(date(2026, 12, 8), PARIS, twelve) == at(PARIS, 2026, 12, 8, 8, 0)
    four = ReminderPolicy(hours_before=4, quiet=NIGHT)  # 13:00: fine as it is
    assert before_at(date(2026, 12, 8), PARIS, four) == at(PARIS, 2026, 12, 8, 13, 0)


def test_quiet_end_after_the_due_moment_moves_the_reminder_earlier() -> None:
    afternoon = ReminderPolicy(hours_before=2, quiet=QuietHours(time(14), time(18)))
    # 15:00 is quiet until 18:00, past the 17:00 deadline: it comes at 14:00 instead.
    assert before_at(date(2026, 12, 8), PARIS, afternoon) == at(PARIS, 2026, 12, 8, 14, 0)


def test_hours_before_are_elapsed_hours_across_dst() -> None:
    # Paris leaves summer time on Sunday 25 Oct 2026: 48 elapsed hours before Monday 17:00
    # CET is Saturday 18:00 CEST on the wall clock.
    policy = ReminderPolicy(hours_before=48, quiet=NIGHT)
    reminded = before_at(date(2026, 10, 26), PARIS, policy)
    assert reminded == at(PARIS, 2026, 10, 24, 18, 0)
    assert due_moment(date(2026, 10, 26), PARIS) - reminded == timedelta(hours=47)  # wall
    assert (due_moment(date(2026, 10, 26), PARIS).astimezone(UTC) - reminded.astimezone(UTC)) == (
        timedelta(hours=48)
    )
    # Spring: New York skips 02:00-03:00 on Sunday 8 March 2026; 9:00 is still 9:00.
    assert overdue_at(date(2026, 3, 6), NEW_YORK, DEFAULT) == at(NEW_YORK, 2026, 3, 9, 9, 0)
    assert overdue_at(date(2026, 3, 6), NEW_YORK, DEFAULT).utcoffset() == timedelta(hours=-4)


def test_overdue_on_the_next_working_morning() -> None:
    # Due Tuesday: Wednesday 09:00. Due Friday (late on Friday evening): Monday 09:00.
    assert overdue_at(date(2026, 12, 8), PARIS, DEFAULT) == at(PARIS, 2026, 12, 9, 9, 0)
    assert overdue_at(date(2026, 12, 11), PARIS, DEFAULT) == at(PARIS, 2026, 12, 14, 9, 0)
    assert overdue_at(date(2026, 12, 12), PARIS, DEFAULT) == at(PARIS, 2026, 12, 14, 9, 0)
    late_mornings = ReminderPolicy(hours_before=24, quiet=QuietHours.parse("21:00-10:00"))
    assert overdue_at(date(2026, 12, 8), PARIS, late_mornings) == at(PARIS, 2026, 12, 9, 10, 0)


def test_friday_evening_overdue_waits_for_monday() -> None:
    due = date(2026, 12, 11)  # a Friday
    friday_evening = at(PARIS, 2026, 12, 11, 18, 0)
    saturday = at(PARIS, 2026, 12, 12, 10, 0)
    monday = at(PARIS, 2026, 12, 14, 9, 0)
    assert reminder_now(due, PARIS, friday_evening, DEFAULT) is None
    assert reminder_now(due, PARIS, saturday, DEFAULT) is None
    assert reminder_now(due, PARIS, monday - timedelta(minutes=1), DEFAULT) is None
    assert reminder_now(due, PARIS, monday, DEFAULT) == OVERDUE
    assert reminder_now(due, PARIS, monday + timedelta(hours=5), DEFAULT) == OVERDUE
    # A day later it is no longer news: dropped rather than sent in the middle of the week.
    assert reminder_now(due, PARIS, monday + timedelta(days=1, hours=1), DEFAULT) is None


def test_what_is_due_now_in_each_zone() -> None:
    due = date(2026, 12, 8)
    # 16:30 UTC on Monday: 17:30 in Paris (the day-before reminder is due), 11:30 in New
    # York (not yet: 17:00 there), 01:30 on Tuesday in Tokyo (past 17:00 Monday, but night).
    now = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
    assert reminder_now(due, PARIS, now, DEFAULT) == BEFORE
    assert reminder_now(due, NEW_YORK, now, DEFAULT) is None
    assert reminder_now(due, TOKYO, now, DEFAULT) is None
    # Tokyo's morning: 08:00 there, and still before Tuesday 17:00.
    assert reminder_now(due, TOKYO, at(TOKYO, 2026, 12, 8, 8, 0), DEFAULT) == BEFORE
    # Past the due moment there is nothing "before" to send.
    assert reminder_now(due, PARIS, at(PARIS, 2026, 12, 8, 17, 0), DEFAULT) is None


def test_never_in_the_night_even_when_late() -> None:
    # The scheduler was down at 17:00; at 22:00 it waits for 08:00 (still before 17:00).
    due = date(2026, 12, 8)
    assert reminder_now(due, PARIS, at(PARIS, 2026, 12, 7, 22, 0), DEFAULT) is None
    assert reminder_now(due, PARIS, at(PARIS, 2026, 12, 8, 8, 0), DEFAULT) == BEFORE
    no_quiet = ReminderPolicy(hours_before=24, quiet=None)
    assert reminder_now(due, PARIS, at(PARIS, 2026, 12, 7, 22, 0), no_quiet) == BEFORE


def test_off_means_no_reminder() -> None:
    off = ReminderPolicy(hours_before=0, quiet=NIGHT)
    assert reminder_now(date(2026, 12, 8), PARIS, at(PARIS, 2026, 12, 9, 9, 0), off) is None


@pytest.mark.parametrize("zone", [PARIS, NEW_YORK, TOKYO, ZoneInfo("Pacific/Kiritimati")])
def test_the_reach_covers_every_moment_a_reminder_is_due(zone: ZoneInfo) -> None:
    """Any due date with a reminder due now lies in `due_dates_in_reach(now)`."""
    start = datetime(2026, 12, 1, tzinfo=UTC)
    policy = ReminderPolicy(hours_before=30, quiet=NIGHT)
    for step in range(0, 14 * 24 * 4):
        now = start + timedelta(minutes=15 * step)
        low, high = due_dates_in_reach(now, policy)
        for offset in range(-12, 12):
            due = now.date() + timedelta(days=offset)
            if reminder_now(due, zone, now, policy) is not None:
                assert low <= due <= high, (now, due)
