"""Slack adapter: bolt (async) over HTTP or Socket Mode, rendering replies as Block Kit."""

from adapters.slack.adapter import SlackAdapter, SlackConfigError

__all__ = ["SlackAdapter", "SlackConfigError"]
