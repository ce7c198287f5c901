"""The bolt AsyncApp: request verification, authorization, OAuth install, listeners.

Single workspace: an `authorize` callable from SLACK_BOT_TOKEN (no `auth.test` per event);
requests for any other workspace are acknowledged and dropped before authorization.
Multi-workspace: SLACK_CLIENT_ID/SECRET turn on bolt's OAuth flow at `/slack/install` and
`/slack/oauth_redirect`, with installations in our database (tokens encrypted).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.auth import SingleWorkspace
from adapters.slack.installation_store import DatabaseInstallationStore, SignedStateStore

log = logging.getLogger(__name__)

# Kept equal to manifest.yml's bot scopes (a test checks it).
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "mpim:history",
    "mpim:read",
    "users:read",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


class _TokenIsUsedFilter(logging.Filter):
    """bolt warns "`token` will be unused" when SLACK_BOT_TOKEN is in the environment and a
    client is given; our `authorize` does use that token, so the warning only misleads."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def single_workspace_app(
    *, signing_secret: str, client: AsyncWebClient, workspace: SingleWorkspace
) -> AsyncApp:

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return await workspace.authorize(enterprise_id, team_id)

    async def only_our_workspace(
        body: dict, context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Events of another workspace (the same app installed elsewhere with this signing
        secret) are acknowledged and dropped: our token must not act on them."""
        if body.get("type") == "url_verification" or await workspace.serves(
            context.team_id, context.enterprise_id
        ):
            await next()
            return None
        log.warning("ignored a Slack request for workspace %s", context.team_id)
        return BoltResponse(status=200, body="")

    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    quiet = _TokenIsUsedFilter()
    bolt_logger.addFilter(quiet)
    try:
        return AsyncApp(
            name="balafon",
            signing_secret=signing_secret,
            client=client,
            authorize=authorize,
            before_authorize=only_our_workspace,
            process_before_response=True,
        )
    finally:
        bolt_logger.removeFilter(quiet)


def oauth_app(
    *,
    signing_secret: str,
    client: AsyncWebClient,
    client_id: str,
    client_secret: str,
    store: DatabaseInstallationStore,
    state_store: SignedStateStore,
    redirect_uri: str | None = None,
    authorization_url: str | None = None,
) -> AsyncApp:
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        redirect_uri=redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=state_store,
        authorization_url=authorization_url,
    )
    app = AsyncApp(
        name="balafon",
        signing_secret=signing_secret,
        client=client,
        oauth_settings=settings,
        installation_store_bot_only=True,
        process_before_response=True,
    )
    app.enable_token_revocation_listeners()  # app_uninstalled, tokens_revoked
    return app
