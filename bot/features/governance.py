"""What is kept of a channel: `@balafon retention N|off` and `@balafon forget [confirm]`
(channel managers and ADMIN_USERS only)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot import sentences
from bot.commands import CommandError, CommandRequest, CommandSpec, Outcome, ParseContext
from bot.ports import ErrorReply, TextReply
from bot.storage.base import row_id

if TYPE_CHECKING:
    from bot.inbound import Inbound


@dataclass(frozen=True, kw_only=True)
class Forget:
    """Delete everything stored for the channel; asks for `forget confirm` first."""

    confirmed: bool = False


@dataclass(frozen=True, kw_only=True)
class Retention:
    """Keep the channel's stored messages and transcripts `days` days (None: forever)."""

    days: int | None


def parse_forget(verb: str, rest: str, context: ParseContext) -> Forget | None:
    if verb != "forget":
        return None
    return Forget(confirmed=rest.strip().lower() in {"confirm", "confirmed", "yes"})


def parse_retention(verb: str, rest: str, context: ParseContext) -> Retention | None:
    if verb != "retention":
        return None
    text = rest.strip().lower()
    if text in {"off", "forever", "none", "keep"}:
        return Retention(days=None)
    match = re.fullmatch(r"(\d+)\s*(?:d|days?)?", text)
    if not match or not 1 <= int(match.group(1)) <= 3650:
        raise CommandError(sentences.BAD_RETENTION)
    return Retention(days=int(match.group(1)))


async def handle(inbound: Inbound, request: CommandRequest, command: Forget | Retention) -> Outcome:
    return await inbound.once(request, lambda: _govern(inbound, request, command))


async def _govern(
    inbound: Inbound, request: CommandRequest, command: Forget | Retention
) -> Outcome:
    services = inbound.services
    place = replace(request.place, thread=None)
    if not await inbound.may_manage(place, request.user_id):
        who = inbound.managers_of(place.platform)
        return Outcome(reply=ErrorReply(text=sentences.NOT_A_MANAGER.format(who=who)))
    if isinstance(command, Retention):
        await services.conversations.update_channel(place, retention_days=command.days)
        default_days = services.limits.retention_days  # RETENTION_DAYS still applies
        if command.days:
            text = sentences.RETENTION_SET.format(days=command.days)
        elif default_days:
            text = sentences.RETENTION_OFF_DEFAULT.format(days=default_days)
        else:
            text = sentences.RETENTION_OFF
        return Outcome(reply=TextReply(text=text))
    if not command.confirmed:
        return Outcome(reply=TextReply(text=sentences.FORGET_CONFIRM))
    channel = await services.conversations.get_or_create_channel(place)
    channel_id = row_id(channel)
    digests = services.digests
    subscription = await asyncio.to_thread(digests.find, channel_id) if digests else None
    counts = await asyncio.to_thread(services.repo.forget_channel, channel)
    platform = services.platforms.get(place.platform)
    if platform is not None:
        await platform.forget(place)  # what the adapter keeps itself (playground files)
    await asyncio.to_thread(services.repo.checkpoint)  # no old pages left in SQLite's WAL
    services.conversations.forget_window(channel_id)
    if digests is not None and subscription is not None:
        digests.changed(subscription.id)  # the scheduler drops its job
    return Outcome(reply=TextReply(text=sentences.FORGOTTEN.format(**counts)))


COMMANDS = (
    CommandSpec("forget", parse_forget, handle),
    CommandSpec(
        "retention",
        parse_retention,
        handle,
        help="• `@balafon retention 30` — delete this channel's stored messages and "
        "transcripts after 30 days (`@balafon retention off` keeps them); `@balafon forget` "
        "— delete everything stored for this channel.",
    ),
)
