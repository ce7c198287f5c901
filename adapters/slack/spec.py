"""The Slack adapter as the composition root sees it (no slack_bolt import until mounted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.slack.settings import SlackSettings
from bot.adapter_spec import AdapterSpec, MountContext

if TYPE_CHECKING:
    from bot.app import Mountable


def mount(settings: SlackSettings, context: MountContext) -> Mountable | None:
    """Slack when a signing secret is set (HTTP) or Socket Mode is asked for."""
    if not (settings.slack_signing_secret or context.slack_socket_mode):
        return None
    from adapters.slack.adapter import SlackAdapter

    slack = SlackAdapter(
        settings=settings,
        core=context.core,
        socket_mode=context.slack_socket_mode,
        encryption_key=context.encryption_key,
    )
    context.core.services.register(slack)
    return slack


ADAPTER = AdapterSpec(
    name="slack",
    settings=SlackSettings,
    webhook_paths=("/slack/events", "/slack/oauth_redirect"),
    metrics_prefixes=("/slack",),
    mount=mount,
)
