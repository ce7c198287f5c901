"""Parse what people type to the bot (`@balafon recap since Monday`, `/recap 7d #dev`).

Parsing is shared by every platform: adapters strip the bot's own mention, turn channel
mentions into `#<channel id>`, and hand the rest of the text here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import messages
from bot.digest_schedule import DigestSchedule, ScheduleError, parse_schedule

_DURATION = re.compile(
    r"^(?:last\s+)?(\d+)\s*(m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)$", re.I
)
_CHANNEL = re.compile(r"(?:^|\s)#([A-Za-z0-9_\-]+)(?=\s|$)")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# The hints the bot prints start with its name (`@balafon digest off`); pasted where no
# mention is needed (a direct message) it arrives as text, and is not part of the command.
_OWN_NAME = re.compile(r"^\s*@balafon\b[:,]?", re.I)


def without_own_name(text: str) -> str:
    """`@balafon recap 7d` (the name as text, not a platform mention) -> `recap 7d`."""
    return _OWN_NAME.sub("", text, count=1).strip()


class CommandError(ValueError):
    """The command was understood but its arguments were not; the message says how to fix it."""


@dataclass(frozen=True, kw_only=True)
class Recap:
    """Recap the current thread (no window) or a channel window, maybe of another channel."""

    since: datetime | None = None
    channel: str | None = None  # another channel's id
    window_text: str | None = None  # as the user wrote it, for the reply's title


@dataclass(frozen=True, kw_only=True)
class Transcribe:
    pass


@dataclass(frozen=True, kw_only=True)
class Help:
    pass


@dataclass(frozen=True, kw_only=True)
class Digest:
    """Subscribe the channel (`schedule` set), or `action` "off" / "status"."""

    action: str  # subscribe, off, status
    schedule: DigestSchedule | None = None


@dataclass(frozen=True, kw_only=True)
class Unknown:
    text: str


@dataclass(frozen=True, kw_only=True)
class Forget:
    """Delete everything stored for the channel; asks for `forget confirm` first."""

    confirmed: bool = False


@dataclass(frozen=True, kw_only=True)
class Retention:
    """Keep the channel's stored messages and transcripts `days` days (None: forever)."""

    days: int | None


Command = Recap | Transcribe | Help | Digest | Forget | Retention | Unknown


def parse_since(text: str, now: datetime) -> datetime:
    """The start of a window: `24h`, `7d`, `since Monday`, `since 2026-11-01`, `today`."""
    phrase = re.sub(r"^(?:since|from)\s+", "", text.strip(), flags=re.I).strip()
    if match := _DURATION.match(phrase):
        amount = int(match.group(1))
        unit = _UNITS[match.group(2)[0].lower()]
        if amount <= 0 or amount * unit > 366 * 86400:
            raise CommandError("The window must be between 1 minute and a year.")
        return now - timedelta(seconds=amount * unit)
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    lowered = phrase.casefold()
    if lowered in {"today", "this morning"}:
        return midnight
    if lowered == "yesterday":
        return midnight - timedelta(days=1)
    if lowered in {"last week", "this week"}:
        start = midnight - timedelta(days=now.weekday())
        return start - timedelta(days=7) if lowered == "last week" else start
    import dateparser  # slow to import: only when a window needs it

    settings = {
        "PREFER_DATES_FROM": "past",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "TIMEZONE": str(now.tzinfo or "UTC"),
        "RETURN_AS_TIMEZONE_AWARE": True,
    }
    parsed = dateparser.parse(phrase, languages=["en"], settings=settings) if phrase else None
    if parsed is None:
        raise CommandError(messages.BAD_WINDOW.format(window=text.strip()))
    # Back to the caller's zone (dateparser returns pytz zones); a day means its midnight.
    parsed = parsed.astimezone(now.tzinfo)
    if not re.search(r"\d{1,2}:\d{2}|\d\s*(?:am|pm)\b", lowered):
        parsed = datetime.combine(parsed.date(), time(0), tzinfo=now.tzinfo)
    if parsed > now:
        raise CommandError(f"“{text.strip()}” is in the future; a recap looks back.")
    return parsed


def _retention(text: str) -> Retention:
    if text in {"off", "forever", "none", "keep"}:
        return Retention(days=None)
    match = re.fullmatch(r"(\d+)\s*(?:d|days?)?", text)
    if not match or not 1 <= int(match.group(1)) <= 3650:
        raise CommandError(messages.BAD_RETENTION)
    return Retention(days=int(match.group(1)))


def _digest(words: list[str], timezone: str) -> Digest:
    action = words[0].lower() if words else "status"
    if action in {"off", "stop", "cancel", "unsubscribe"}:
        return Digest(action="off")
    if action in {"status", "show", "info"}:
        return Digest(action="status")
    try:
        return Digest(action="subscribe", schedule=parse_schedule(words, timezone))
    except ScheduleError as exc:
        raise CommandError(str(exc)) from exc


def parse_command(text: str, *, now: datetime, timezone: str = "UTC") -> Command:
    """Turn the text addressed to the bot into a command. `now` is aware (any zone)."""
    local_now = now.astimezone(ZoneInfo(timezone))
    text = without_own_name(text)
    words = text.split(None, 1)
    if not words:
        return Help()
    verb, rest = words[0].lower().strip(":,."), (words[1] if len(words) > 1 else "")
    if verb in {"help", "?", "hi", "hello"}:
        return Help()
    if verb in {"transcribe", "transcript"}:
        return Transcribe()
    if verb == "forget":
        return Forget(confirmed=rest.strip().lower() in {"confirm", "confirmed", "yes"})
    if verb == "retention":
        return _retention(rest.strip().lower())
    if verb in {"recap", "summary"} and rest.split()[:1] in (["digest"], ["digests"]):
        verb, rest = "digest", rest.split(None, 1)[1] if len(rest.split()) > 1 else ""
    if verb in {"digest", "digests"}:  # also `/recap digest daily 09:00`
        return _digest(rest.split(), timezone)
    if verb in {"recap", "summarize", "summarise", "summary", "tldr"}:
        channel = None
        if match := _CHANNEL.search(rest):
            channel = match.group(1)
            rest = (rest[: match.start()] + rest[match.end() :]).strip()
        if not rest.strip():
            return Recap(channel=channel)
        return Recap(since=parse_since(rest, local_now), channel=channel, window_text=rest.strip())
    return Unknown(text=text.strip())
