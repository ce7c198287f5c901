"""Who may use the browser-facing endpoints: a secret, never the peer address.

Being "on this machine" proves nothing: a reverse proxy on the same host relays the whole
internet from 127.0.0.1. So, as Jupyter does, `balafon serve` makes an access token at
start (or takes ACCESS_TOKEN) and prints `http://127.0.0.1:8000/?token=…`. Opening that
URL sets a cookie for the playground (`login`); the API takes the token, or API_TOKEN, as
`Authorization: Bearer`.

A browser attaches cookies to requests that other sites make it send (CSRF), so
`CrossSiteGuard` refuses every state-changing request that a browser marks as coming from
another site, whatever credential it carries. Signed server-to-server webhooks (Slack,
Teams) are exempt: no browser sends them, and their own signatures protect them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Mapping
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "balafon_access"
TOKEN_PARAMETER = "token"
COOKIE_MAX_AGE = 30 * 24 * 3600  # the token itself changes at each start unless configured
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# "same-site" too: another port of 127.0.0.1 (any local dev server) is the same site.
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
CROSS_SITE_REFUSED = (
    "Requests from other web sites are refused: use the playground page itself, "
    "or call the API without a browser."
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def new_token() -> str:
    """A fresh access token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def matches(given: str | None, expected: str | None) -> bool:
    """`given` is `expected`, compared in constant time; nothing matches a missing secret."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer …` header, if there is one."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def cookie_value(token: str) -> str:
    """What the cookie holds: derived from the token, so that a cookie copied out of a
    browser is not the token itself (it opens the playground, not the API)."""
    return hmac.new(token.encode(), b"balafon playground cookie", hashlib.sha256).hexdigest()


def has_cookie(request: Request, token: str) -> bool:
    return matches(request.cookies.get(COOKIE), cookie_value(token))


def login(request: Request, token: str) -> RedirectResponse | None:
    """For a visit with the right `?token=`: a redirect to the same URL without it (so it
    stays out of the history and of referrers) that sets the cookie. None otherwise."""
    if not matches(request.query_params.get(TOKEN_PARAMETER), token):
        return None
    rest = [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_PARAMETER]
    target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        COOKIE,
        cookie_value(token),
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


# --- cross-site requests ----------------------------------------------------------------


def _authority(url: str) -> tuple[str, int | None] | None:
    """(host, port) of a URL; the port is None when the URL names none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname else None


def _same_authority(origin: str, hosts: Collection[str]) -> bool:
    seen = _authority(origin)
    if seen is None:  # "null" (sandboxed frames, file:) or garbage
        return False
    name, port = seen
    port = port or _DEFAULT_PORTS.get(urlsplit(origin).scheme)
    for host in hosts:
        mine = _authority(f"//{host.strip()}")
        if mine is None or mine[0] != name:
            continue
        # A Host without a port is on the scheme's default one; behind a TLS-terminating
        # proxy the request's own scheme may be http while the browser's is https.
        if mine[1] == port or (mine[1] is None and port in _DEFAULT_PORTS.values()):
            return True
    return False


def cross_site(headers: Mapping[str, str]) -> bool:
    """A request a browser sent on behalf of another site.

    `Sec-Fetch-Site` (set by the browser, no page can forge it) says so directly; an
    `Origin` that is not this server's says so for browsers without it. The server's
    origin is the Host header, or the X-Forwarded-Host of a proxy (a page cannot add
    that header to a cross-site request without a CORS preflight, which is never granted).
    Requests with neither header come from programs, not from browsers.
    """
    if headers.get("sec-fetch-site", "").strip().lower() in FOREIGN_FETCH_SITES:
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    hosts = [headers.get("host", "")]
    if forwarded := headers.get("x-forwarded-host"):
        hosts.append(forwarded.split(",")[0])
    return not _same_authority(origin.strip().lower(), [h.lower() for h in hosts])


class CrossSiteGuard:
    """ASGI middleware: 403 for every state-changing request (POST, PUT, PATCH, DELETE) a
    browser sent from another site, before anything reads its body; `exempt` paths (signed
    webhooks) are let through as they are."""

    def __init__(self, app: ASGIApp, *, exempt: Collection[str] = ()) -> None:
        self.app = app
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in UNSAFE_METHODS
            and scope["path"] not in self.exempt
            and cross_site(Headers(scope=scope))
        ):
            refused = JSONResponse(
                {"error": "forbidden", "message": CROSS_SITE_REFUSED}, status_code=403
            )
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)
