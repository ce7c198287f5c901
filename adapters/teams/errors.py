"""The Teams adapter's errors: one small hierarchy, messages fit to show."""

from __future__ import annotations

from bot import ports
from bot.errors import ConfigError, PermanentJobError


class TeamsConfigError(ConfigError):
    """The Teams settings cannot work; the message says what to set."""


class Unauthorized(Exception):
    """An inbound request failed Bot Framework authentication (always answered 401)."""


class HistoryUnavailableError(ports.HistoryUnavailableError):
    """Teams bots cannot read conversation history without Microsoft Graph.

    Raised by `fetch_messages` when Graph is not configured (or cannot read this kind of
    conversation); the core answers from the messages it stored as they arrived.
    """


class NoConversationError(PermanentJobError):
    """The bot has no conversation reference for a place: it was never installed there."""
