"""Multi-workspace installs: bolt's installation and OAuth-state stores on our database.

Installations live in the `workspaces` table (platform "slack"), tokens encrypted with
ENCRYPTION_KEY. Only bot installs are kept: the app asks for no user scopes. Lookups are
cached briefly because bolt asks on every event.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.crypto import TokenCipher
from bot.storage.models import Workspace
from bot.storage.repo import Repository

log = logging.getLogger(__name__)

PLATFORM = "slack"


def _epoch_to_datetime(value: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


class DatabaseInstallationStore(AsyncInstallationStore):
    """Bot installations keyed by team id (or enterprise id for org-wide installs)."""

    def __init__(
        self, *, repo: Repository, cipher: TokenCipher, cache_seconds: float = 60.0
    ) -> None:
        self.repo = repo
        self.cipher = cipher
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Bot | None]] = {}

    @property
    def logger(self) -> logging.Logger:
        return log

    @staticmethod
    def _key(enterprise_id: str | None, team_id: str | None, org_wide: bool | None) -> str:
        return (enterprise_id if org_wide or not team_id else team_id) or ""

    # --- save -------------------------------------------------------------------------

    async def async_save(self, installation: Installation) -> None:
        if installation.bot_token is None:
            log.warning("ignoring an installation without a bot token (no bot scopes?)")
            return
        await self.async_save_bot(installation.to_bot())
        if installation.user_id:
            key = self._key(
                installation.enterprise_id,
                installation.team_id,
                installation.is_enterprise_install,
            )
            await asyncio.to_thread(
                self.repo.update_workspace, PLATFORM, key, installed_by=installation.user_id
            )

    async def async_save_bot(self, bot: Bot) -> None:
        key = self._key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        fields: dict[str, Any] = {
            "enterprise_id": bot.enterprise_id,
            "name": bot.team_name or bot.enterprise_name,
            "app_id": bot.app_id,
            "bot_user_id": bot.bot_user_id,
            "bot_id": bot.bot_id,
            "bot_token": self.cipher.encrypt(bot.bot_token),
            "bot_scopes": ",".join(bot.bot_scopes or []),
            "bot_refresh_token": (
                self.cipher.encrypt(bot.bot_refresh_token) if bot.bot_refresh_token else None
            ),
            "bot_token_expires_at": _epoch_to_datetime(bot.bot_token_expires_at),
            "is_enterprise_install": bool(bot.is_enterprise_install),
            "installed_at": _epoch_to_datetime(bot.installed_at) or datetime.now(UTC),
            "uninstalled_at": None,
        }
        await asyncio.to_thread(self.repo.update_workspace, PLATFORM, key, **fields)
        self._cache.pop(key, None)

    # --- find -------------------------------------------------------------------------

    def _bot(self, row: Workspace) -> Bot | None:
        if row.bot_token is None or row.uninstalled_at is not None:
            return None
        return Bot(
            app_id=row.app_id,
            enterprise_id=row.enterprise_id,
            team_id=None if row.is_enterprise_install else row.external_id,
            team_name=row.name,
            bot_token=self.cipher.decrypt(row.bot_token),
            bot_id=row.bot_id or "",
            bot_user_id=row.bot_user_id or "",
            bot_scopes=row.bot_scopes or "",
            bot_refresh_token=(
                self.cipher.decrypt(row.bot_refresh_token) if row.bot_refresh_token else None
            ),
            bot_token_expires_at=(
                int(row.bot_token_expires_at.timestamp()) if row.bot_token_expires_at else None
            ),
            is_enterprise_install=row.is_enterprise_install,
            installed_at=row.installed_at,
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = self._key(enterprise_id, team_id, is_enterprise_install)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        row = await asyncio.to_thread(self.repo.get_workspace, PLATFORM, key)
        if row is None and team_id and enterprise_id and not is_enterprise_install:
            # A workspace of an organisation where the app was installed org-wide.
            row = await asyncio.to_thread(self.repo.get_workspace, PLATFORM, enterprise_id)
        bot = self._bot(row) if row is not None else None
        self._cache[key] = (time.monotonic() + self.cache_seconds, bot)
        return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is None:
            return None
        key = self._key(enterprise_id, team_id, is_enterprise_install)
        row = await asyncio.to_thread(self.repo.get_workspace, PLATFORM, key)
        installer = row.installed_by if row is not None else None
        if user_id is not None and user_id != installer:
            return None  # we keep no user tokens, so only the installer's record exists
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token,
            bot_token_expires_at=bot.bot_token_expires_at,
            user_id=installer or "",
            is_enterprise_install=bot.is_enterprise_install,
            installed_at=bot.installed_at,
        )

    # --- delete (app_uninstalled, tokens_revoked) --------------------------------------

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        key = self._key(enterprise_id, team_id, None)
        if await asyncio.to_thread(self.repo.get_workspace, PLATFORM, key) is None:
            return
        await asyncio.to_thread(
            self.repo.update_workspace,
            PLATFORM,
            key,
            bot_token=None,
            bot_refresh_token=None,
            bot_token_expires_at=None,
            uninstalled_at=datetime.now(UTC),
        )
        self._cache.pop(key, None)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class SignedStateStore(AsyncOAuthStateStore):
    """OAuth `state` values signed with the client secret, valid once, for a few minutes.

    Stateless to issue (any web process can check it); single use is enforced through the
    processed-events table, so a replayed callback is refused on every process.
    """

    def __init__(self, *, secret: str, repo: Repository, expiration_seconds: int = 600) -> None:
        self._secret = secret.encode()
        self.repo = repo
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        body = f"{int(time.time()) + self.expiration_seconds}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign(body)}"

    async def async_consume(self, state: str) -> bool:
        body, _, signature = state.rpartition(".")
        expires, _, _nonce = body.partition(".")
        if not body or not hmac.compare_digest(self._sign(body), signature):
            return False
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return await asyncio.to_thread(self.repo.first_time_seen, f"slack:oauth-state:{body}")
