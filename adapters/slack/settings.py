"""The Slack adapter's settings: the `SLACK_*` keys of the environment and `.env`.

Field names carry the `slack_` prefix themselves (rather than `env_prefix`), so that the
composed `Settings` (bot/main.py) keeps one flat namespace with every documented key.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from bot.config import SETTINGS_CONFIG


class SlackSettings(BaseSettings):
    model_config = SETTINGS_CONFIG

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # Socket Mode
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    @property
    def slack_enabled(self) -> bool:
        """Served over HTTP when a signing secret is set (Socket Mode is asked for apart)."""
        return self.slack_signing_secret is not None
