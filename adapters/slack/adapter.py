"""SlackAdapter: what the composition root mounts and registers with the core.

It is the core's `ChatPlatform` for Slack (see platform.py) and gives the ASGI app its
routes and start/stop hooks; events reach bolt over HTTP (`/slack/events`) or Socket Mode.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import SecretStr
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.slack.app import INSTALL_PATH, REDIRECT_PATH, oauth_app, single_workspace_app
from adapters.slack.auth import InstalledWorkspaces, SingleWorkspace, Workspaces
from adapters.slack.hosts import check_api_url
from adapters.slack.installation_store import DatabaseInstallationStore, SignedStateStore
from adapters.slack.listeners import Listeners
from adapters.slack.platform import SlackPlatform
from adapters.slack.settings import SlackSettings
from adapters.slack.socket_mode import SocketMode
from bot.app import Ingress
from bot.background import Background
from bot.crypto import require_cipher
from bot.errors import ConfigError
from bot.inbound import InboundPort

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # Slack publishes no maximum; a message is at most 40,000 characters


class SlackConfigError(ConfigError):
    """The Slack settings do not describe a way to run; the message says what to set."""


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


class SlackAdapter(SlackPlatform):
    """Slack for the core: single-workspace (SLACK_BOT_TOKEN) or OAuth (SLACK_CLIENT_ID),
    over HTTP or Socket Mode (`socket_mode=True`, SLACK_APP_TOKEN)."""

    def __init__(
        self,
        *,
        settings: SlackSettings,
        core: InboundPort,
        socket_mode: bool = False,
        encryption_key: str = "",
    ) -> None:
        """`encryption_key` (ENCRYPTION_KEY): encrypts installations' tokens (OAuth)."""
        self.settings = settings
        self.core = core
        self.signing_secret = _secret(settings.slack_signing_secret)
        self.oauth = bool(settings.slack_client_id)
        if not socket_mode and not self.signing_secret:
            raise SlackConfigError("SLACK_SIGNING_SECRET is required to receive Slack events.")
        if socket_mode and not settings.slack_app_token:
            raise SlackConfigError("Socket Mode needs SLACK_APP_TOKEN (an xapp-… token).")
        try:
            check_api_url(settings.slack_api_url)  # the token goes there: https only
        except ValueError as exc:
            raise SlackConfigError(str(exc)) from None
        self.store: DatabaseInstallationStore | None = None
        workspaces: Workspaces
        if self.oauth:
            if settings.slack_bot_token:
                log.warning("SLACK_CLIENT_ID is set: SLACK_BOT_TOKEN is ignored (OAuth installs)")
            if not settings.slack_client_secret:
                raise SlackConfigError("SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not.")
            cipher = require_cipher(encryption_key, purpose="Multi-workspace Slack (OAuth)")
            self.store = DatabaseInstallationStore(repo=core.services.repo, cipher=cipher)
            workspaces = InstalledWorkspaces(
                store=self.store,
                client_id=settings.slack_client_id or "",
                client_secret=_secret(settings.slack_client_secret),
            )
        elif settings.slack_bot_token:
            workspaces = SingleWorkspace(
                token=_secret(settings.slack_bot_token), repo=core.services.repo
            )
        else:
            raise SlackConfigError(
                "Set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (installable in many workspaces)."
            )
        super().__init__(api_url=settings.slack_api_url, workspaces=workspaces)
        self.ingress = Ingress()  # Slack requests waiting for their ack
        self.background = Background(ready=self.ingress.settled)
        self.bolt = self._build_bolt(workspaces)
        Listeners(core=core, platform=self, background=self.background).register(self.bolt)
        self.handler = AsyncSlackRequestHandler(self.bolt)
        self.socket_mode = (
            SocketMode(self.bolt, app_token=_secret(settings.slack_app_token))
            if socket_mode
            else None
        )
        self._verifier = SignatureVerifier(self.signing_secret) if self.signing_secret else None

    def _build_bolt(self, workspaces: Workspaces) -> AsyncApp:
        if self.store is not None:
            return oauth_app(
                signing_secret=self.signing_secret,
                client=self.client,
                client_id=self.settings.slack_client_id or "",
                client_secret=_secret(self.settings.slack_client_secret),
                store=self.store,
                state_store=SignedStateStore(
                    secret=_secret(self.settings.slack_client_secret), repo=self.core.services.repo
                ),
            )
        assert isinstance(workspaces, SingleWorkspace)
        return single_workspace_app(
            signing_secret=self.signing_secret, client=self.client, workspace=workspaces
        )

    # --- Mountable --------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        routes: list[BaseRoute] = [Route("/slack/events", self.events, methods=["POST"])]
        if self.oauth:
            routes += [
                Route(INSTALL_PATH, self.handler.handle, methods=["GET"]),
                Route(REDIRECT_PATH, self.handler.handle, methods=["GET"]),
            ]
        return routes

    def body_limits(self) -> dict[str, int]:
        """Read at most MAX_BODY of a request before its signature is checked
        (bot/body_limit.py): events and interaction payloads are a few KB."""
        return {"/slack": MAX_BODY}

    async def startup(self) -> None:
        await self.open()
        await self.workspaces.startup(self.client)
        if self.socket_mode is not None:
            await self.socket_mode.start()

    async def shutdown(self) -> None:
        if self.socket_mode is not None:
            await self.socket_mode.stop()
        await self.background.settle(timeout=10)
        await self.close()

    async def settle(self) -> None:
        """Wait for the work started after acks (tests call it before looking at Slack)."""
        await self.background.settle()

    # --- HTTP -------------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        """Events, slash commands and shortcuts. Anything not signed with our secret in
        the last five minutes is a 401 before bolt parses a byte of it."""
        body = await request.body()
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        try:
            valid = bool(
                self._verifier
                and timestamp.isdigit()
                and self._verifier.is_valid(body, timestamp, signature)
            )
        except Exception:  # malformed header values
            valid = False
        if not valid:
            return JSONResponse({"error": "invalid request"}, status_code=401)
        with self.ingress.answering():
            return await self.handler.handle(request)
