"""Clicks on action items' buttons (issue #16): Slack's block_actions for `item_done`,
`item_reopen`, `item_dismiss`, `item_export` and the `item_reassign` people picker.

bolt has checked the request's signature (the same Request URL as events); the listener
acks at once and this runs after: the click's data is read strictly (it comes from the
client), the core applies it, the clicked message is replaced with chat.update (an
ephemeral one through its response_url) so everyone sees the state now, and a notice
(refused, stale, failed) goes to the clicker alone with chat.postEphemeral.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from typing import Any

from adapters.slack import sentences
from adapters.slack.blocks import OWNER_ID
from adapters.slack.item_blocks import block_reference
from adapters.slack.platform import SlackPlatform
from bot.inbound import InboundPort
from bot.item_buttons import action_of, item_reference
from bot.ports import ItemAction, ItemActionResult, Place, ReplyTarget, TextReply

log = logging.getLogger(__name__)
ACTION_IDS = re.compile(r"^item_(done|reopen|dismiss|reassign|export)$")
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")
NAME_TIMEOUT = 2.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class ItemClicks:
    def __init__(self, *, core: InboundPort, platform: SlackPlatform) -> None:
        self.core = core
        self.platform = platform

    def read(self, team: str, body: dict[str, Any], action: dict[str, Any]) -> ItemAction | None:
        """The click as the core's ItemAction, or None when any part of it is not what
        our buttons send (a forged or foreign payload)."""
        name = action_of(action.get("action_id"))
        user = _text(_dict(body.get("user")).get("id"))
        if name is None or not OWNER_ID.fullmatch(user):
            return None
        owner = None
        if name == "reassign":
            ref = block_reference(action.get("block_id"))
            owner = _text(action.get("selected_user"))
            if not OWNER_ID.fullmatch(owner):
                return None  # cleared, or not a person's id
        else:
            ref = item_reference(action.get("value"))
        container, message = _dict(body.get("container")), _dict(body.get("message"))
        channel = _text(_dict(body.get("channel")).get("id")) or _text(container.get("channel_id"))
        ts = _text(container.get("message_ts"))
        if ref is None or not channel or not _TS.fullmatch(ts):
            return None
        thread = _text(message.get("thread_ts")) or None
        stamp = _text(action.get("action_ts")) or ts
        return ItemAction(
            place=Place(platform="slack", workspace=team, channel=channel, thread=thread),
            user_id=user,
            item_id=ref.item_id,
            action=name,
            event_key=f"slack:{team}:item:{stamp}:{user}:{ref.item_id}",
            owner_id=owner,
            version=ref.version,
            message_id=None if container.get("is_ephemeral") else ts,
        )

    async def on_click(self, team: str, body: dict[str, Any], action: dict[str, Any]) -> None:
        click = self.read(team, body, action)
        if click is None:
            log.info("ignored an item click that is not one of ours (%s)", action.get("action_id"))
            return
        if click.owner_id:
            click = await self._named(click)
        notice_to = ReplyTarget(place=click.place, ephemeral_to=click.user_id)
        try:
            result = await self.core.handle_item_action(click)
        except Exception:
            log.exception("item click %s failed", click.event_key)
            await self.platform.post(notice_to, TextReply(text=sentences.ITEM_CLICK_FAILED))
            return
        await self._show(click, result, _text(body.get("response_url")))
        if result.notice:
            await self.platform.post(notice_to, TextReply(text=result.notice))

    async def _named(self, click: ItemAction) -> ItemAction:
        """The new owner's display name, if Slack says it quickly."""
        assert click.owner_id is not None
        try:
            lookup = self.platform.person(click.place.workspace, click.owner_id)
            name, _ = await asyncio.wait_for(lookup, NAME_TIMEOUT)
        except Exception:
            return click
        return replace(click, owner_name=name)

    async def _show(self, click: ItemAction, result: ItemActionResult, response_url: str) -> None:
        """The clicked message with the item's state now: chat.update, or for an
        ephemeral message its response URL (the only way to replace one)."""
        if result.reply is None:
            return
        target = ReplyTarget(place=click.place)
        if click.message_id is not None:
            await self.platform.update_item_message(
                target, click.message_id, result.reply, click.item_id
            )
        elif response_url:
            await self.platform.replace_ephemeral(response_url, result.reply, click.item_id)
