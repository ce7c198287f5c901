"""`@balafon link github OWNER/REPO` | `link jira KEY` | `link linear TEAM`, and `unlink`:
the tracker a channel's items are exported to (channel managers and ADMIN_USERS only)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot import sentences
from bot.commands import CommandError, CommandRequest, CommandSpec, Outcome, ParseContext
from bot.ports import DirectConversations, ErrorReply, Place, TextReply
from bot.storage.base import row_id
from bot.storage.trackers import TrackerStore
from bot.trackers.base import TRACKERS
from bot.trackers.registry import check_target

if TYPE_CHECKING:
    from bot.inbound import Inbound

NAMES = {"github": "GitHub", "jira": "Jira", "linear": "Linear"}


@dataclass(frozen=True, kw_only=True)
class Link:
    tracker: str  # github, jira, linear
    target: str  # owner/repo, project key, team key (checked)


@dataclass(frozen=True, kw_only=True)
class Unlink:
    pass


def parse_link(verb: str, rest: str, context: ParseContext) -> Link | None:
    if verb != "link":
        return None
    words = rest.split()
    if len(words) != 2 or words[0].lower() not in TRACKERS:
        given = rest.strip() or "nothing"
        raise CommandError(sentences.BAD_LINK.format(detail=f"not “{given}”"))
    tracker = words[0].lower()
    try:
        target = check_target(tracker, words[1])
    except ValueError as exc:
        raise CommandError(
            sentences.BAD_LINK_TARGET.format(tracker=NAMES[tracker], expected=exc, given=words[1])
        ) from exc
    return Link(tracker=tracker, target=target)


def parse_unlink(verb: str, rest: str, context: ParseContext) -> Unlink | None:
    return Unlink() if verb == "unlink" and not rest.strip() else None


async def handle(inbound: Inbound, request: CommandRequest, command: Link | Unlink) -> Outcome:
    return await inbound.once(request, lambda: _link(inbound, request, command))


async def _may_link(inbound: Inbound, place: Place, user_id: str) -> bool:
    """Channel managers and ADMIN_USERS. A direct message is its person's to manage, but
    a link points the deployment's tracker token at a repository or project: there, only
    ADMIN_USERS may link (anyone could otherwise open issues wherever the token writes)."""
    if inbound.services.is_admin(place.platform, user_id):
        return True
    platform = inbound.services.platforms.get(place.platform)
    if isinstance(platform, DirectConversations) and await platform.is_direct(place):
        return False
    return await inbound.may_manage(place, user_id)


async def _link(inbound: Inbound, request: CommandRequest, command: Link | Unlink) -> Outcome:
    services = inbound.services
    place = replace(request.place, thread=None)
    if not await _may_link(inbound, place, request.user_id):
        who = inbound.managers_of(place.platform)
        return Outcome(reply=ErrorReply(text=sentences.NOT_A_MANAGER_LINK.format(who=who)))
    store = TrackerStore(services.repo.engine)
    if isinstance(command, Unlink):
        channel = await services.conversations.get_channel(place)
        removed = await asyncio.to_thread(store.unlink, row_id(channel)) if channel else None
        if removed is None:
            return Outcome(reply=TextReply(text=sentences.NOT_LINKED))
        text = sentences.UNLINKED.format(tracker=NAMES[removed.tracker], target=removed.target)
        return Outcome(reply=TextReply(text=text))
    missing = services.trackers.config.missing(command.tracker)
    if missing:
        text = sentences.TRACKER_NOT_CONFIGURED.format(
            tracker=NAMES[command.tracker], missing=" and ".join(missing)
        )
        return Outcome(reply=ErrorReply(text=text))
    channel = await services.conversations.get_or_create_channel(place)
    await asyncio.to_thread(
        store.link,
        channel.workspace_id,
        row_id(channel),
        command.tracker,
        command.target,
        request.user_id,
    )
    auto = sentences.LINKED_AUTO if services.trackers.auto_export else ""
    text = sentences.LINKED.format(tracker=NAMES[command.tracker], target=command.target, auto=auto)
    return Outcome(reply=TextReply(text=text))


COMMANDS = (
    CommandSpec(
        "link",
        parse_link,
        handle,
        help="• `@balafon link github acme/website` (or `@balafon link jira ENG`, "
        "`@balafon link linear ENG`) — send this channel's action items to that issue "
        "tracker, and mark them done when their issue is closed; `@balafon unlink` stops it.",
    ),
    CommandSpec("unlink", parse_unlink, handle),
)
