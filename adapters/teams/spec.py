"""The Teams adapter as the composition root sees it (no botbuilder import until mounted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.teams.settings import TeamsSettings
from bot.adapter_spec import AdapterSpec, MountContext

if TYPE_CHECKING:
    from bot.app import Mountable


def mount(settings: TeamsSettings, context: MountContext) -> Mountable | None:
    """Teams when an app id is set, or anonymous mode (local development) is asked for."""
    if not settings.teams_enabled:
        return None
    from adapters.teams.adapter import TeamsAdapter

    teams = TeamsAdapter(
        settings=settings,
        core=context.core,
        listen_host=context.host if context.serving else None,
    )
    context.core.services.register(teams)
    return teams


ADAPTER = AdapterSpec(
    name="teams",
    settings=TeamsSettings,
    webhook_paths=("/api/messages",),
    metrics_prefixes=("/api/messages",),
    mount=mount,
)
