"""Everything the Teams adapter reads from settings, in one frozen object.

The adapter takes a `TeamsOptions` rather than reading `Settings` fields one by one, so
tests (and sovereign clouds) can point every endpoint somewhere else. The Bot Framework
endpoint keys keep botbuilder's own names (`TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL`…), so
Microsoft's documentation for government and private clouds applies as written.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botframework.connector.auth import AuthenticationConstants
from pydantic import SecretStr

from adapters.teams.settings import TeamsSettings

PUBLIC_LOGIN_HOST = "https://login.microsoftonline.com"
DEFAULT_CHANNEL_TENANT = "botframework.com"
GRAPH_URL = "https://graph.microsoft.com/v1.0"


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def host_list(value: Any) -> tuple[str, ...]:
    """`a.example, .b.example` (or a list) as bare lower-case host names."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return tuple(h for h in (str(i).strip().lower().strip(".") for i in items) if h)


@dataclass(frozen=True, kw_only=True)
class TeamsOptions:
    app_id: str = ""  # empty: anonymous mode, only with allow_anonymous (local development)
    app_password: str = ""
    allow_anonymous: bool = False
    tenant_id: str = ""  # set for a single-tenant bot registration
    # Inbound JWT validation
    openid_metadata_url: str = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
    emulator_openid_metadata_url: str = (
        AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
    )
    token_issuer: str = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
    # Outbound tokens: the authority URL (host + tenant) and the connector's scope
    login_url: str = ""  # empty: https://login.microsoftonline.com/<tenant or botframework.com>
    oauth_scope: str = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
    oauth_url: str = AuthenticationConstants.OAUTH_URL
    # Microsoft Graph (history, meeting transcripts and recordings); off without a client id
    graph_client_id: str = ""
    graph_client_secret: str = ""
    graph_url: str = GRAPH_URL
    # File links may also come from these hosts (and their subdomains), over https:
    # private clouds' file hosts (TEAMS_DOWNLOAD_HOSTS); SharePoint and OneDrive always may.
    download_hosts: tuple[str, ...] = ()
    # HTTPS: extra CA bundle for the token endpoint (private clouds, tests); proxies from env
    ca_bundle: str | None = None
    trust_env: bool = True
    # Meetings: how long to look for a recording or transcript after a meeting ends
    meeting_wait_seconds: float = 1800.0
    meeting_poll_seconds: float = 60.0
    http_timeout_seconds: float = 30.0

    @property
    def anonymous(self) -> bool:
        return not self.app_id

    @property
    def graph_enabled(self) -> bool:
        return bool(self.graph_client_id and self.graph_client_secret)

    @property
    def authority(self) -> str:
        """Where the bot gets its Bot Framework tokens (MSAL authority)."""
        if self.login_url:
            return self.login_url.rstrip("/")
        return f"{PUBLIC_LOGIN_HOST}/{self.tenant_id or DEFAULT_CHANNEL_TENANT}"

    def tenant_authority(self, tenant_id: str) -> str:
        """The same login host, for a customer's tenant (Graph tokens are per tenant)."""
        return self.authority.rsplit("/", 1)[0] + "/" + tenant_id

    def tls_verify(self) -> ssl.SSLContext | bool:
        """What httpx verifies HTTPS peers with: the system's CAs, or those plus ours."""
        if not self.ca_bundle:
            return True
        return ssl.create_default_context(cafile=self.ca_bundle)

    @property
    def graph_scope(self) -> str:
        parts = urlsplit(self.graph_url)
        return f"{parts.scheme}://{parts.netloc}/.default"

    @classmethod
    def from_settings(cls, settings: TeamsSettings) -> TeamsOptions:
        """The options the Teams keys of the environment describe (unset: the defaults)."""
        defaults = cls()
        return cls(
            app_id=settings.microsoft_app_id or "",
            allow_anonymous=settings.teams_anonymous,
            app_password=_secret(settings.microsoft_app_password),
            tenant_id=settings.microsoft_app_tenant_id or "",
            openid_metadata_url=settings.to_bot_from_channel_openid_metadata_url
            or defaults.openid_metadata_url,
            emulator_openid_metadata_url=settings.to_bot_from_emulator_openid_metadata_url
            or defaults.emulator_openid_metadata_url,
            token_issuer=settings.to_bot_from_channel_token_issuer or defaults.token_issuer,
            login_url=settings.to_channel_from_bot_login_url or "",
            oauth_scope=settings.to_channel_from_bot_oauth_scope or defaults.oauth_scope,
            oauth_url=settings.oauth_url or defaults.oauth_url,
            graph_client_id=settings.teams_graph_client_id or "",
            graph_client_secret=_secret(settings.teams_graph_client_secret),
            graph_url=settings.teams_graph_url or defaults.graph_url,
            ca_bundle=settings.teams_ca_bundle or None,
            download_hosts=host_list(settings.teams_download_hosts),
            meeting_wait_seconds=float(settings.teams_meeting_wait_minutes) * 60,
        )
