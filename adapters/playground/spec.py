"""The playground as the composition root sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.playground.settings import PlaygroundSettings
from bot.adapter_spec import AdapterSpec, MountContext
from bot.http import is_loopback_host

if TYPE_CHECKING:
    from bot.app import Mountable


def enabled(settings: PlaygroundSettings, host: str) -> bool:
    """On for a local try-out (serve on a loopback address); elsewhere only when
    PLAYGROUND_ENABLED=true says so. Either way it answers only the access token."""
    if settings.playground_enabled is not None:
        return settings.playground_enabled
    return is_loopback_host(host)


def mount(settings: PlaygroundSettings, context: MountContext) -> Mountable | None:
    files_dir = context.data_dir / "playground"
    if not context.serving:
        # A worker posts the playground's results; its jobs exist only if it is served.
        if settings.playground_enabled is not False:
            from adapters.playground.adapter import worker_platform

            context.core.services.register(worker_platform(context.core, files_dir))
        return None
    if not enabled(settings, context.host):
        return None
    from adapters.playground.adapter import PlaygroundAdapter

    playground = PlaygroundAdapter(
        core=context.core, files_dir=files_dir, access_token=context.access_token
    )
    context.core.services.register(playground)
    return playground


ADAPTER = AdapterSpec(
    name="playground",
    settings=PlaygroundSettings,
    metrics_prefixes=("/playground",),
    mount=mount,
)
