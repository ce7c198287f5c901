"""The playground's settings (the local chat server served with `balafon serve`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from bot.config import SETTINGS_CONFIG


class PlaygroundSettings(BaseSettings):
    model_config = SETTINGS_CONFIG

    # Unset: on when `serve` listens on a loopback address. Either way it answers only
    # the access token (ACCESS_TOKEN).
    playground_enabled: bool | None = None
