"""Writing to one person on Slack (the core's `PrivateMessaging`): the direct message
between the bot and them (`conversations.open`, scope im:write), and their time zone
(`users.info`'s `tz`, cached with their name). Reminders post there through the core's
`Delivery`, marked with their key like every other post (`post_marked`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.slack.posting import SlackPosting
from bot.ports import Place, Reply, ReplyTarget

log = logging.getLogger(__name__)

# conversations.open errors that mean this person cannot be written to (not a failure to
# retry): deleted or deactivated, a bot, someone of another organisation the bot cannot see.
UNREACHABLE = {
    "user_not_found",
    "user_not_visible",
    "user_disabled",
    "cannot_dm_bot",
    "users_not_found",
}


class SlackPrivate(SlackPosting):
    """The private half of the Slack platform."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._direct: dict[tuple[str, str], str] = {}  # (team, user) -> DM channel id

    async def person(self, team_id: str, user_id: str) -> tuple[str, str | None]:
        """(display name, time zone) of a user (SlackPlatform: users.info, cached)."""
        raise NotImplementedError

    async def private_target(
        self, workspace: str, user_id: str, near: Place | None = None
    ) -> ReplyTarget | None:
        """The DM with `user_id` (opened once, then remembered); None when Slack says the
        person cannot be written to."""
        channel = self._direct.get((workspace, user_id))
        if channel is None:
            _, client = await self.me(workspace)
            try:
                opened = await client.conversations_open(users=user_id)
            except SlackApiError as exc:
                error = exc.response.get("error")
                if error in UNREACHABLE:
                    log.info("cannot write to %s privately: %s", user_id, error)
                    return None
                raise
            channel = str((opened.get("channel") or {}).get("id") or "")
            if not channel:
                return None
            self._direct[(workspace, user_id)] = channel
        return ReplyTarget(place=Place(platform="slack", workspace=workspace, channel=channel))

    async def post_private(self, workspace: str, user_id: str, reply: Reply) -> str | None:
        target = await self.private_target(workspace, user_id)
        if target is None:
            return None
        return await self.post(target, reply)

    async def user_timezone(self, workspace: str, user_id: str) -> str | None:
        _, zone = await self.person(workspace, user_id)
        return zone or None
