"""Clicks on action items' buttons in Teams (issue #16): the `adaptiveCard/action` invoke
of an `Action.Execute` whose verb is `item_done`, `item_reopen`, `item_dismiss`,
`item_export` or `item_reassign` (with the people picker's choice).

The activity is authenticated like any other (adapters/teams/adapter.py); its data comes
from the client and is read strictly. The core applies the change; the invoke is answered
with the card refreshed (the clicker sees it at once, with the core's notice on top when
there is one), and the message is replaced with updateActivity so everyone else sees the
new state too. A refusal with nothing to show is answered as a message to the clicker
alone (`application/vnd.microsoft.activity.message`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import AdaptiveCardInvokeResponse

from adapters.teams import cards, item_cards
from adapters.teams import sentences as teams_sentences
from adapters.teams.activities import ENTRA_ID, Conversation, author_of, conversation_of
from adapters.teams.platform import TeamsPlatform
from bot.inbound import InboundPort
from bot.item_buttons import action_of, item_reference
from bot.ports import ItemAction, ItemActionResult

log = logging.getLogger(__name__)
MAX_DATA_KEYS = 30  # our three keys, a picker's input, and what a client may add
NAME_TIMEOUT = 2.0
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
ERROR_TYPE = "application/vnd.microsoft.error"


def read_click(activity: Any, conversation: Conversation, action: Any) -> ItemAction | None:
    """The invoke as the core's ItemAction, or None when it is not one of our buttons'."""
    if not isinstance(action, dict):
        return None
    name = action_of(action.get("verb"))
    data = action.get("data")
    if name is None or not isinstance(data, dict) or len(data) > MAX_DATA_KEYS:
        return None
    if data.get("balafon") != item_cards.MARKER:
        return None
    ref = item_reference({"id": data.get("id"), "v": data.get("v")})
    user, _ = author_of(activity)
    if ref is None or not user or not conversation.tenant:
        return None
    owner = None
    if name == "reassign":
        picked = data.get(f"owner_{ref.item_id}")
        if not isinstance(picked, str) or not ENTRA_ID.fullmatch(picked):
            return None
        owner = picked.lower()
    return ItemAction(
        place=conversation.place(conversation.thread),
        user_id=user,
        item_id=ref.item_id,
        action=name,
        event_key=f"teams:{conversation.tenant}:{conversation.key}:item:{activity.id}",
        owner_id=owner,
        version=ref.version,
        message_id=activity.reply_to_id or None,
    )


def _message(text: str) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(status_code=200, type=MESSAGE_TYPE, value=text)


class ItemClicks:
    def __init__(self, *, core: InboundPort, platform: TeamsPlatform) -> None:
        self.core = core
        self.platform = platform

    async def answer(self, turn_context: TurnContext, action: Any) -> AdaptiveCardInvokeResponse:
        activity = turn_context.activity
        conversation = conversation_of(activity)
        click = read_click(activity, conversation, action)
        if click is None:
            log.info("refused a card action that is not an item button's (%s)", activity.id)
            return AdaptiveCardInvokeResponse(
                status_code=400,
                type=ERROR_TYPE,
                value={"code": "BadRequest", "message": teams_sentences.ITEM_ACTION_UNKNOWN},
            )
        if click.owner_id:
            click = await self._named(click)
        try:
            result = await self.core.handle_item_action(click)
        except Exception:
            log.exception("item action %s failed", click.event_key)
            return _message(teams_sentences.ITEM_ACTION_FAILED)
        names = {conversation.key: conversation.name or "this conversation"}
        notice = cards.core_text(result.notice, names) if result.notice else None
        if result.reply is None:
            return _message(notice or teams_sentences.ITEM_ACTION_DONE)
        card = self._card(result, click.item_id, names)
        if result.changed and click.message_id:
            await self._update_for_everyone(turn_context, click.message_id, card, result)
        if notice:
            card = {**card, "body": [cards.block(notice, color="Attention"), *card["body"]]}
        return AdaptiveCardInvokeResponse(status_code=200, type=cards.CONTENT_TYPE, value=card)

    @staticmethod
    def _card(result: ItemActionResult, item_id: int, names: dict[str, str]) -> dict[str, Any]:
        assert result.reply is not None
        rendered = [cards.card_of(a) for a in cards.render(result.reply, names=names)]
        return item_cards.card_with_item(rendered, item_id)

    async def _update_for_everyone(
        self,
        turn_context: TurnContext,
        message_id: str,
        card: dict[str, Any],
        result: ItemActionResult,
    ) -> None:
        """The invoke's answer updates the clicker's view; updateActivity everyone's."""
        summary = getattr(result.reply, "title", "") or "Action items"
        update = cards.message(card, summary)
        update.id = message_id
        try:
            await turn_context.update_activity(update)
        except Exception:
            log.warning("could not update message %s for everyone", message_id, exc_info=True)

    async def _named(self, click: ItemAction) -> ItemAction:
        """The new owner's display name, if Teams says it quickly."""
        assert click.owner_id is not None
        try:
            lookup = self.platform.display_name(click.place, click.owner_id)
            name = await asyncio.wait_for(lookup, NAME_TIMEOUT)
        except Exception:
            return click
        return replace(click, owner_name=name) if name else click
