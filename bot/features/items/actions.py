"""A click on an item's button, or `done N`: who may change it, stale cards, history.

The adapter awaits `handle_action` inside Slack's 3 s acknowledgement, so it does the
change and re-renders the clicked message only; the item's other posts are updated in
the background (`service.refresh_posts`)."""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import TYPE_CHECKING

from bot import sentences
from bot.features.items import service
from bot.ports import ItemAction, ItemActionResult, ItemView, Place, Reply
from bot.storage.item_recording import BOT, is_person
from bot.storage.items import shown_differs, version_of
from bot.storage.models import ActionItemRecord
from summarizer.types import ActionItem

if TYPE_CHECKING:
    from bot.inbound import Inbound

log = logging.getLogger(__name__)
# What each button asks for: the status it sets.
STATUS_OF = {"done": "done", "reopen": "open", "dismiss": "dismissed"}
ACTIONS = (*STATUS_OF, "reassign", "export")
# What a click depends on of what its card showed (bot.storage.items.SHOWN): a click is
# stale when that changed since, not when anything else did (an export, a due date).
_DEPENDS_ON = {**{action: ("status",) for action in STATUS_OF}, "reassign": ("owner",)}


async def handle_action(inbound: Inbound, action: ItemAction) -> ItemActionResult:
    if action.action not in ACTIONS:
        text = sentences.ITEM_UNKNOWN_ACTION.format(action=action.action)
        return ItemActionResult(changed=False, notice=text)
    if not await inbound.claim_event(f"item:{action.event_key}"):
        return ItemActionResult(changed=False)  # a retried delivery of a click handled
    try:
        return await _handle(inbound, action)
    except BaseException:
        await inbound.release_event(f"item:{action.event_key}")
        raise


async def _handle(inbound: Inbound, action: ItemAction) -> ItemActionResult:
    services = inbound.services
    found = await item_seen_from(inbound, action.item_id, action.place)
    if found is None:
        return ItemActionResult(changed=False, notice=sentences.ITEM_GONE)
    row, where = found
    refusal = await refuse(inbound, row, where, action.user_id, action.place)
    if refusal is not None:
        return ItemActionResult(changed=False, notice=refusal)
    if action.action == "export":
        return await _export(inbound, action)
    depends_on = _DEPENDS_ON.get(action.action, ())
    stale = shown_differs(action.version, row, depends_on) if action.version else False
    if stale and not _already(row, action):
        notice = sentences.ITEM_STALE.format(**await _last_change(inbound, row, depends_on))
        reply = await _clicked(inbound, action)
        return ItemActionResult(
            changed=False, notice=notice, reply=reply, item=await _view(inbound, action.item_id)
        )
    status = STATUS_OF.get(action.action)
    if action.action == "reassign" and not action.owner_id and not action.owner_name:
        return ItemActionResult(changed=False, reply=await _clicked(inbound, action))
    updated = await service.apply_change(
        services,
        row.id or action.item_id,
        actor=action.user_id,
        status=status,
        owner_id=action.owner_id if action.action == "reassign" else None,
        owner_name=action.owner_name if action.action == "reassign" else None,
        refresh=False,
    )
    if updated is None:
        return ItemActionResult(changed=False, notice=sentences.ITEM_GONE)
    changed = version_of(updated) != version_of(row)
    skip = (action.place.channel, action.message_id) if action.message_id else None
    if changed:
        service.spawn(service.refresh_posts(services, action.item_id, skip=skip))
    reply = await _clicked(inbound, action)
    return ItemActionResult(changed=changed, reply=reply, item=await _view(inbound, action.item_id))


async def item_seen_from(
    inbound: Inbound, item_id: int, place: Place
) -> tuple[ActionItemRecord, tuple[str, str, str]] | None:
    """The item and its channel (platform, workspace, channel id), when it exists and
    belongs to `place`'s workspace: item ids are numbers anyone can guess, so another
    workspace's item is as good as gone."""
    items = inbound.services.repo.items
    row = await asyncio.to_thread(items.get, item_id)
    if row is None:
        return None
    where = await asyncio.to_thread(items.channel_place, row.channel_id)
    if where is None or where[:2] != (place.platform, place.workspace):
        return None
    return row, where


async def _view(inbound: Inbound, item_id: int) -> tuple[ActionItem, ItemView] | None:
    """The item as a list line shows it now (the adapter re-renders that line)."""
    items = inbound.services.repo.items
    row = await asyncio.to_thread(items.get, item_id)
    if row is None:
        return None
    view = await asyncio.to_thread(items.view, row)
    return service.as_action_item(row), view


async def refuse(
    inbound: Inbound,
    row: ActionItemRecord,
    where: tuple[str, str, str],
    user_id: str,
    acting_in: Place,
) -> str | None:
    """None when `user_id` may change the item: its owner, whoever asked for the recap,
    the channel's managers (acting in that channel: a direct message is managed by its
    one person, who must not manage other people's direct messages from their own) and
    ADMIN_USERS; else the notice saying who may."""
    if user_id and user_id in (row.owner_id, row.requested_by):
        return None
    if inbound.services.is_admin(acting_in.platform, user_id):
        return None
    if where == (acting_in.platform, acting_in.workspace, acting_in.channel):
        place = Place(platform=where[0], workspace=where[1], channel=where[2])
        if await inbound.may_manage(place, user_id):
            return None
    who: list[str] = []
    if row.owner_id:
        who.append(f"<@{row.owner_id}>")
    elif row.owner_name:
        who.append(row.owner_name)
    if row.requested_by and row.requested_by != row.owner_id:
        who.append(sentences.ITEM_REQUESTER.format(user=row.requested_by))
    managers = inbound.managers_of(where[0])
    who.append(managers if isinstance(managers, str) else sentences.MANAGERS_DEFAULT)
    listed = ", ".join(who[:-1]) + (" or " if len(who) > 1 else "") + who[-1]
    return sentences.ITEM_NOT_ALLOWED.format(who=listed)


def _already(row: ActionItemRecord, action: ItemAction) -> bool:
    """The click asks for what the item already is: nothing to refuse as stale."""
    if action.action in STATUS_OF:
        return row.status == STATUS_OF[action.action]
    if action.action == "reassign":
        return (action.owner_id or None) == row.owner_id and bool(action.owner_id)
    return False


async def _last_change(
    inbound: Inbound, row: ActionItemRecord, fields: tuple[str, ...]
) -> dict[str, str]:
    """Who made the last change of `fields` a stale click depended on, and what."""
    events = await asyncio.to_thread(inbound.services.repo.items.history, row.id or 0)
    for event in reversed(events):
        if event.field in fields:
            if is_person(event.actor):
                who = f"<@{event.actor}>"
            elif event.actor == BOT:
                who = sentences.ITEM_BY_RECAP
            else:
                who = event.actor.capitalize()
            return {"who": who, "what": f"{event.field}: {event.new or '—'}"}
    return {"who": sentences.ITEM_SOMEONE, "what": f"status: {row.status}"}


async def _clicked(inbound: Inbound, action: ItemAction) -> Reply | None:
    """The clicked message re-rendered with the item's state now, when it is a recap post
    the store knows (a list's message: None, the adapter updates its own line)."""
    if not action.message_id:
        return None
    services = inbound.services
    for row in await asyncio.to_thread(services.repo.items.recaps_showing, action.item_id):
        post = row.post or {}
        if post.get("message_id") == action.message_id:
            return await service.rendered_recap(services, row)
    return None


async def _export(inbound: Inbound, action: ItemAction) -> ItemActionResult:
    """The trackers feature exports (bot.features.items.trackers.request_export)."""
    try:
        trackers = importlib.import_module("bot.features.items.trackers")
        request_export = trackers.request_export
    except (ImportError, AttributeError):
        return ItemActionResult(changed=False, notice=sentences.ITEM_EXPORT_UNAVAILABLE)
    result = await request_export(inbound.services, action.item_id, action.user_id)
    if isinstance(result, ItemActionResult):
        return result
    # The item with its export's state ("creating…"): a list's line (`my items`, a
    # reminder) is re-rendered from it, a recap post from `reply`.
    return ItemActionResult(
        changed=bool(result), notice=result if isinstance(result, str) else None,
        reply=await _clicked(inbound, action), item=await _view(inbound, action.item_id),
    )  # fmt: skip
