"""When digests run: `daily 09:00`, `weekdays 17:30 Europe/Paris`, `weekly mon 09:00`.

Times are wall-clock times in the subscription's zone, so a 09:00 digest stays at 09:00
across daylight-saving changes; APScheduler's CronTrigger does the zone arithmetic both
for the scheduler and for `latest_slot`, so both agree on what a slot is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.I)


class ScheduleError(ValueError):
    """The schedule cannot be read; the message says how to write it."""


USAGE = (
    "Try `@balafon digest daily 09:00`, `@balafon digest weekdays 17:30 Europe/Paris`, "
    "`@balafon digest weekly mon 09:00`, `@balafon digest status` or `@balafon digest off`."
)


@dataclass(frozen=True, kw_only=True)
class DigestSchedule:
    cadence: str  # daily, weekdays, weekly
    hour: int
    minute: int
    timezone: str
    weekday: str | None = None  # weekly only: mon..sun

    def trigger(self) -> CronTrigger:
        days = {"daily": "*", "weekdays": "mon-fri", "weekly": self.weekday}[self.cadence]
        return CronTrigger(
            day_of_week=days, hour=self.hour, minute=self.minute, timezone=ZoneInfo(self.timezone)
        )

    @property
    def period(self) -> timedelta:
        return timedelta(days=7 if self.cadence == "weekly" else 1)

    def describe(self) -> str:
        when = {"daily": "every day", "weekdays": "every weekday"}.get(
            self.cadence, f"every {self.weekday.capitalize() if self.weekday else ''}"
        )
        return f"{when} at {self.hour:02d}:{self.minute:02d} ({self.timezone})"


def _parse_time(text: str) -> tuple[int, int]:
    match = _TIME.match(text.strip())
    if not match:
        raise ScheduleError(f"“{text}” is not a time. {USAGE}")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3):
        if not 1 <= hour <= 12:
            raise ScheduleError(f"“{text}” is not a time. {USAGE}")
        hour = hour % 12 + (12 if match.group(3).lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ScheduleError(f"“{text}” is not a time. {USAGE}")
    return hour, minute


def parse_schedule(words: list[str], default_timezone: str) -> DigestSchedule:
    """`["daily", "09:00"]`, `["weekdays", "17:30", "Europe/Paris"]`, `["weekly", "mon", "9am"]`."""
    if not words:
        raise ScheduleError(USAGE)
    cadence = words[0].lower()
    rest = words[1:]
    weekday = None
    if cadence in {"weekday", "workdays"}:
        cadence = "weekdays"
    if cadence == "weekly":
        if not rest or rest[0][:3].lower() not in _DAYS:
            raise ScheduleError(f"Which day? {USAGE}")
        weekday, rest = rest[0][:3].lower(), rest[1:]
    elif cadence not in {"daily", "weekdays"}:
        raise ScheduleError(USAGE)
    if not rest:
        raise ScheduleError(f"At what time? {USAGE}")
    hour, minute = _parse_time(rest[0])
    zone = rest[1] if len(rest) > 1 else default_timezone
    if len(rest) > 2:
        raise ScheduleError(USAGE)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"“{zone}” is not a time zone (e.g. Europe/Paris).") from exc
    return DigestSchedule(cadence=cadence, hour=hour, minute=minute, timezone=zone, weekday=weekday)


def next_slot(schedule: DigestSchedule, after: datetime) -> datetime:
    """The first scheduled time strictly after `after`."""
    return schedule.trigger().get_next_fire_time(None, after + timedelta(microseconds=1))


def latest_slot(schedule: DigestSchedule, now: datetime) -> datetime | None:
    """The most recent scheduled time at or before `now` (None if none in 8 days)."""
    trigger = schedule.trigger()
    slot = None
    probe = trigger.get_next_fire_time(None, now - timedelta(days=8))
    while probe is not None and probe <= now:
        slot = probe
        probe = trigger.get_next_fire_time(probe, probe + timedelta(microseconds=1))
    return slot
