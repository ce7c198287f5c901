"""Socket Mode: events over a WebSocket that the app opens, for hosts Slack cannot reach.

The same bolt app handles them (acks go back over the socket); `balafon serve
--slack-socket-mode` turns it on, with SLACK_APP_TOKEN (xapp-…, scope connections:write).
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)


class SocketMode:
    def __init__(self, app: AsyncApp, *, app_token: str) -> None:
        self.app = app
        self.app_token = app_token
        self.handler: AsyncSocketModeHandler | None = None

    async def start(self) -> None:
        """Connect (the client reconnects by itself when Slack rotates the socket)."""
        # Built here, on the running loop: the client binds to it.
        self.handler = AsyncSocketModeHandler(self.app, self.app_token)
        await self.handler.connect_async()
        log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        if self.handler is not None:
            await self.handler.close_async()
            self.handler = None
