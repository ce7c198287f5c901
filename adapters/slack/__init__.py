"""Slack adapter: bolt (async) over HTTP or Socket Mode, rendering replies as Block Kit.
Exports load lazily, so `adapters.slack.spec` and `.settings` import without slack_bolt."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.slack.adapter import SlackAdapter, SlackConfigError

_EXPORTS = {"SlackAdapter": "adapters.slack.adapter", "SlackConfigError": "adapters.slack.adapter"}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'adapters.slack' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


__all__ = ["SlackAdapter", "SlackConfigError"]
