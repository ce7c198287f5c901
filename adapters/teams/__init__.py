"""Microsoft Teams adapter: botbuilder (CloudAdapterBase + TeamsActivityHandler) behind
`/api/messages`, replies as Adaptive Cards, Microsoft Graph for history and meetings.

Exports load lazily, so `adapters.teams.package` (the app package command) works without
importing botbuilder.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.teams.adapter import TeamsAdapter
    from adapters.teams.errors import (
        HistoryUnavailableError,
        NoConversationError,
        TeamsConfigError,
        Unauthorized,
    )
    from adapters.teams.options import TeamsOptions

_EXPORTS = {
    "TeamsAdapter": "adapters.teams.adapter",
    "TeamsOptions": "adapters.teams.options",
    "HistoryUnavailableError": "adapters.teams.errors",
    "NoConversationError": "adapters.teams.errors",
    "TeamsConfigError": "adapters.teams.errors",
    "Unauthorized": "adapters.teams.errors",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'adapters.teams' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


__all__ = [
    "HistoryUnavailableError",
    "NoConversationError",
    "TeamsAdapter",
    "TeamsConfigError",
    "TeamsOptions",
    "Unauthorized",
]
