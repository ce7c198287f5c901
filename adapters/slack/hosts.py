"""Where the Slack bot token may be sent: over https to the configured Web API host and to
Slack's file hosts, nowhere else.

SLACK_API_URL must be https; plain http is accepted only for a loopback host (a fake Slack
in tests, a local proxy on the same machine), where nothing crosses a network.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

# Hosts of `url_private_download` links: the only ones besides the API host that get the
# bot token, and only over https on the default port.
FILE_HOSTS = frozenset({"files.slack.com", "files.slack-gov.com"})
# Domains a slash command's response_url may point to (it never carries the token).
SLACK_DOMAINS = ("slack.com", "slack-gov.com")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    try:
        port = parts.port
    except ValueError:  # a port that is not a number
        port = -1
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, parts.hostname or "", port if port is not None else default


def check_api_url(url: str) -> str:
    """SLACK_API_URL as given, or ValueError saying why it cannot carry the token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback(host):
        return url
    raise ValueError(
        f"SLACK_API_URL={url!r} would send the Slack token unencrypted: it must be an "
        "https:// URL (plain http only for a loopback host such as 127.0.0.1)."
    )


class TokenHosts:
    """Decides which URLs may receive the bot token (see the module docstring)."""

    def __init__(self, api_url: str) -> None:
        self.api_origin = _origin(urlsplit(check_api_url(api_url)))

    def may_receive_token(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            return False
        origin = _origin(parts)
        if origin == self.api_origin:
            return True
        return origin[0] == "https" and origin[1] in FILE_HOSTS and origin[2] == 443

    def is_slack(self, url: str) -> bool:
        """A Slack address (a response_url): the API's origin or https on Slack's domains."""
        parts = urlsplit(url)
        origin = _origin(parts)
        if origin == self.api_origin:
            return True
        host = origin[1]
        return origin[0] == "https" and any(
            host == domain or host.endswith("." + domain) for domain in SLACK_DOMAINS
        )
