"""A Slack Web API connection: one HTTP pool, one client per bot token, every call
retried on 429 (after Retry-After), 5xx and dropped connections; paginated listings."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.auth import BotIdentity, Workspaces
from adapters.slack.hosts import TokenHosts

MAX_PAGES = 100


def retry_handlers() -> list[AsyncRetryHandler]:
    """Retry what Slack asks to retry: 429 after Retry-After, 500/503, dropped connections."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
    ]


class SlackConnection:
    """The clients the Slack platform talks through."""

    def __init__(self, *, api_url: str, workspaces: Workspaces) -> None:
        self.api_url = api_url
        self.workspaces = workspaces
        self.session: aiohttp.ClientSession | None = None
        self.client = self._new_client(None)  # tokenless: OAuth exchange, Socket Mode
        self._clients: dict[str, AsyncWebClient] = {}
        self._people: dict[tuple[str, str], tuple[float, asyncio.Future]] = {}
        self.hosts = TokenHosts(api_url)  # ValueError for a non-https API URL

    def _new_client(self, token: str | None) -> AsyncWebClient:
        return AsyncWebClient(
            token=token,
            base_url=self.api_url,
            session=self.session,
            retry_handlers=retry_handlers(),
        )

    async def open(self) -> None:
        """One HTTP connection pool for all Web API calls (made on the running loop)."""
        if self.session is None:
            self.session = aiohttp.ClientSession()
            self.client.session = self.session
            for client in self._clients.values():
                client.session = self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
            self.client.session = None
            self._clients.clear()

    def client_for(self, token: str) -> AsyncWebClient:
        client = self._clients.get(token)
        if client is None:
            if len(self._clients) > 1000:  # rotated tokens: forget the old ones
                self._clients.clear()
            client = self._clients[token] = self._new_client(token)
        return client

    async def me(self, team_id: str) -> tuple[BotIdentity, AsyncWebClient]:
        identity = await self.workspaces.identity(team_id)
        return identity, self.client_for(identity.token)

    @staticmethod
    async def _pages(
        method: Callable[..., Awaitable[Any]], key: str, **kwargs: Any
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(MAX_PAGES):
            page = await method(**kwargs, **({"cursor": cursor} if cursor else {}))
            items.extend(page.get(key) or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return items
