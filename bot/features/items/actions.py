"""A click on an item's button, or `done N`: who may change it, stale cards, history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ports import ItemAction, ItemActionResult

if TYPE_CHECKING:
    from bot.inbound import Inbound


async def handle_action(inbound: Inbound, action: ItemAction) -> ItemActionResult:
    raise NotImplementedError("issue #16: item actions are being built")
