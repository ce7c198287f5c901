"""The command layer: what people type to the bot (`@balafon recap since Monday`,
`/recap 7d #dev`) and what an adapter hands the core.

Each feature (bot/features/) declares its commands as `CommandSpec`s: a parser for its
verbs, a handler, and its help line. This module holds what they share: the request and
outcome types, the grammar of windows and channel mentions, and `parse_command`, which
asks each feature's parser in turn. Adapters strip the bot's own mention and turn channel
mentions into `#<channel id>` first.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import sentences
from bot.ports import FileRef, Place, Reply

if TYPE_CHECKING:
    from bot.inbound import Inbound

_DURATION = re.compile(
    r"^(?:last\s+)?(\d+)\s*(m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)$", re.I
)
_CHANNEL = re.compile(r"(?:^|\s)#([A-Za-z0-9_\-]+)(?=\s|$)")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# The hints the bot prints start with its name (`@balafon digest off`); pasted where no
# mention is needed (a direct message) it arrives as text, and is not part of the command.
_OWN_NAME = re.compile(r"^\s*@balafon\b[:,]?", re.I)
HELP_VERBS = frozenset({"help", "?", "hi", "hello"})


def without_own_name(text: str) -> str:
    """`@balafon recap 7d` (the name as text, not a platform mention) -> `recap 7d`."""
    return _OWN_NAME.sub("", text, count=1).strip()


def slash_text(raw: str) -> str:
    """`/recap 7d #design` -> `recap 7d #design`; `/recap help` -> `help` (every adapter's
    slash command is `/recap`)."""
    first = raw.split()[0].lower() if raw.split() else ""
    return "help" if first in {"help", "?"} else f"recap {raw}".strip()


@dataclass(frozen=True, kw_only=True)
class CommandRequest:
    """A command addressed to the bot, already verified and parsed out by an adapter."""

    place: Place  # where it was typed; `thread` set when typed in a thread
    user_id: str
    text: str  # the bot's mention removed, channel mentions as "#<id>"
    event_key: str  # unique per platform event: retries carry the same key
    message_id: str | None = None  # the message that carried it
    files: tuple[FileRef, ...] = ()
    via: str = "mention"  # mention, slash, shortcut, file
    response_url: str | None = None
    timezone: str | None = None
    # People mentioned in `text`: the mention as it reads there ("@Kofi", "@U123") -> their
    # platform id (what `speaker 1 is @kofi` names).
    mentions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What the adapter shows right away: `ack` to the requester only, `reply` in place."""

    ack: str | None = None
    reply: Reply | None = None
    job_id: int | None = None
    duplicate: bool = False


@dataclass(frozen=True)
class ParseContext:
    now: datetime  # aware, in `timezone`
    timezone: str


@dataclass(frozen=True)
class CommandSpec:
    """One command of a feature. `parse(verb, rest, context)` returns the command, or None
    when the text is not this command; `handle` answers it; `help` is its line in the help
    (shown where the platform has every capability in `needs`)."""

    name: str
    parse: Callable[[str, str, ParseContext], Any | None]
    handle: Callable[[Inbound, CommandRequest, Any], Awaitable[Outcome]]
    help: str = ""
    needs: frozenset[str] = frozenset()


class CommandError(ValueError):
    """The command was understood but its arguments were not; the message says how to fix it."""


@dataclass(frozen=True, kw_only=True)
class Help:
    pass


@dataclass(frozen=True, kw_only=True)
class Unknown:
    text: str


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
        raise CommandError(sentences.BAD_WINDOW.format(window=text.strip()))
    # Back to the caller's zone (dateparser returns pytz zones); a day means its midnight.
    parsed = parsed.astimezone(now.tzinfo)
    if not re.search(r"\d{1,2}:\d{2}|\d\s*(?:am|pm)\b", lowered):
        parsed = datetime.combine(parsed.date(), time(0), tzinfo=now.tzinfo)
    if parsed > now:
        raise CommandError(f"“{text.strip()}” is in the future; a recap looks back.")
    return parsed


def channel_mention(rest: str) -> tuple[str | None, str]:
    """`24h #C1` -> ("C1", "24h"): the channel a command names, and the rest of the text."""
    if match := _CHANNEL.search(rest):
        return match.group(1), (rest[: match.start()] + rest[match.end() :]).strip()
    return None, rest


def parse_command(
    text: str, *, now: datetime, timezone: str = "UTC", specs: Sequence[CommandSpec] | None = None
) -> Any:
    """Turn the text addressed to the bot into a command (`Help`, `Unknown`, or the one a
    feature's parser returns). `now` is aware (any zone)."""
    if specs is None:
        from bot.features import COMMANDS  # the features import this module

        specs = COMMANDS
    return parse_with(text, now=now, timezone=timezone, specs=specs)[1]


def parse_with(
    text: str, *, now: datetime, timezone: str, specs: Sequence[CommandSpec]
) -> tuple[CommandSpec | None, Any]:
    """(the spec that understood `text`, its command); (None, Help or Unknown) otherwise."""
    context = ParseContext(now=now.astimezone(ZoneInfo(timezone)), timezone=timezone)
    text = without_own_name(text)
    words = text.split(None, 1)
    if not words:
        return None, Help()
    verb, rest = words[0].lower().strip(":,."), (words[1] if len(words) > 1 else "")
    if verb in HELP_VERBS:
        return None, Help()
    for spec in specs:
        command = spec.parse(verb, rest, context)
        if command is not None:
            return spec, command
    return None, Unknown(text=text.strip())
