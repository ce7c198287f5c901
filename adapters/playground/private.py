"""Writing to one person in the playground (the core's `PrivateMessaging`): it has no
direct messages, so a private notice is a message only they see in their own view of a
channel (like the ephemeral answers to their commands): the channel the notice is about,
else the first one. People's time zones are not kept (each page sends its own with every
message, not stored): reminders use DEFAULT_TIMEZONE here."""

from __future__ import annotations

import asyncio

from adapters.playground.store import PlaygroundStore
from bot.ports import Place, Reply, ReplyTarget

PLATFORM = "playground"
WORKSPACE = "local"


class PlaygroundPrivate:
    """The private half of the playground platform (PlaygroundPlatform supplies these)."""

    store: PlaygroundStore

    async def post(self, target: ReplyTarget, reply: Reply) -> str:
        raise NotImplementedError

    async def private_target(
        self, workspace: str, user_id: str, near: Place | None = None
    ) -> ReplyTarget | None:
        if await asyncio.to_thread(self.store.user, user_id) is None:
            return None
        channel = near.channel if near is not None else None
        if channel is None or not await asyncio.to_thread(self.store.has_channel, channel):
            channels = await asyncio.to_thread(self.store.channels)
            if not channels:
                return None
            channel = str(channels[0]["id"])
        place = Place(platform=PLATFORM, workspace=WORKSPACE, channel=channel)
        return ReplyTarget(place=place, ephemeral_to=user_id)

    async def post_private(self, workspace: str, user_id: str, reply: Reply) -> str | None:
        target = await self.private_target(workspace, user_id)
        if target is None:
            return None
        return await self.post(target, reply)

    async def user_timezone(self, workspace: str, user_id: str) -> str | None:
        return None
