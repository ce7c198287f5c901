"""Slack message markup in and out: `<@U1>`, `<#C1|name>`, `<!here>`, `&amp;`, timestamps.

Incoming text becomes plain text for the summarizer (mentions as `@Display Name`, so owners
can be matched by name); commands keep channel ids (`#C123`) for the parser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime

USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>")
_DATE = re.compile(r"<!date\^[^|>]*(?:\|([^>]*))?>")
_OTHER_COMMAND = re.compile(r"<![^>]*>")
_LINK = re.compile(r"<((?:https?|mailto|tel|slack):[^|>]*)(?:\|([^>]*))?>")


def ts_to_datetime(ts: str) -> datetime:
    """A Slack message timestamp ("1763900000.000100") as an aware UTC datetime."""
    return datetime.fromtimestamp(float(ts), tz=UTC)


def datetime_to_ts(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"


def mentioned_users(text: str) -> set[str]:
    return {match.group(1) for match in USER.finditer(text or "")}


def addresses(text: str, bot_user_id: str | None) -> bool:
    """Whether the message starts by mentioning the bot (it is a command, not conversation)."""
    return bool(bot_user_id) and (text or "").lstrip().startswith(f"<@{bot_user_id}")


def to_plain(text: str, names: Mapping[str, str]) -> str:
    """Slack markup to the plain text people see; unknown users keep their id."""

    def user(match: re.Match[str]) -> str:
        return "@" + (names.get(match.group(1)) or match.group(2) or match.group(1))

    text = USER.sub(user, text or "")
    text = CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _SUBTEAM.sub(lambda m: "@" + (m.group(2) or "group").lstrip("@"), text)
    text = _DATE.sub(lambda m: m.group(1) or "", text)
    text = _OTHER_COMMAND.sub("", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    return html.unescape(text)


def command_text(text: str, bot_user_id: str | None) -> str:
    """What follows the bot's mention, with channels as `#<id>` (what the parser reads)."""
    text = text or ""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = CHANNEL.sub(lambda m: " #" + m.group(1) + " ", text)
    return " ".join(to_plain(text, {}).split())


def mentioned_people(text: str, bot_user_id: str | None) -> dict[str, str]:
    """The people a command mentions, as `command_text` writes them (`@U1`, or the label
    Slack gave) -> their user id; the bot itself is not one of them."""
    return {
        "@" + (match.group(2) or match.group(1)): match.group(1)
        for match in USER.finditer(text or "")
        if match.group(1) != bot_user_id
    }
