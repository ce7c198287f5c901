"""When an item's reminders are due, in its owner's time zone (pure: no clock, no I/O).

A due date is a date; its moment is the end of that working day, DUE_TIME (17:00), in the
owner's zone. The "before" reminder comes REMINDER_HOURS_BEFORE hours (elapsed hours, so
24 h across a DST change is 23 or 25 on the wall clock) before that moment; the "overdue"
one at OVERDUE_TIME (09:00) on the first working day (Mon-Fri) after the due date. Neither
is sent in the owner's quiet hours: one that falls in them moves to their end (a "before"
reminder whose move would pass the due moment moves to their start instead, so it still
comes before). A reminder missed by a scheduler that was down is sent late, within its
window: "before" until the due moment, "overdue" for OVERDUE_WINDOW after its time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BEFORE, OVERDUE = "before", "overdue"
DUE_TIME = time(17, 0)
OVERDUE_TIME = time(9, 0)
# An overdue reminder not sent within this of its time is dropped: after long downtime, or
# for items long overdue when reminders are switched on (nobody wants a dozen at once).
OVERDUE_WINDOW = timedelta(days=1)
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def local_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at wall-clock `at` in `zone` (a time skipped by DST lands after the gap)."""
    moment = datetime.combine(day, at, tzinfo=zone)
    return moment.astimezone(UTC).astimezone(zone)  # normalises a time in a DST gap


@dataclass(frozen=True)
class QuietHours:
    """A nightly window (may wrap midnight: 20:00-08:00) in which nobody is written to."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`HH:MM-HH:MM`; empty or `off`: none. ValueError when malformed."""
        if not text.strip() or text.strip().lower() in {"off", "none"}:
            return None
        match = _CLOCK.match(text)
        if match is None:
            raise ValueError(f"quiet hours must look like 20:00-08:00, not {text!r}")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"{text!r} is not a time range of the day")
        start, end = time(h1, m1), time(h2, m2)
        if start == end:
            raise ValueError("quiet hours must not start and end at the same time")
        return cls(start, end)

    @property
    def wraps(self) -> bool:
        return self.start > self.end

    def contains(self, local: datetime) -> bool:
        now = local.time()
        if self.wraps:
            return now >= self.start or now < self.end
        return self.start <= now < self.end

    def end_of(self, local: datetime) -> datetime:
        """The end of the quiet period that `local` is in."""
        day = (
            local.date() + timedelta(days=1)
            if self.wraps and local.time() >= self.start
            else local.date()
        )
        return local_at(day, self.end, _zone(local))

    def start_of(self, local: datetime) -> datetime:
        """The start of the quiet period that `local` is in."""
        day = (
            local.date() - timedelta(days=1)
            if self.wraps and local.time() < self.end
            else local.date()
        )
        return local_at(day, self.start, _zone(local))

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _zone(local: datetime) -> ZoneInfo:
    zone = local.tzinfo
    assert isinstance(zone, ZoneInfo), "local times carry their ZoneInfo"
    return zone


@dataclass(frozen=True)
class ReminderPolicy:
    hours_before: float = 24.0  # 0: reminders are off
    quiet: QuietHours | None = None

    @property
    def enabled(self) -> bool:
        return self.hours_before > 0


def due_moment(due: date, zone: ZoneInfo) -> datetime:
    """The moment an item due on `due` becomes late: the end of that working day."""
    return local_at(due, DUE_TIME, zone)


def before_at(due: date, zone: ZoneInfo, policy: ReminderPolicy) -> datetime:
    """When the "before" reminder is meant to arrive, out of quiet hours."""
    deadline = due_moment(due, zone)
    planned = (deadline.astimezone(UTC) - timedelta(hours=policy.hours_before)).astimezone(zone)
    quiet = policy.quiet
    if quiet is None or not quiet.contains(planned):
        return planned
    after = quiet.end_of(planned)
    return after if after < deadline else quiet.start_of(planned)


def overdue_at(due: date, zone: ZoneInfo, policy: ReminderPolicy) -> datetime:
    """09:00 on the first working day after `due` (a Friday's item: Monday), out of quiet
    hours."""
    day = due + timedelta(days=1)
    while day.weekday() >= 5:  # Saturday, Sunday
        day += timedelta(days=1)
    planned = local_at(day, OVERDUE_TIME, zone)
    quiet = policy.quiet
    if quiet is not None and quiet.contains(planned):
        return quiet.end_of(planned)
    return planned


def reminder_now(due: date, zone: ZoneInfo, now: datetime, policy: ReminderPolicy) -> str | None:
    """The reminder (BEFORE or OVERDUE) to send now for an item due on `due` whose owner
    lives in `zone`, or None. The caller sends each kind once per due date."""
    if not policy.enabled:
        return None
    local = now.astimezone(zone)
    if policy.quiet is not None and policy.quiet.contains(local):
        return None
    overdue = overdue_at(due, zone, policy)
    if overdue <= now < overdue + OVERDUE_WINDOW:
        return OVERDUE
    if before_at(due, zone, policy) <= now < due_moment(due, zone):
        return BEFORE
    return None


def due_dates_in_reach(now: datetime, policy: ReminderPolicy) -> tuple[date, date]:
    """The due dates (inclusive) whose items may have a reminder due at `now` in some time
    zone: the pass reads only those (ix_action_items_status_due). Overdue: up to 3 days
    after the date (Friday -> Monday), a day of quiet hours, a day of window, a day of
    zones; before: the hours before, a day of quiet hours and one of zones."""
    today = now.astimezone(UTC).date()
    ahead = math.ceil(policy.hours_before / 24) + 2
    return today - timedelta(days=7), today + timedelta(days=ahead)
