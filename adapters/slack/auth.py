"""Which token and bot identity to use for a workspace, in both install modes.

Single workspace: SLACK_BOT_TOKEN, and the bot's ids learned once with `auth.test` at
start-up (bolt's own token handling would call `auth.test` on the first event instead).
Multi-workspace: the installation store, with token rotation when the install has it.
Jobs run outside any Slack request, so the platform asks here rather than bolt's context.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.installation_store import PLATFORM, DatabaseInstallationStore
from bot.storage.repo import Repository

log = logging.getLogger(__name__)


class NotInstalledError(Exception):
    """The app has no usable token for that workspace (never installed, or uninstalled)."""


@dataclass(frozen=True, kw_only=True)
class BotIdentity:
    token: str
    team_id: str | None
    enterprise_id: str | None = None
    bot_user_id: str | None = None
    bot_id: str | None = None


class Workspaces(Protocol):
    async def startup(self, client: AsyncWebClient) -> None: ...

    async def identity(self, team_id: str) -> BotIdentity: ...


class SingleWorkspace:
    """One workspace, one bot token from the settings."""

    def __init__(self, *, token: str, repo: Repository) -> None:
        self._token = token
        self._repo = repo
        self._identity: BotIdentity | None = None
        self._client: AsyncWebClient | None = None
        self._lock = asyncio.Lock()

    async def startup(self, client: AsyncWebClient) -> None:
        self._client = client
        try:
            await self._learn()
        except Exception:  # Slack may be unreachable at boot: learn on first use instead
            log.warning("auth.test failed at start-up; will retry on first use", exc_info=True)

    async def _learn(self) -> BotIdentity:
        async with self._lock:
            if self._identity is None:
                assert self._client is not None, "startup() first"
                found = await self._client.auth_test(token=self._token)
                self._identity = BotIdentity(
                    token=self._token,
                    team_id=found.get("team_id"),
                    enterprise_id=found.get("enterprise_id"),
                    bot_user_id=found.get("user_id"),
                    bot_id=found.get("bot_id"),
                )
                if team_id := found.get("team_id"):
                    await asyncio.to_thread(
                        self._repo.update_workspace,
                        PLATFORM,
                        team_id,
                        name=found.get("team"),
                        bot_user_id=found.get("user_id"),
                        bot_id=found.get("bot_id"),
                    )
                log.info("Slack bot %s in workspace %s", found.get("user_id"), team_id)
            return self._identity

    async def identity(self, team_id: str) -> BotIdentity:
        return self._identity or await self._learn()

    async def serves(self, team_id: str | None, enterprise_id: str | None) -> bool:
        """Whether a request is for the workspace of our token (bolt's team id: the
        installation's, `authorizations[0]` for events); an org-wide token matches its org."""
        me = await self.identity(team_id or "")
        if me.team_id:
            return team_id == me.team_id
        return bool(me.enterprise_id) and enterprise_id == me.enterprise_id

    async def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """bolt's `authorize` callable: no Web API call per event."""
        me = await self.identity(team_id or "")
        return AuthorizeResult(
            enterprise_id=enterprise_id or me.enterprise_id,
            team_id=team_id or me.team_id,
            bot_token=me.token,
            bot_user_id=me.bot_user_id,
            bot_id=me.bot_id,
        )


class InstalledWorkspaces:
    """Workspaces that installed the app through OAuth."""

    def __init__(
        self,
        *,
        store: DatabaseInstallationStore,
        client_id: str,
        client_secret: str,
    ) -> None:
        self.store = store
        self._client_id = client_id
        self._client_secret = client_secret
        self._rotator: AsyncTokenRotator | None = None

    async def startup(self, client: AsyncWebClient) -> None:
        self._rotator = AsyncTokenRotator(
            client_id=self._client_id, client_secret=self._client_secret, client=client
        )

    async def identity(self, team_id: str) -> BotIdentity:
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None:
            raise NotInstalledError(f"the Slack app is not installed in workspace {team_id}")
        if bot.bot_refresh_token and self._rotator is not None:
            refreshed = await self._rotator.perform_bot_token_rotation(bot=bot)
            if refreshed is not None:
                await self.store.async_save_bot(refreshed)
                bot = refreshed
        return BotIdentity(
            token=bot.bot_token,
            team_id=bot.team_id or team_id,
            enterprise_id=bot.enterprise_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
        )
