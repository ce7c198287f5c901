"""Which file links the Teams adapter fetches, and how (SSRF and token hygiene).

A file link in an activity is written by whoever sent the message, so it is checked
before anything is fetched, and again at every redirect hop (followed by hand, at most
`MAX_REDIRECTS`):

- allowed: the conversation's own service URL (same scheme, host and port), the Bot
  Framework connector hosts and Microsoft's file hosts (SharePoint and OneDrive, https
  only), plus the operator's `TEAMS_DOWNLOAD_HOSTS` (private clouds); a name matches
  itself and its subdomains. Microsoft Graph is not on the list: its token is only for
  resources the bot looks up itself (meeting recordings, see `GRAPH_REF`).
- the bot's token goes only to a URL under the service URL's path (a prefix ending in
  `/`, after dot segments are resolved) or to a connector host.
- every address the host resolves to must be public (no loopback, private, link-local,
  shared, reserved, multicast or unspecified address, IPv4-mapped ones included), except
  on the service URL's own origin (the connector: the tests run it on 127.0.0.1).
- the connection goes to the address that was checked (Host header and TLS name stay the
  host's), so a second DNS answer cannot move it (DNS rebinding). Behind an HTTP(S) proxy
  the proxy resolves names itself: the host allow-list still applies, the address check is
  then only as good as the proxy's own resolution.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from adapters.teams import sentences
from bot.downloads import DownloadSentences, save_response
from bot.errors import TransientJobError
from summarizer.errors import MediaError

# Microsoft 365 file hosts (commercial and GCC, dogfood, GCC High, DoD, 21Vianet) and
# consumer OneDrive. Teams' `downloadUrl` is a pre-authorised link on one of them.
MICROSOFT_FILE_HOSTS = (
    "sharepoint.com",
    "sharepoint-df.com",
    "sharepoint.us",
    "sharepoint-mil.us",
    "sharepoint.cn",
    "1drv.com",
    "onedrive.live.com",
)
MAX_REDIRECTS = 5
GRAPH_REF = "teams-graph:"  # a Graph resource the bot found itself (never from an activity)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
DOWNLOAD_SENTENCES = DownloadSentences(
    refused=sentences.DOWNLOAD_REFUSED,
    not_media=sentences.DOWNLOAD_NOT_MEDIA,
    too_large=sentences.DOWNLOAD_TOO_LARGE,
)


class DownloadRefusedError(MediaError):
    """A link the bot will not fetch. Its message says so, never what a server answered."""

    def __init__(self) -> None:
        super().__init__(sentences.DOWNLOAD_BLOCKED)


def is_public(address: str) -> bool:
    """An address on the public internet (IPv4-mapped IPv6 judged as its IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):  # IPv4 carried in IPv6 is judged as IPv4
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        ip = embedded or ip
    return ip.is_global and not (
        ip.is_multicast or ip.is_private or ip.is_reserved or ip.is_link_local
    )


def _host(url: httpx.URL) -> str:
    """The host as DNS sees it (IDNA-encoded ASCII), lower case, without a final dot."""
    return url.raw_host.decode("ascii").lower().rstrip(".")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, _host(url), url.port or _DEFAULT_PORTS.get(url.scheme)


def matches(host: str, names: tuple[str, ...]) -> bool:
    """`host` is one of `names` or a proper subdomain of one."""
    return any(host == name or host.endswith("." + name) for name in names)


def parse(url: str | httpx.URL) -> httpx.URL | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host or parsed.userinfo:
        return None
    return parsed


def under(url: str | httpx.URL, base: str) -> bool:
    """`url` is on `base`'s origin and under its path (a prefix that ends in `/`)."""
    parsed, root = parse(url), parse(base)
    if parsed is None or root is None or _origin(parsed) != _origin(root):
        return False
    prefix = root.path if root.path.endswith("/") else root.path + "/"
    return parsed.path.startswith(prefix)


@dataclass(frozen=True)
class Hop:
    url: httpx.URL
    token: bool  # send the bot's token
    private_ok: bool  # may resolve to a non-public address (the service URL's origin)


@dataclass(frozen=True)
class DownloadPolicy:
    service_url: str  # the conversation's (stored) service URL; empty if unknown
    connector_hosts: tuple[str, ...]
    file_hosts: tuple[str, ...]
    trust_env: bool = True  # proxies from the environment

    def check(self, url: str | httpx.URL) -> Hop:
        parsed = parse(url)
        if parsed is None:
            raise DownloadRefusedError()
        service = parse(self.service_url) if self.service_url else None
        if service is not None and _origin(parsed) == _origin(service):
            return Hop(parsed, token=under(parsed, self.service_url), private_ok=True)
        if parsed.scheme != "https":
            raise DownloadRefusedError()
        host = _host(parsed)
        if matches(host, self.connector_hosts):
            return Hop(parsed, token=True, private_ok=False)
        if matches(host, self.file_hosts):
            return Hop(parsed, token=False, private_ok=False)
        raise DownloadRefusedError()

    def proxied(self, url: httpx.URL) -> bool:
        if not self.trust_env:
            return False
        proxies = urllib.request.getproxies()
        if not (proxies.get(url.scheme) or proxies.get("all")):
            return False
        return not urllib.request.proxy_bypass(_host(url))


async def checked_addresses(hop: Hop) -> list[str]:
    """The addresses to connect to, in order: every address of the host must be allowed."""
    port = hop.url.port or _DEFAULT_PORTS[hop.url.scheme]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(_host(hop.url), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:  # DNS trouble: retried by the job
        raise TransientJobError(f"file download: cannot resolve {_host(hop.url)}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or (not hop.private_ok and not all(map(is_public, addresses))):
        raise DownloadRefusedError()
    return list(dict.fromkeys(a.split("%", 1)[0] for a in addresses))


async def _send(
    http: httpx.AsyncClient, hop: Hop, addresses: list[str | None], headers: dict[str, str]
) -> httpx.Response:
    """The response from the first address that connects (what happy eyeballs would do
    for a host name, over the checked addresses)."""
    for number, address in enumerate(addresses, 1):
        try:
            return await http.send(_request(http, hop, address, headers), stream=True)
        except httpx.ConnectError:
            if number == len(addresses):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _request(
    http: httpx.AsyncClient, hop: Hop, address: str | None, headers: dict[str, str]
) -> httpx.Request:
    if address is None:  # through a proxy, which resolves the name
        return http.build_request("GET", hop.url, headers=headers)
    headers = {"Host": hop.url.netloc.decode("ascii"), **headers}
    extensions = {"sni_hostname": _host(hop.url)} if hop.url.scheme == "https" else None
    return http.build_request(
        "GET", hop.url.copy_with(host=address), headers=headers, extensions=extensions
    )


async def download(
    http: httpx.AsyncClient,
    policy: DownloadPolicy,
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    bot_token: Callable[[], Awaitable[str | None]],
) -> Path:
    """Fetch `url` into `dest` under `policy`; redirects are checked hop by hop."""
    current: str | httpx.URL = url
    for _ in range(MAX_REDIRECTS + 1):
        hop = policy.check(current)
        addresses: list[str | None] = (
            [None] if policy.proxied(hop.url) else list(await checked_addresses(hop))
        )
        headers = {}
        if hop.token and (token := await bot_token()):
            headers["Authorization"] = f"Bearer {token}"
        response = await _send(http, hop, addresses, headers)
        try:
            if response.is_redirect and "location" in response.headers:
                current = hop.url.join(response.headers["location"])
                continue
            return await save_response(
                response, dest, max_bytes=max_bytes, sentences=DOWNLOAD_SENTENCES
            )
        finally:
            await response.aclose()
    raise DownloadRefusedError()  # too many redirects
