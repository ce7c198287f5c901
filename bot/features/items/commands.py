"""`@balafon my items` (privately), `@balafon items` / `/recap items` (this channel's), and
`@balafon done N` / `reopen N` / `dismiss N`, the text fallback of the buttons."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import sentences
from bot.commands import CommandRequest, CommandSpec, Outcome, ParseContext
from bot.features.items import service
from bot.features.items.actions import STATUS_OF, item_seen_from, refuse
from bot.ports import (
    ErrorReply,
    ItemListReply,
    ItemView,
    Place,
    PrivateMessaging,
    ReplyTarget,
    TextReply,
)
from bot.storage.base import row_id
from bot.storage.models import ActionItemRecord
from summarizer.types import ActionItem

if TYPE_CHECKING:
    from bot.inbound import Inbound
    from bot.services import Services

log = logging.getLogger(__name__)
MAX_LISTED = 100  # items in one list
MAX_MEMBER_CHECKS = 30  # channels asked "is this person a member?" for `my items`
MEMBER_CHECK_SECONDS = 1.5  # all of them together
_NUMBER = re.compile(r"#?(\d{1,12})")
DONE_SENTENCE = {
    "done": sentences.ITEM_DONE,
    "reopen": sentences.ITEM_REOPENED,
    "dismiss": sentences.ITEM_DISMISSED,
}


@dataclass(frozen=True, kw_only=True)
class ListItems:
    mine: bool  # `my items`: the requester's, across channels; else this channel's


@dataclass(frozen=True, kw_only=True)
class ChangeItem:
    action: str  # done, reopen, dismiss
    number: int


def parse_list(verb: str, rest: str, context: ParseContext) -> ListItems | None:
    words = rest.lower().split()
    if verb == "my" and words in (["items"], ["action", "items"], ["tasks"]):
        return ListItems(mine=True)
    if verb == "items" and not words:
        return ListItems(mine=False)
    if verb == "recap" and words == ["items"]:  # `/recap items`
        return ListItems(mine=False)
    if verb == "recap" and words == ["my", "items"]:  # `/recap my items`
        return ListItems(mine=True)
    return None


def parse_change(verb: str, rest: str, context: ParseContext) -> ChangeItem | None:
    if verb in STATUS_OF and (match := _NUMBER.fullmatch(rest.strip())):
        return ChangeItem(action=verb, number=int(match.group(1)))
    return None


# --- lists --------------------------------------------------------------------------------


def group_by_due(
    rows: list[tuple[ActionItemRecord, ItemView]], today: date
) -> tuple[tuple[str, tuple[tuple[ActionItem, ItemView], ...]], ...]:
    """Overdue, Today, This week (to Sunday), Later, No date: the groups that have items."""
    overdue, now, week, later, undated = sentences.ITEMS_GROUPS
    end_of_week = today + timedelta(days=6 - today.weekday())
    groups: dict[str, list[tuple[ActionItem, ItemView]]] = {
        name: [] for name in sentences.ITEMS_GROUPS
    }
    for row, view in rows:
        if row.due is None:
            name = undated
        elif row.due < today:
            name = overdue
        elif row.due == today:
            name = now
        elif row.due <= end_of_week:
            name = week
        else:
            name = later
        groups[name].append((service.as_action_item(row), view))
    return tuple((name, tuple(items)) for name, items in groups.items() if items)


async def item_list(
    services: Services, rows: list[ActionItemRecord], title: str, timezone: str
) -> ItemListReply:
    views = await asyncio.to_thread(services.repo.items.views, rows)
    today = services.clock().astimezone(ZoneInfo(timezone)).date()
    groups = group_by_due(list(zip(rows, views, strict=True)), today)
    return ItemListReply(title=title, groups=groups, empty_text=sentences.NO_OPEN_ITEMS)


async def handle_list(inbound: Inbound, request: CommandRequest, command: ListItems) -> Outcome:
    if command.mine:
        return await inbound.once(request, lambda: _my_items(inbound, request))
    services = inbound.services
    channel = await services.conversations.get_channel(replace(request.place, thread=None))
    rows = []
    if channel is not None:
        rows = await asyncio.to_thread(
            services.repo.items.query,
            workspace_id=channel.workspace_id,
            channel_ids=[row_id(channel)],
            limit=MAX_LISTED,
        )
    title = sentences.CHANNEL_ITEMS_TITLE.format(channel=request.place.channel)
    timezone = request.timezone or services.limits.default_timezone
    return await inbound.answer(request, await item_list(services, rows, title, timezone))


async def _my_items(inbound: Inbound, request: CommandRequest) -> Outcome:
    """The requester's open items in the workspace's channels they are a member of, sent
    privately (a direct message where the platform can, else only they see it)."""
    services, place = inbound.services, request.place
    platform = services.platforms[place.platform]
    workspace = await asyncio.to_thread(
        services.repo.get_workspace, place.platform, place.workspace
    )
    rows: list[ActionItemRecord] = []
    if workspace is not None:
        found = await asyncio.to_thread(
            services.repo.items.query,
            workspace_id=row_id(workspace),
            owner_id=request.user_id,
            limit=MAX_LISTED,
        )
        rows = await _in_member_channels(inbound, found, place, request.user_id)
    timezone = request.timezone or services.limits.default_timezone
    if isinstance(platform, PrivateMessaging) and not request.timezone:
        timezone = await _timezone(platform, place.workspace, request.user_id) or timezone
    reply = await item_list(services, rows, sentences.MY_ITEMS_TITLE, timezone)
    if isinstance(platform, PrivateMessaging):
        try:
            if await platform.post_private(place.workspace, request.user_id, reply):
                return Outcome(ack=sentences.MY_ITEMS_SENT)
        except Exception:  # cannot write to them: show it here, to them only
            log.warning("could not send %s their items privately", request.user_id, exc_info=True)
    target = ReplyTarget(
        place=inbound.reply_place(request),
        ephemeral_to=request.user_id,
        response_url=request.response_url if request.via == "slash" else None,
    )
    await platform.post(target, reply)
    return Outcome()


async def _in_member_channels(
    inbound: Inbound, rows: list[ActionItemRecord], place: Place, user_id: str
) -> list[ActionItemRecord]:
    """Only items of channels the requester is in, as the platform says: asked at once for
    at most `MAX_MEMBER_CHECKS` channels (those of the most pressing items), within
    `MEMBER_CHECK_SECONDS` (a slash command waits for the answer); a channel the platform
    did not confirm in time is left out."""
    services = inbound.services
    platform = services.platforms[place.platform]
    channel_ids = list(dict.fromkeys(row.channel_id for row in rows))[:MAX_MEMBER_CHECKS]
    places = await asyncio.to_thread(services.repo.items.places, channel_ids)
    allowed: set[int] = set()

    async def check(channel_id: int) -> None:
        where = places.get(channel_id)
        if where is None or where[:2] != (place.platform, place.workspace):
            return
        channel_place = Place(platform=where[0], workspace=where[1], channel=where[2])
        try:
            if await platform.is_member(channel_place, user_id):
                allowed.add(channel_id)
        except Exception:
            log.warning("could not check membership of %s", channel_place, exc_info=True)

    checks = [asyncio.ensure_future(check(channel_id)) for channel_id in channel_ids]
    if checks:
        _, late = await asyncio.wait(checks, timeout=MEMBER_CHECK_SECONDS)
        for task in late:
            task.cancel()
    return [row for row in rows if row.channel_id in allowed]


async def _timezone(platform: PrivateMessaging, workspace: str, user_id: str) -> str | None:
    try:
        found = await platform.user_timezone(workspace, user_id)
        if found:
            ZoneInfo(found)
        return found
    except Exception:
        return None


# --- done N -------------------------------------------------------------------------------


async def handle_change(inbound: Inbound, request: CommandRequest, command: ChangeItem) -> Outcome:
    return await inbound.once(request, lambda: _change(inbound, request, command))


async def _change(inbound: Inbound, request: CommandRequest, command: ChangeItem) -> Outcome:
    services, number = inbound.services, command.number
    found = await item_seen_from(inbound, number, request.place)
    if found is None:
        return Outcome(reply=ErrorReply(text=sentences.ITEM_NOT_FOUND.format(number=number)))
    row, where = found
    refusal = await refuse(inbound, row, where, request.user_id, request.place)
    if refusal is not None:
        return Outcome(reply=ErrorReply(text=refusal))
    status = STATUS_OF[command.action]
    if row.status == status:
        text = sentences.ITEM_ALREADY.format(number=number, task=row.task, status=status)
        return Outcome(reply=TextReply(text=text))
    await service.apply_change(services, number, actor=request.user_id, status=status)
    text = DONE_SENTENCE[command.action].format(number=number, task=row.task)
    return Outcome(reply=TextReply(text=text))


COMMANDS = (
    CommandSpec(
        "items",
        parse_list,
        handle_list,
        help="• `@balafon my items` — your open action items across your channels, sent to "
        "you privately, overdue first.\n"
        "• `@balafon items` — this channel's open action items (on Slack, /recap items too).",
    ),
    CommandSpec(
        "item-done",
        parse_change,
        handle_change,
        help="• `@balafon done 12`, `@balafon reopen 12`, `@balafon dismiss 12` — mark action "
        "item #12 done, open again or dismissed (its owner, who asked for the recap, or a "
        "channel manager).",
    ),
)
