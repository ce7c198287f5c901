"""`/admin`: a status page for operators — queue, recent failures, installations,
digest subscriptions. Off unless ADMIN_TOKEN is set; HTTP Basic auth (any user name, the
token as password) so a browser can open it."""

from __future__ import annotations

import asyncio
import base64
import hmac
from html import escape
from typing import Any

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.storage.status import StatusQueries

_STYLE = """body{font:14px system-ui,sans-serif;margin:2rem;color:#1d1f2b}
table{border-collapse:collapse;margin:.5rem 0 2rem}td,th{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f7}h1{font-size:1.4rem}"""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _snapshot(engine: Engine) -> dict[str, Any]:
    queries = StatusQueries(engine)
    return {
        "counts": [list(row) for row in queries.job_counts()],
        "failures": [
            [j.id, j.kind, j.attempts, j.error, j.updated_at.isoformat()]
            for j in queries.recent_failures(20)
        ],
        "workspaces": [
            [w.platform, w.external_id, w.name, "yes" if w.bot_token else "no", w.installed_at]
            for w in queries.workspaces()
        ],
        "subscriptions": [
            [s.platform, c.external_id, s.cadence, f"{s.hour:02d}:{s.minute:02d}", s.timezone]
            for s, c in queries.active_subscriptions()
        ],
    }


def admin_routes(engine: Engine, token: str | None) -> list[Route]:
    async def page(request: Request) -> Response:
        if not token:
            return PlainTextResponse("Not found", status_code=404)
        if not _authorized(request.headers.get("authorization", ""), token):
            return PlainTextResponse(
                "Authentication required",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="balafon admin"'},
            )
        data = await asyncio.to_thread(_snapshot, engine)
        html = (
            f"<!doctype html><title>balafon admin</title><style>{_STYLE}</style>"
            "<h1>balafon — status</h1><h2>Jobs</h2>"
            + _table(["kind", "status", "count"], data["counts"])
            + "<h2>Recent failures</h2>"
            + _table(["job", "kind", "attempts", "error", "at"], data["failures"])
            + "<h2>Installations</h2>"
            + _table(["platform", "id", "name", "token stored", "installed"], data["workspaces"])
            + "<h2>Digest subscriptions</h2>"
            + _table(["platform", "channel", "cadence", "time", "zone"], data["subscriptions"])
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    return [Route("/admin", page)]


def _authorized(header: str, token: str) -> bool:
    """Bearer or Basic (any user, the token as password), compared as bytes: a header
    arrives decoded as latin-1, so any bytes in it (non-ASCII, bad base64) mean 401."""
    expected = token.encode("utf-8")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return hmac.compare_digest(value.strip().encode("latin-1"), expected)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip().encode("latin-1"), validate=True)
        except ValueError:  # binascii.Error: not base64
            return False
        _, colon, password = decoded.partition(b":")
        return bool(colon) and hmac.compare_digest(password, expected)
    return False
