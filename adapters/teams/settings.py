"""The Teams adapter's settings: the `MICROSOFT_APP_*` and `TEAMS_*` keys, and the Bot
Framework endpoint keys under botbuilder's own names (`TO_BOT_FROM_CHANNEL_…`), so that
Microsoft's documentation for government and private clouds applies as written."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bot.config import SETTINGS_CONFIG


class TeamsSettings(BaseSettings):
    model_config = SETTINGS_CONFIG

    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_tenant_id: str | None = None
    teams_anonymous: bool = False  # local development only: no app id, no token checks
    teams_graph_client_id: str | None = None  # Graph: history and meeting recaps
    teams_graph_client_secret: SecretStr | None = None
    teams_graph_url: str = "https://graph.microsoft.com/v1.0"
    teams_meeting_wait_minutes: int = Field(default=30, ge=1)
    teams_ca_bundle: str | None = None
    # Extra hosts Teams file links may be downloaded from (comma-separated; a name covers
    # its subdomains; https only), for private clouds: SharePoint and OneDrive always may.
    teams_download_hosts: str = ""
    # Bot Framework endpoints, for government and private clouds (unset: public cloud).
    to_bot_from_channel_openid_metadata_url: str | None = None
    to_bot_from_channel_token_issuer: str | None = None
    to_bot_from_emulator_openid_metadata_url: str | None = None
    to_channel_from_bot_login_url: str | None = None
    to_channel_from_bot_oauth_scope: str | None = None
    oauth_url: str | None = None

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id or self.teams_anonymous)
