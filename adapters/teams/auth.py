"""Inbound Bot Framework authentication: botbuilder's validation, every failure a 401.

The authentication object is botbuilder's parameterized one (what its configuration-based
authentication builds from `TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL` and friends), with
our credential factory and key sources. botbuilder raises PermissionError, ValueError,
AttributeError, IndexError, jwt errors or connection errors depending on what is wrong
with a token; `Authenticator.authenticate` turns all of them into `Unauthorized`.
"""

from __future__ import annotations

import logging

from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
    ConnectorFactory,
)

from adapters.teams.credentials import (
    CredentialFactory,
    TokenSource,
    VerifyingConnectorFactory,
    with_public_roots,
)
from adapters.teams.errors import Unauthorized
from adapters.teams.keys import SigningKeyError, SigningKeys
from adapters.teams.options import TeamsOptions

log = logging.getLogger(__name__)


class Authenticator:
    def __init__(self, options: TeamsOptions, *, tokens: TokenSource | None) -> None:
        self.options = options
        self.credentials = CredentialFactory(
            app_id=options.app_id,
            source=tokens,
            authority=options.authority,
            tenant_id=options.tenant_id,
        )
        verify = options.tls_verify()
        self.keys = [
            SigningKeys(url, verify=verify, trust_env=options.trust_env)
            for url in dict.fromkeys(
                [options.openid_metadata_url, options.emulator_openid_metadata_url]
            )
        ]
        self.bot_framework: BotFrameworkAuthentication = BotFrameworkAuthenticationFactory.create(
            channel_service="",
            validate_authority=True,
            to_channel_from_bot_login_url=options.authority,
            to_channel_from_bot_oauth_scope=options.oauth_scope,
            to_bot_from_channel_token_issuer=options.token_issuer,
            oauth_url=options.oauth_url,
            to_bot_from_channel_open_id_metadata_url=options.openid_metadata_url,
            to_bot_from_emulator_open_id_metadata_url=options.emulator_openid_metadata_url,
            credential_factory=self.credentials,
        )
        # The connector's calls (in turns: the request's factory; proactive: the
        # authentication's) verify with our CAs too.
        self.bundle = with_public_roots(options.ca_bundle) if options.ca_bundle else None
        if self.bundle is not None:
            create = self.bot_framework.create_connector_factory
            self.bot_framework.create_connector_factory = lambda identity: self._verifying(
                create(identity)
            )

    async def start(self) -> None:
        """Install our key sources and warm the channel's keys (a failure is only logged:
        the first request tries again)."""
        for keys in self.keys:
            keys.install()
        if self.options.anonymous:
            log.warning(
                "Teams: no MICROSOFT_APP_ID, running in anonymous mode: requests without a "
                "token are accepted. Use this only for local development."
            )
            return
        try:
            await self.keys[0].refresh()
        except SigningKeyError:
            log.warning("Teams: signing keys not available at start-up; will retry")

    def stop(self) -> None:
        for keys in self.keys:
            keys.uninstall()

    async def authenticate(
        self, activity: Activity, header: str | None
    ) -> AuthenticateRequestResult:
        header = (header or "").strip() or None
        if header is None and not self.options.anonymous:
            raise Unauthorized("no Authorization header")
        try:
            result = await self.bot_framework.authenticate_request(activity, header)
        except Exception as exc:
            log.info("Teams request refused: %s: %s", type(exc).__name__, exc)
            raise Unauthorized(str(exc) or type(exc).__name__) from exc
        identity = result.claims_identity if result else None
        if identity is None or not identity.is_authenticated:
            raise Unauthorized("not authenticated")
        if result.connector_factory is not None:
            result.connector_factory = self._verifying(result.connector_factory)
        return result

    def _verifying(self, factory: ConnectorFactory) -> ConnectorFactory:
        if self.bundle is None or isinstance(factory, VerifyingConnectorFactory):
            return factory
        return VerifyingConnectorFactory(factory, self.bundle)
