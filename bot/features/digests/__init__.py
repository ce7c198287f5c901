"""Scheduled digests: `@balafon digest daily 09:00`, the subscriptions and the job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import sentences
from bot.commands import CommandError, CommandRequest, CommandSpec, Outcome, ParseContext
from bot.features.digests.schedule import DigestSchedule, ScheduleError, parse_schedule
from bot.ports import ErrorReply, TextReply

if TYPE_CHECKING:
    from bot.inbound import Inbound


@dataclass(frozen=True, kw_only=True)
class DigestCommand:
    """Subscribe the channel (`schedule` set), or `action` "off" / "status"."""

    action: str  # subscribe, off, status
    schedule: DigestSchedule | None = None


def parse(verb: str, rest: str, context: ParseContext) -> DigestCommand | None:
    if verb in {"recap", "summary"} and rest.split()[:1] in (["digest"], ["digests"]):
        verb, rest = "digest", rest.split(None, 1)[1] if len(rest.split()) > 1 else ""
    if verb not in {"digest", "digests"}:  # also `/recap digest daily 09:00`
        return None
    words = rest.split()
    action = words[0].lower() if words else "status"
    if action in {"off", "stop", "cancel", "unsubscribe"}:
        return DigestCommand(action="off")
    if action in {"status", "show", "info"}:
        return DigestCommand(action="status")
    try:
        schedule = parse_schedule(words, context.timezone)
    except ScheduleError as exc:
        raise CommandError(str(exc)) from exc
    return DigestCommand(action="subscribe", schedule=schedule)


async def handle(inbound: Inbound, request: CommandRequest, command: DigestCommand) -> Outcome:
    async def answer() -> Outcome:
        digests = inbound.services.digests
        if digests is None:
            return Outcome(reply=ErrorReply(text=sentences.DIGESTS_DISABLED))
        text = await digests.command(request.place, request.user_id, command)
        return Outcome(reply=TextReply(text=text))

    return await inbound.once(request, answer)


COMMANDS = (
    CommandSpec(
        "digest",
        parse,
        handle,
        help="• `@balafon digest daily 09:00` (or `@balafon digest weekdays 17:30 "
        "Europe/Paris`, `@balafon digest weekly mon 09:00`) — a scheduled digest of this "
        "channel; `@balafon digest status`, `@balafon digest off`.",
    ),
)
